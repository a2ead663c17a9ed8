/**
 * Which features of issue 9 this checkout has, found the way a user would:
 * the flags `agora master --help` and `agora agent --help` list. A phase
 * that needs a missing one prints a row saying which flag it needs, so the
 * rows fill in by themselves once the feature lands.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./master-process.ts";

/** The flags of one `agora <command> --help` (empty when the command is missing). */
export interface CommandFlags {
  readonly command: string;
  readonly flags: ReadonlySet<string>;
  has(flag: string): boolean;
}

const cache = new Map<string, Promise<CommandFlags>>();

/** `agora <command> --help`, parsed into its `--flag` names (memoized per command). */
export function commandFlags(command: "master" | "agent", root = REPO_ROOT): Promise<CommandFlags> {
  const key = `${root}\u0000${command}`;
  let found = cache.get(key);
  if (found === undefined) {
    found = probe(command, root);
    cache.set(key, found);
  }
  return found;
}

async function probe(command: string, root: string): Promise<CommandFlags> {
  const bin = path.join(root, "bin", "agora.js");
  let help = "";
  if (existsSync(bin)) {
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [bin, command, "--help"], {
        cwd: root,
        timeout: 30_000,
      });
      help = stdout;
    } catch {
      help = "";
    }
  }
  const flags = new Set(help.match(/--[a-z][a-z0-9-]*/g) ?? []);
  return { command, flags, has: (flag) => flags.has(flag) };
}

/** The master's high availability (ha branch): a leader lease, so a standby can take over. */
export const LEADER_LEASE_FLAG = "--leader-lease";
/** The master's registry choice (ha branch): `--registry kv|memory`. */
export const REGISTRY_FLAG = "--registry";
/** Agent recovery (agent branch): `--recover reconnect|cleanup`. */
export const RECOVER_FLAG = "--recover";

/** The row of a figure that needs a flag this checkout lacks. */
export function needsFlag(what: string, command: string, flag: string) {
  return {
    name: `${what}: needs \`agora ${command} ${flag}\` (not in \`agora ${command} --help\`)`,
    value: undefined,
    unit: "",
  };
}

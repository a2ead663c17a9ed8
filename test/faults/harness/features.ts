/**
 * Which fault-tolerance features this checkout has, found at run time by
 * probing the real `agora` executable (its `--help` output) and the driver's
 * sources, never hard-coded: a case whose feature is missing skips with the
 * probe's reason, and runs by itself once the feature is merged.
 */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { AGORA_BIN } from "./processes.ts";

const execFileAsync = promisify(execFile);

/** What the probes found. */
export interface Features {
  /** `agora master --leader-lease`: leader election, standbys, fencing. */
  leaderLease: boolean;
  /** `agora master --registry-replicas`: the registry in replicated KV. */
  registryReplicas: boolean;
  /** `agora master --agent-reregister-timeout`: a new leader waits for agents. */
  agentReregisterTimeout: boolean;
  /** `agora agent --recover`: agent recovery, executors reattached. */
  agentRecover: boolean;
  /** `agora agent --executor-reregistration-timeout`. */
  executorReregistrationTimeout: boolean;
  /** The scheduler driver follows a new leader (`event.resubscribe` / NOT_SUBSCRIBED). */
  driverFollowsLeader: boolean;
  /**
   * The probes themselves work: both `--help` outputs list flags every version has
   * (`--agent-ping-timeout`, `--work-dir`). False means the probes cannot be trusted.
   */
  probesWork: boolean;
}

/** A feature a case needs, with the probe that decides it. */
export interface Requirement {
  feature: keyof Features;
  /** What is missing, as the skip reason says it. */
  missing: string;
}

export const NEEDS = {
  masterHa: {
    feature: "leaderLease",
    missing: "`agora master --help` lacks --leader-lease (master HA, branch ha)",
  },
  registryReplicas: {
    feature: "registryReplicas",
    missing: "`agora master --help` lacks --registry-replicas (registry in KV, branch ha)",
  },
  agentRecovery: {
    feature: "agentRecover",
    missing: "`agora agent --help` lacks --recover (agent recovery, branch agent)",
  },
  driverFollowsLeader: {
    feature: "driverFollowsLeader",
    missing:
      "actors/scheduler/ never handles event.resubscribe nor NOT_SUBSCRIBED (driver follows the leader, branch driver)",
  },
} as const satisfies Record<string, Requirement>;

async function helpOf(command: string): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [AGORA_BIN, command, "--help"], {
    timeout: 30_000,
  });
  return stdout;
}

const SCHEDULER_DIR = fileURLToPath(new URL("../../../actors/scheduler/", import.meta.url));

/** True when some source of the scheduler driver handles `event.resubscribe` or NOT_SUBSCRIBED. */
async function driverHandlesResubscribe(): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(SCHEDULER_DIR);
  } catch {
    return false;
  }
  for (const name of names) {
    if (!name.endsWith(".ts")) continue;
    const text = await readFile(`${SCHEDULER_DIR}${name}`, "utf8");
    if (/"event\.resubscribe"|ErrorCode\.NotSubscribed/.test(text)) return true;
  }
  return false;
}

let probed: Promise<Features> | undefined;

/** Probes once per process. */
export function features(): Promise<Features> {
  probed ??= (async () => {
    const [master, agent, driver] = await Promise.all([
      helpOf("master"),
      helpOf("agent"),
      driverHandlesResubscribe(),
    ]);
    return {
      leaderLease: master.includes("--leader-lease"),
      registryReplicas: master.includes("--registry-replicas"),
      agentReregisterTimeout: master.includes("--agent-reregister-timeout"),
      agentRecover: agent.includes("--recover"),
      executorReregistrationTimeout: agent.includes("--executor-reregistration-timeout"),
      driverFollowsLeader: driver,
      probesWork: master.includes("--agent-ping-timeout") && agent.includes("--work-dir"),
    };
  })();
  return probed;
}

/** The reasons a case cannot run with `found`, one per missing feature (empty when it can). */
export function missing(found: Features, ...needs: Requirement[]): string[] {
  return needs.filter((n) => !found[n.feature]).map((n) => n.missing);
}

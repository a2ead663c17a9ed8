/**
 * `--isolation=cgroups|none|auto`: which cgroup version this host offers the
 * agent, found from the mount table and by preparing the agent's cgroup root
 * (the only proof that a hierarchy is usable is a cgroup made in it). v2 is
 * preferred where both work. The result carries one line for the operator.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { DEFAULT_CGROUPS_HIERARCHY } from "../../../infra/defaults.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { type CgroupFs, kernelCgroupFs, mkdirBelow } from "./cgroup-fs.ts";
import type { IsolationKind, IsolationMode } from "./types.ts";

/** The v1 controllers a container uses; each must be mounted and writable. */
export const V1_CONTROLLERS = ["cpu", "cpuacct", "memory", "pids", "freezer"] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];
/** The v2 controllers a container uses; each must be in `cgroup.controllers`. */
const V2_CONTROLLERS = ["cpu", "memory", "pids"] as const;

/** Options of {@link detectIsolation}. */
export interface DetectOptions {
  /** `--isolation` (default `auto`). */
  mode?: IsolationMode;
  /** Where the hierarchies are mounted (`--cgroups-hierarchy`, default `/sys/fs/cgroup`). */
  hierarchy?: string;
  /** The agent's cgroup root inside each hierarchy, e.g. `agora/<agentId>`. */
  root: string;
  /** The mount table's text (default: `/proc/self/mounts`). */
  mounts?: string;
  /** File operations (default: the kernel's). */
  fs?: CgroupFs;
}

/** What {@link detectIsolation} found. */
export interface Detection {
  kind: IsolationKind;
  /** One line for the operator. */
  reason: string;
  /** The agent's cgroup root (relative), as given. */
  root: string;
  /** v1: the mount point of each controller's hierarchy. */
  v1?: Record<V1Controller, string>;
  /** v2: the mount point of the unified hierarchy. */
  v2?: string;
}

interface Mount {
  dir: string;
  type: string;
  options: string[];
}

/** Mount entries of `/proc/self/mounts` text (octal escapes such as `\040` decoded). */
export function parseMounts(text: string): Mount[] {
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  const out: Mount[] = [];
  for (const line of text.split("\n")) {
    const [, dir, type, options] = line.trim().split(/\s+/);
    if (dir === undefined || type === undefined || options === undefined) continue;
    out.push({ dir: decode(dir), type, options: options.split(",") });
  }
  return out;
}

const below = (dir: string, base: string) => dir === base || dir.startsWith(`${base}/`);

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (e instanceof Error ? e.message : String(err));
}

/** The controllers listed in a `cgroup.controllers` / `cgroup.subtree_control` file. */
function controllerSet(text: string | undefined): Set<string> {
  return new Set((text ?? "").split(/\s+/).filter((c) => c !== ""));
}

/**
 * Creates each level from the mount down to `dir` and enables the v2
 * controllers in its `cgroup.subtree_control`, so that `dir`'s children get
 * the controllers' files. None of these levels may hold processes itself
 * (v2's no-internal-process rule): processes go into leaves.
 */
export async function enableV2Controllers(fs: CgroupFs, mount: string, dir: string): Promise<void> {
  const rel = path.relative(mount, dir);
  const levels = [mount];
  let at = mount;
  for (const part of rel.split(path.sep).filter((p) => p !== "")) {
    at = path.join(at, part);
    levels.push(at);
  }
  for (const level of levels) {
    await fs.mkdir(level);
    const file = path.join(level, "cgroup.subtree_control");
    const enabled = controllerSet(await fs.read(file));
    const missing = V2_CONTROLLERS.filter((c) => !enabled.has(c));
    if (missing.length > 0) await fs.write(file, missing.map((c) => `+${c}`).join(" "));
  }
}

async function tryV2(
  fs: CgroupFs,
  mounts: Mount[],
  hierarchy: string,
  root: string,
): Promise<{ mount?: string; why: string }> {
  const candidates = mounts.filter((m) => m.type === "cgroup2" && below(m.dir, hierarchy));
  if (candidates.length === 0) return { why: `no cgroup v2 mounted under ${hierarchy}` };
  const whys: string[] = [];
  for (const { dir } of candidates) {
    const available = controllerSet(await fs.read(path.join(dir, "cgroup.controllers")));
    const missing = V2_CONTROLLERS.filter((c) => !available.has(c));
    if (missing.length > 0) {
      whys.push(`cgroup v2 at ${dir} lacks ${missing.join(", ")}`);
      continue;
    }
    try {
      await enableV2Controllers(fs, dir, path.join(dir, root));
      return { mount: dir, why: "" };
    } catch (err) {
      whys.push(
        `cgroup v2 at ${dir}: cannot enable ${V2_CONTROLLERS.join(", ")} (${errText(err)})`,
      );
    }
  }
  return { why: whys.join("; ") };
}

async function tryV1(
  fs: CgroupFs,
  mounts: Mount[],
  hierarchy: string,
  root: string,
): Promise<{ dirs?: Record<V1Controller, string>; why: string }> {
  const found: Partial<Record<V1Controller, string>> = {};
  for (const c of V1_CONTROLLERS) {
    const m = mounts.find(
      (m) => m.type === "cgroup" && below(m.dir, hierarchy) && m.options.includes(c),
    );
    if (m !== undefined) found[c] = m.dir;
  }
  const missing = V1_CONTROLLERS.filter((c) => found[c] === undefined);
  if (missing.length > 0) return { why: `cgroup v1 lacks ${missing.join(", ")}` };
  const dirs = found as Record<V1Controller, string>;
  for (const dir of new Set(Object.values(dirs))) {
    try {
      await mkdirBelow(fs, dir, path.join(dir, root));
    } catch (err) {
      return { why: `cgroup v1 at ${dir} is not writable (${errText(err)})` };
    }
  }
  return { dirs, why: "" };
}

/**
 * Decides the isolation and prepares the agent's cgroup root. `cgroups` on a
 * host where neither version is usable throws INVALID_CONFIG (as Mesos fails
 * to create its isolator); `auto` falls back to `none` with the reason.
 */
export async function detectIsolation(options: DetectOptions): Promise<Detection> {
  const mode = options.mode ?? "auto";
  const root = options.root;
  if (root === "" || root.startsWith("/") || root.split("/").includes("..")) {
    throw new AgoraError(
      ErrorCode.InvalidConfig,
      `cgroup root ${JSON.stringify(root)} must be a relative path`,
    );
  }
  if (mode === "none") return { kind: "none", root, reason: "isolation: none (--isolation=none)" };
  const fs = options.fs ?? kernelCgroupFs;
  const hierarchy = options.hierarchy ?? DEFAULT_CGROUPS_HIERARCHY;
  let mounts: Mount[];
  try {
    mounts = parseMounts(options.mounts ?? (await readFile("/proc/self/mounts", "utf8")));
  } catch (err) {
    mounts = [];
    if (mode === "cgroups") {
      throw new AgoraError(
        ErrorCode.InvalidConfig,
        `--isolation=cgroups: no mount table (${errText(err)})`,
      );
    }
  }
  const v2 = await tryV2(fs, mounts, hierarchy, root);
  if (v2.mount !== undefined) {
    return {
      kind: "cgroups-v2",
      root,
      v2: v2.mount,
      reason: `isolation: cgroups v2 at ${v2.mount} (${V2_CONTROLLERS.join(", ")}), containers under ${root}`,
    };
  }
  const v1 = await tryV1(fs, mounts, hierarchy, root);
  if (v1.dirs !== undefined) {
    return {
      kind: "cgroups-v1",
      root,
      v1: v1.dirs,
      reason: `isolation: cgroups v1 under ${hierarchy} (${V1_CONTROLLERS.join(", ")}), containers under ${root}; ${v2.why}`,
    };
  }
  const why = `${v2.why}; ${v1.why}`;
  if (mode === "cgroups") {
    throw new AgoraError(ErrorCode.InvalidConfig, `--isolation=cgroups: no usable cgroups: ${why}`);
  }
  return { kind: "none", root, reason: `isolation: none, tasks run unisolated (${why})` };
}

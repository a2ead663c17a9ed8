/**
 * Isolation of the agent's containers (Mesos's `cgroups/cpu`, `cgroups/mem`,
 * `cgroups/pids` and `posix/disk` isolators), written against the kernel's
 * cgroup files. One container per executor; a task of a task group gets a
 * nested cgroup inside its executor's.
 *
 * Files
 * - `types.ts`: the {@link Isolator} / {@link Container} interface the agent
 *   codes against, limits, statistics, OOM status, limitations.
 * - `detect.ts`: `--isolation=cgroups|none|auto` → v2, v1 or none, with a
 *   one-line reason; prepares the agent's cgroup root.
 * - `cgroup-v1.ts`, `cgroup-v2.ts`: the two cgroup isolators.
 * - `none.ts`: the isolator that isolates nothing (same calls, no effects).
 * - `limits.ts`: resources → interface-file values (pure).
 * - `launch.ts`: the argv that puts a process in its cgroups before it can fork.
 * - `disk.ts`: sandbox usage walk, the `disk` quota check and its watcher.
 * - `cgroup-fs.ts`: file operations (kernel, or a fake in tests) and shared tree helpers.
 *
 * Layout: `<hierarchy>/<root>/<containerId>[/<taskId>]` where root is
 * `--cgroups-root`/`<agentId>`; on v1 in each controller's hierarchy, on v2
 * once, with processes in a `leaf` child (v2 has no processes in inner cgroups).
 *
 * | what                  | cgroup v1                                    | cgroup v2                                 |
 * |-----------------------|----------------------------------------------|-------------------------------------------|
 * | cpu share             | `cpu.shares` = cpus × 1024 (≥ 2)             | `cpu.weight` = 1 + ⌊(shares − 2) × 9999 / 262142⌋|
 * | hard cpu (CFS)        | `cpu.cfs_period_us` 100000, `cpu.cfs_quota_us` | `cpu.max` "quota 100000"               |
 * | memory limit          | `memory.limit_in_bytes` (≥ 32 MB)            | `memory.max` (≥ 32 MB)                    |
 * | memory throttle       | `memory.soft_limit_in_bytes` (= limit, or high) | `memory.high` where asked              |
 * | processes             | `pids.max`                                   | `pids.max`                                |
 * | OOM kill              | `memory.oom_control` `oom_kill` (tree sum), `memory.failcnt` | `memory.events` `oom_kill`, `max` |
 * | cpu time              | `cpuacct.stat` user/system (USER_HZ)         | `cpu.stat` user_usec/system_usec          |
 * | throttling            | `cpu.stat` nr_periods/nr_throttled/throttled_time (ns) | `cpu.stat` …/throttled_usec     |
 * | memory use / peak     | `memory.usage_in_bytes` / `max_usage_in_bytes` | `memory.current` / `memory.peak`        |
 * | processes now         | `pids.current`                               | `pids.current`                            |
 * | join (race-free)      | `echo $$ > cgroup.procs` in every hierarchy, then exec | same, into `<container>/leaf`   |
 * | kill a tree           | `freezer.state` FROZEN, SIGKILL all, THAWED  | `cgroup.kill`; else `cgroup.freeze` + SIGKILL |
 * | remove                | rmdir leaves first, in every hierarchy       | rmdir leaves first                        |
 *
 * Wiring (the agent): at start `createIsolator({mode, root: <cgroups-root>/<agentId>})`
 * and log `reason` once; per executor `prepare(containerIdFor(fw, ex), limitsFromResources(...))`
 * then spawn `container.wrap([file, ...args])` (exit 125 = could not join: launch failed);
 * when it exits, `oom()` → `limitation` gives TASK_FAILED's reason and message; then
 * `destroy()`. On recovery, `recover()` and destroy the containers no checkpointed
 * executor owns. Destroy containers before closing NATS (the clock's timers are unref'd).
 */
import type { Clock } from "../../../infra/clock.ts";
import type { CgroupFs } from "./cgroup-fs.ts";
import { CgroupsV1Isolator } from "./cgroup-v1.ts";
import { CgroupsV2Isolator } from "./cgroup-v2.ts";
import { type Detection, type DetectOptions, detectIsolation } from "./detect.ts";
import { NoneIsolator } from "./none.ts";
import type { Isolator } from "./types.ts";

/** Options of {@link createIsolator}: detection plus the isolators' own. */
export interface IsolatorOptions extends DetectOptions {
  clock?: Clock;
  /** How long killing a container may take. */
  killTimeoutMs?: number;
}

/** The isolator for a detection (e.g. one made by {@link detectIsolation}). */
export function isolatorFor(
  detection: Detection,
  options: { fs?: CgroupFs; clock?: Clock; killTimeoutMs?: number } = {},
): Isolator {
  const own = {
    ...(options.fs === undefined ? {} : { fs: options.fs }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.killTimeoutMs === undefined ? {} : { killTimeoutMs: options.killTimeoutMs }),
  };
  if (detection.kind === "cgroups-v2" && detection.v2 !== undefined) {
    return new CgroupsV2Isolator(detection.v2, detection.root, detection.reason, own);
  }
  if (detection.kind === "cgroups-v1" && detection.v1 !== undefined) {
    return new CgroupsV1Isolator(detection.v1, detection.root, detection.reason, own);
  }
  return new NoneIsolator(detection.reason, options.clock);
}

/** Detects the host's cgroups per `--isolation` and returns the isolator to use. */
export async function createIsolator(options: IsolatorOptions): Promise<Isolator> {
  return isolatorFor(await detectIsolation(options), options);
}

export type { CgroupFs } from "./cgroup-fs.ts";
export { containerIdFor } from "./cgroup-fs.ts";
export type { Detection, DetectOptions } from "./detect.ts";
export { detectIsolation } from "./detect.ts";
export { watchSandboxDisk } from "./disk.ts";
export { limitsFromResources } from "./limits.ts";
export type {
  Container,
  ContainerStats,
  IsolationKind,
  IsolationMode,
  Isolator,
  Limitation,
  OomStatus,
} from "./types.ts";

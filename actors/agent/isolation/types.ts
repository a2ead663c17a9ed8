/**
 * The isolation interface the agent codes against: an {@link Isolator} makes a
 * {@link Container} per executor; the same calls work with cgroup v1, cgroup v2
 * or no isolation at all ("none"), so the agent never branches on the kind.
 */
import type { TaskReason } from "../../../protocol/common.ts";

/** Which isolation an agent runs with. */
export type IsolationKind = "cgroups-v1" | "cgroups-v2" | "none";

/** The `--isolation` flag: `auto` picks cgroups where usable, else none. */
export type IsolationMode = "cgroups" | "none" | "auto";

/** Limits of one container (or nested task cgroup); an absent field is not limited. */
export interface ContainerLimits {
  /** Cpus for the proportional share: v1 `cpu.shares` = cpus × 1024, v2 `cpu.weight` mapped from it. */
  cpus?: number;
  /** Hard cpu limit in cpus (CFS bandwidth; set when `--cgroups-enable-cfs`). */
  cpusQuota?: number;
  /** Hard memory limit in bytes: v1 `memory.limit_in_bytes`, v2 `memory.max`. */
  memBytes?: number;
  /** Memory throttling threshold in bytes: v2 `memory.high`, v1 `memory.soft_limit_in_bytes`. */
  memHighBytes?: number;
  /** Most processes and threads: `pids.max`. */
  maxPids?: number;
}

/**
 * Resource statistics of a container, hierarchical (nested task cgroups
 * included). Names follow Mesos's `ResourceStatistics`; a field is absent
 * where the host does not expose it.
 */
export interface ContainerStats {
  /** Milliseconds since the epoch when the statistics were read. */
  timestamp: number;
  cpusUserTimeSecs?: number;
  cpusSystemTimeSecs?: number;
  /** The hard cpu limit (quota ÷ period), when one is set. */
  cpusLimit?: number;
  cpusNrPeriods?: number;
  cpusNrThrottled?: number;
  cpusThrottledTimeSecs?: number;
  /** Memory in use now (v1 `memory.usage_in_bytes`, v2 `memory.current`). */
  memTotalBytes?: number;
  /** Highest memory use seen (v1 `memory.max_usage_in_bytes`, v2 `memory.peak`). */
  memPeakBytes?: number;
  memLimitBytes?: number;
  /** Processes and threads in the container (`pids.current`). */
  processes?: number;
  /** Highest `pids.current` seen (`pids.peak`, Linux 6.1+ on v2 and newer v1). */
  processesPeak?: number;
  /** `pids.max`, when set. */
  processesLimit?: number;
}

/** Why a container must end: its task ends `TASK_FAILED` with this reason and message. */
export interface Limitation {
  resource: "mem" | "disk";
  /** Mesos's reason: `REASON_CONTAINER_LIMITATION_MEMORY` or `REASON_CONTAINER_LIMITATION_DISK`. */
  reason: TaskReason | "REASON_CONTAINER_LIMITATION_DISK";
  /** One line for the user naming the limit, e.g. "Memory limit exceeded: ... 64 MB ...". */
  message: string;
}

/** What the kernel says about out-of-memory kills in a container. */
export interface OomStatus {
  /** True once the kernel's OOM killer killed a process of the container. */
  killed: boolean;
  /** OOM kills counted (v1 `memory.oom_control` `oom_kill`, v2 `memory.events` `oom_kill`). */
  oomKills: number;
  /** Times the limit was hit (v1 `memory.failcnt`, v2 `memory.events` `max`). */
  limitHits: number;
  /** The memory limit in bytes, when one is set. */
  limitBytes?: number;
  /** Present when `killed`: what to report. */
  limitation?: Limitation;
}

/** One container: an executor's cgroup(s), or a task's nested cgroup inside one. */
export interface Container {
  /** The container id (for a nested one, its own id; the path holds the parent's). */
  readonly id: string;
  /** Ids from the top container down to this one. */
  readonly path: readonly string[];
  /**
   * The argv to spawn so that the process is inside the container before it
   * can fork: `[file, ...args]`. The argv itself where there is no isolation.
   */
  wrap(argv: readonly string[]): string[];
  /** The `cgroup.procs` files a process writes its pid to to join the container ([] without isolation). */
  procsFiles(): string[];
  /** A nested cgroup for one task of a task group (created when missing). */
  child(id: string, limits?: ContainerLimits): Promise<Container>;
  /** The nested containers that exist now. */
  children(): Promise<Container[]>;
  /** Pids in the container, nested ones included. */
  pids(): Promise<number[]>;
  stats(): Promise<ContainerStats>;
  oom(): Promise<OomStatus>;
  /** Kills every process in the container and its nested ones, and waits until none is left. */
  killAll(): Promise<void>;
  /** Kills what is left, then removes the container's cgroups (leaves first). */
  destroy(): Promise<void>;
}

/** Makes and finds containers; one per agent, rooted at its own cgroup root. */
export interface Isolator {
  readonly kind: IsolationKind;
  /** One line for the operator: what is used and why (printed once at start). */
  readonly reason: string;
  /** Creates (or reuses) the container's cgroups and writes its limits. */
  prepare(containerId: string, limits: ContainerLimits): Promise<Container>;
  /** The containers that exist under the root, e.g. after an agent restart. */
  recover(): Promise<Container[]>;
  /** Destroys every container and removes the agent's cgroup root (`--recover=cleanup`, tests). */
  removeRoot(): Promise<void>;
}

/**
 * From a container's resources to the values written into cgroup interface
 * files, for v1 and v2. Pure: no file is touched here.
 */
import {
  CPU_CFS_PERIOD_US,
  CPU_SHARES_PER_CPU,
  MIN_CONTAINER_MEMORY_BYTES,
  MIN_CPU_CFS_QUOTA_US,
  MIN_CPU_SHARES,
} from "../../../infra/defaults.ts";
import type { ContainerLimits, Limitation } from "./types.ts";

/** The agent flags that shape limits (`--cgroups-enable-cfs`, `--cgroups-max-pids`). */
export interface LimitOptions {
  /** Hard CFS cpu limit equal to the cpus (Mesos `--cgroups_enable_cfs`). */
  enableCfs?: boolean;
  /** `pids.max` of every container (`--cgroups-max-pids`). */
  maxPids?: number;
  /** `memory.high` as a fraction of mem (e.g. 0.9), where asked. */
  memHighFraction?: number;
}

/** The limits of a container holding `resources` (mem in MB, as in agora's resource sets). */
export function limitsFromResources(
  resources: { cpus?: number; mem?: number },
  options: LimitOptions = {},
): ContainerLimits {
  const limits: ContainerLimits = {};
  if (resources.cpus !== undefined && resources.cpus > 0) {
    limits.cpus = resources.cpus;
    if (options.enableCfs) limits.cpusQuota = resources.cpus;
  }
  if (resources.mem !== undefined && resources.mem > 0) {
    limits.memBytes = Math.round(resources.mem * 1024 * 1024);
    if (options.memHighFraction !== undefined) {
      limits.memHighBytes = Math.round(limits.memBytes * options.memHighFraction);
    }
  }
  if (options.maxPids !== undefined) limits.maxPids = options.maxPids;
  return limits;
}

/** v1 `cpu.shares`: cpus × 1024, at least 2 (Mesos's cgroups cpu subsystem). */
export function cpuShares(cpus: number): number {
  return Math.max(MIN_CPU_SHARES, Math.floor(cpus * CPU_SHARES_PER_CPU));
}

/**
 * v2 `cpu.weight` [1, 10000] from v1 shares [2, 262144], the linear map the
 * OCI runtimes use, so that 1024 shares (one cpu) ≈ weight 39 and the ratios
 * between containers stay those of their cpus.
 */
export function sharesToWeight(shares: number): number {
  const clamped = Math.min(262_144, Math.max(2, shares));
  return Math.min(10_000, Math.max(1, 1 + Math.floor(((clamped - 2) * 9999) / 262_142)));
}

/** CFS quota in µs per {@link CPU_CFS_PERIOD_US} for a hard limit of `cpus`, at least 1 ms. */
export function cfsQuotaUs(cpus: number): number {
  return Math.max(MIN_CPU_CFS_QUOTA_US, Math.round(cpus * CPU_CFS_PERIOD_US));
}

/** The memory limit written: at least 32 MB (Mesos `MIN_MEMORY`). */
function memoryLimitBytes(bytes: number): number {
  return Math.max(MIN_CONTAINER_MEMORY_BYTES, Math.floor(bytes));
}

/** One write of an interface file: v1 names the controller's hierarchy, v2 has one. */
export interface LimitWrite {
  controller: "cpu" | "memory" | "pids";
  file: string;
  value: string;
}

/** The v1 writes for `limits`, in an order the kernel accepts. */
export function v1LimitWrites(limits: ContainerLimits): LimitWrite[] {
  const out: LimitWrite[] = [];
  if (limits.cpus !== undefined) {
    out.push({ controller: "cpu", file: "cpu.shares", value: String(cpuShares(limits.cpus)) });
  }
  if (limits.cpusQuota !== undefined) {
    out.push({ controller: "cpu", file: "cpu.cfs_period_us", value: String(CPU_CFS_PERIOD_US) });
    out.push({
      controller: "cpu",
      file: "cpu.cfs_quota_us",
      value: String(cfsQuotaUs(limits.cpusQuota)),
    });
  }
  if (limits.memBytes !== undefined) {
    const bytes = memoryLimitBytes(limits.memBytes);
    out.push({ controller: "memory", file: "memory.limit_in_bytes", value: String(bytes) });
    // v1 has no memory.high: the soft limit is where reclaim pushes back first.
    const soft = limits.memHighBytes === undefined ? bytes : Math.min(bytes, limits.memHighBytes);
    out.push({ controller: "memory", file: "memory.soft_limit_in_bytes", value: String(soft) });
  } else if (limits.memHighBytes !== undefined) {
    out.push({
      controller: "memory",
      file: "memory.soft_limit_in_bytes",
      value: String(Math.floor(limits.memHighBytes)),
    });
  }
  if (limits.maxPids !== undefined) {
    out.push({ controller: "pids", file: "pids.max", value: String(Math.floor(limits.maxPids)) });
  }
  return out;
}

/** The v2 writes for `limits`. */
export function v2LimitWrites(limits: ContainerLimits): LimitWrite[] {
  const out: LimitWrite[] = [];
  if (limits.cpus !== undefined) {
    out.push({
      controller: "cpu",
      file: "cpu.weight",
      value: String(sharesToWeight(cpuShares(limits.cpus))),
    });
  }
  if (limits.cpusQuota !== undefined) {
    out.push({
      controller: "cpu",
      file: "cpu.max",
      value: `${cfsQuotaUs(limits.cpusQuota)} ${CPU_CFS_PERIOD_US}`,
    });
  }
  if (limits.memBytes !== undefined) {
    out.push({
      controller: "memory",
      file: "memory.max",
      value: String(memoryLimitBytes(limits.memBytes)),
    });
  }
  if (limits.memHighBytes !== undefined) {
    out.push({
      controller: "memory",
      file: "memory.high",
      value: String(Math.floor(limits.memHighBytes)),
    });
  }
  if (limits.maxPids !== undefined) {
    out.push({ controller: "pids", file: "pids.max", value: String(Math.floor(limits.maxPids)) });
  }
  return out;
}

/** "64 MB" for whole megabytes, else bytes. */
export function formatBytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return Number.isInteger(mb) ? `${mb} MB` : `${mb.toFixed(1)} MB (${bytes} bytes)`;
}

/** What an OOM kill is reported as (Mesos: `REASON_CONTAINER_LIMITATION_MEMORY`). */
export function memoryLimitation(limitBytes: number | undefined, peakBytes?: number): Limitation {
  const limit = limitBytes === undefined ? "its memory limit" : formatBytes(limitBytes);
  const peak =
    peakBytes === undefined ? "" : `; peak use ${(peakBytes / (1024 * 1024)).toFixed(1)} MB`;
  return {
    resource: "mem",
    reason: "REASON_CONTAINER_LIMITATION_MEMORY",
    message: `Memory limit exceeded: the container was OOM-killed at its limit of ${limit}${peak}`,
  };
}

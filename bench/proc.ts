/**
 * Resource figures of a process from /proc (Linux): resident memory and CPU
 * time. Elsewhere they read as undefined and the bench reports them missing.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** A field of /proc/<pid>/status in bytes (`VmRSS`, `VmHWM`), or undefined. */
export function procStatusBytes(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(text);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Resident set size of a process in bytes. */
export function rssBytes(pid: number): number | undefined {
  return procStatusBytes(pid, "VmRSS");
}

/** User + system CPU time a process has used, in ms (10 ms resolution). */
export function cpuTimeMs(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) may hold spaces; fields after it are plain
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return ((utime + stime) * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** CPU time of this process in ms (microsecond resolution). */
export function selfCpuTimeMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * CPU time of a process and of its children it has reaped (user + system +
 * children's user + system), in ms: what a process and the short-lived
 * processes it started cost. Undefined when /proc cannot be read.
 */
export function cpuTimeWithChildrenMs(pid: number | "self"): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const ticks = [11, 12, 13, 14].map((i) => Number(fields[i]));
    if (ticks.some((t) => !Number.isFinite(t))) return undefined;
    return (ticks.reduce((a, b) => a + b, 0) * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** Pids of the live children of a process (by the parent pid in /proc/<pid>/stat). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * {@link cpuTimeWithChildrenMs} of a process and of every live descendant:
 * an agent's whole cost, its long-lived executors (not reaped yet) and the
 * tasks they reaped included.
 */
export function cpuTimeOfTreeMs(pid: number): number | undefined {
  const own = cpuTimeWithChildrenMs(pid);
  if (own === undefined) return undefined;
  let total = own;
  for (const child of childPids(pid)) total += cpuTimeOfTreeMs(child) ?? 0;
  return total;
}

/** CPU time of a process tree in parts, in ms (see {@link cpuPartsOfTreeMs}). */
export interface TreeCpuParts {
  /** The root process itself (the agent). */
  root: number;
  /** Its live descendants themselves (the long-lived executors). */
  descendants: number;
  /** What every process of the tree has reaped (the tasks an executor ran, their shells). */
  reaped: number;
}

/**
 * {@link cpuTimeOfTreeMs} split into the root's own time, its live
 * descendants' own time, and the time of the processes they reaped; the
 * parts sum to the whole. Undefined when /proc cannot be read.
 */
export function cpuPartsOfTreeMs(pid: number): TreeCpuParts | undefined {
  const parts: TreeCpuParts = { root: 0, descendants: 0, reaped: 0 };
  const visit = (at: number, isRoot: boolean): boolean => {
    const own = cpuTimeMs(at);
    const all = cpuTimeWithChildrenMs(at);
    if (own === undefined || all === undefined) return false;
    if (isRoot) parts.root += own;
    else parts.descendants += own;
    parts.reaped += all - own;
    for (const child of childPids(at)) visit(child, false);
    return true;
  };
  return visit(pid, true) ? parts : undefined;
}

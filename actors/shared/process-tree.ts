/**
 * Signals to an executor and everything it started. An executor is spawned
 * detached, so it leads a session (and a process group) of its own; the
 * command executor starts its task inside that session. On Linux the tree
 * below the executor is found through `/proc`, and each member's group is
 * signalled; once the executor is gone (kill -9), everything still in its
 * session is found by the session id ({@link killSession}).
 */
import { readdirSync, readFileSync } from "node:fs";

type ProcessTable = Map<number, { ppid: number; pgrp: number; session: number }>;

/** Fields of `/proc/<pid>/stat` after `(comm)`, or undefined. */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // `pid (comm) state ppid pgrp session ...`; comm may hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The parent and process group of every process, from `/proc` (empty where there is none). */
function processTable(): ProcessTable {
  const table: ProcessTable = new Map();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return table;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(name);
    // undefined: the process ended while we looked; "Z": a zombie holds nothing.
    if (fields === undefined || fields[0] === "Z") continue;
    table.set(Number(name), {
      ppid: Number(fields[1]),
      pgrp: Number(fields[2]),
      session: Number(fields[3]),
    });
  }
  return table;
}

/** `pid` and all its descendants (only `pid` where `/proc` is missing). */
function processTree(pid: number, table: ProcessTable = processTable()): number[] {
  const children = new Map<number, number[]>();
  for (const [child, { ppid }] of table) {
    const list = children.get(ppid);
    if (list === undefined) children.set(ppid, [child]);
    else list.push(child);
  }
  const out: number[] = [];
  const queue = [pid];
  const seen = new Set<number>();
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (seen.has(next)) continue;
    seen.add(next);
    out.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return out;
}

/** Sends `signal` to a process group; false when it does not exist. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends `signal` to `pid` (a process group leader), its descendants and their
 * process groups; never to the calling process's own group.
 */
export function signalTree(pid: number, signal: NodeJS.Signals): void {
  const table = processTable();
  const members = processTree(pid, table);
  const own = table.get(process.pid)?.pgrp;
  const groups = new Set<number>();
  if (pid !== own) groups.add(pid);
  for (const member of members) {
    const pgrp = table.get(member)?.pgrp;
    if (pgrp !== undefined && pgrp > 1 && pgrp !== own) groups.add(pgrp);
  }
  for (const group of groups) signalGroup(group, signal);
  for (const member of members) {
    if (member === process.pid) continue;
    try {
      process.kill(member, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Whether a process exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The start time of a process (clock ticks since boot, field 22 of
 * `/proc/<pid>/stat`): with the pid it names one process for good, so a
 * recycled pid is not taken for a checkpointed executor. Undefined when the
 * process does not exist (or is a zombie), or where there is no `/proc`.
 */
export function processStartTime(pid: number): number | undefined {
  const fields = statFields(pid);
  if (fields === undefined || fields[0] === "Z") return undefined;
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

/** Whether `pid` is alive and is the process that started at `startTime` (when known). */
export function isSameProcess(pid: number, startTime: number | undefined): boolean {
  if (!isAlive(pid)) return false;
  const now = processStartTime(pid);
  // Without /proc the pid's liveness is all there is to go by.
  if (now === undefined || startTime === undefined) return now !== undefined || !hasProc();
  return now === startTime;
}

function hasProc(): boolean {
  return statFields("self") !== undefined;
}

/** Live processes of a session, except the caller. */
function sessionMembers(session: number, table: ProcessTable = processTable()): number[] {
  const out: number[] = [];
  for (const [pid, entry] of table) {
    if (entry.session === session && pid !== process.pid) out.push(pid);
  }
  return out;
}

/**
 * SIGKILLs every process of a session (an executor's, after the executor
 * itself is gone), never the caller's own session. Returns how many were
 * signalled. A session id stays reserved while any process is in the
 * session, so it cannot name another process's session by pid reuse.
 */
export function killSession(session: number): number {
  if (session <= 1) return 0;
  const table = processTable();
  if (table.get(process.pid)?.session === session) return 0;
  const members = sessionMembers(session, table);
  for (const pid of members) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  return members.length;
}

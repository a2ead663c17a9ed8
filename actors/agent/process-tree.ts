/**
 * Signals to an executor and everything it started. Executors and their tasks
 * run in process groups of their own (the command executor starts each task
 * in a new one), so killing one group is not enough: on Linux the tree below
 * the executor is found through `/proc`, and each member's group is signalled.
 */
import { readdirSync, readFileSync } from "node:fs";

type ProcessTable = Map<number, { ppid: number; pgrp: number }>;

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
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.set(Number(name), { ppid: Number(fields[1]), pgrp: Number(fields[2]) });
    } catch {
      // The process ended while we looked.
    }
  }
  return table;
}

/** `pid` and all its descendants (only `pid` where `/proc` is missing). */
export function processTree(pid: number, table: ProcessTable = processTable()): number[] {
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

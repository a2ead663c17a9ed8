/**
 * Disk isolation as Mesos's `posix/disk`: the sandbox's usage is measured by a
 * du-like walk (allocated blocks, hard links once, symlinks not followed) on
 * the agent's clock every `--container-disk-watch-interval`; over the `disk`
 * resource it is a `REASON_CONTAINER_LIMITATION_DISK` limitation, which ends
 * the task only with `--enforce-container-disk-quota`. A walk stats at most a
 * budget of entries so that a sandbox of millions of files cannot stall the
 * agent; a cut walk reports a lower bound (`complete: false`).
 */
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";
import type { Clock, Timer } from "../../../infra/clock.ts";
import {
  DEFAULT_CONTAINER_DISK_WATCH_INTERVAL_MS,
  DISK_USAGE_ENTRY_BUDGET,
} from "../../../infra/defaults.ts";
import type { Limitation } from "./types.ts";

/** What a walk of a sandbox found. */
export interface DiskUsage {
  /** Bytes allocated (st_blocks × 512, as `du`). */
  bytes: number;
  /** Entries stat'ed. */
  entries: number;
  /** False when the walk stopped at its budget: `bytes` is then a lower bound. */
  complete: boolean;
}

/** The disk used under `dir` (0 when it does not exist). */
export async function diskUsage(dir: string, budget = DISK_USAGE_ENTRY_BUDGET): Promise<DiskUsage> {
  const seen = new Set<string>();
  const stack = [dir];
  let bytes = 0;
  let entries = 0;
  while (stack.length > 0) {
    const at = stack.pop()!;
    if (entries >= budget) return { bytes, entries, complete: false };
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(at);
    } catch {
      continue; // removed meanwhile
    }
    entries += 1;
    const key = `${st.dev}:${st.ino}`;
    if (st.nlink > 1 && !st.isDirectory()) {
      if (seen.has(key)) continue;
      seen.add(key);
    }
    bytes += Number(st.blocks) * 512;
    if (st.isDirectory()) {
      try {
        for (const name of await readdir(at)) stack.push(path.join(at, name));
      } catch {
        // unreadable or removed: counted as itself only
      }
    }
  }
  return { bytes, entries, complete: true };
}

/** The limitation when `usage` exceeds `diskMB` (the container's `disk` resource, MB). */
export function diskLimitation(usage: DiskUsage, diskMB: number): Limitation | undefined {
  const limit = diskMB * 1024 * 1024;
  if (usage.bytes <= limit) return undefined;
  const used = (usage.bytes / (1024 * 1024)).toFixed(1);
  return {
    resource: "disk",
    reason: "REASON_CONTAINER_LIMITATION_DISK",
    message: `Disk usage of the sandbox (${used} MB) exceeds the container's disk limit of ${diskMB} MB`,
  };
}

/** One check: the sandbox's usage and, when over `diskMB`, the limitation. */
export async function checkSandboxDisk(
  sandbox: string,
  diskMB: number,
  budget = DISK_USAGE_ENTRY_BUDGET,
): Promise<{ usage: DiskUsage; limitation?: Limitation }> {
  const usage = await diskUsage(sandbox, budget);
  const limitation = diskLimitation(usage, diskMB);
  return limitation === undefined ? { usage } : { usage, limitation };
}

/** Options of {@link watchSandboxDisk}. */
export interface DiskWatchOptions {
  clock: Clock;
  sandbox: string;
  diskMB: number;
  /** `--container-disk-watch-interval` (default 15 s). */
  intervalMs?: number;
  /** Each check's usage (for statistics: Mesos `disk_used_bytes`). */
  onUsage?(usage: DiskUsage): void;
  /** Called once, at the first check over the limit. */
  onLimitation(limitation: Limitation): void;
  /** Errors of a check (logged by the agent; the next check runs anyway). */
  onError?(err: unknown): void;
}

/** Checks a sandbox on the clock until stopped or over its limit; checks never overlap. */
export function watchSandboxDisk(options: DiskWatchOptions): Timer {
  let running = false;
  let done = false;
  const timer = options.clock.every(
    options.intervalMs ?? DEFAULT_CONTAINER_DISK_WATCH_INTERVAL_MS,
    () => {
      if (running || done) return;
      running = true;
      checkSandboxDisk(options.sandbox, options.diskMB)
        .then(({ usage, limitation }) => {
          if (done) return;
          options.onUsage?.(usage);
          if (limitation !== undefined) {
            done = true;
            timer.cancel();
            options.onLimitation(limitation);
          }
        })
        .catch((err: unknown) => options.onError?.(err))
        .finally(() => {
          running = false;
        });
    },
  );
  return {
    cancel() {
      done = true;
      timer.cancel();
    },
  };
}

/**
 * The few file operations cgroups need, behind an interface: the kernel's
 * cgroup file systems in production, a fake kernel over a temp dir in unit
 * tests (a plain directory cannot act like cgroupfs: `rmdir` of a cgroup with
 * its interface files succeeds, writing `cgroup.kill` empties it, and so on).
 * Plus the tree helpers both cgroup versions share.
 */
import { createHash } from "node:crypto";
import { mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { access, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { type Clock, systemClock } from "../../../infra/clock.ts";
import { CGROUP_KILL_TIMEOUT_MS, CGROUP_POLL_INTERVAL_MS } from "../../../infra/defaults.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

/** File operations on a cgroup file system. */
export interface CgroupFs {
  /** A file's content, or undefined when it does not exist. */
  read(file: string): Promise<string | undefined>;
  /** Writes an existing interface file (never creates one). */
  write(file: string, value: string): Promise<void>;
  /** Creates one cgroup directory (its parents must exist); no error when it exists. */
  mkdir(dir: string): Promise<void>;
  /** Removes one empty cgroup; no error when it does not exist. */
  rmdir(dir: string): Promise<void>;
  /** Names of the child cgroups of `dir` ([] when `dir` does not exist). */
  subdirs(dir: string): Promise<string[]>;
  /** Whether a file or cgroup exists (e.g. `cgroup.kill`, new in Linux 5.14). */
  exists(file: string): Promise<boolean>;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The kernel's cgroup file systems. `mkdir`, `rmdir` and `write` are
 * synchronous system calls behind the promise: on cgroupfs they are
 * in-memory kernel operations of tens of microseconds, and a task's cgroup
 * takes about fifteen of them (a directory per v1 hierarchy, its limits, its
 * removal), so the thread pool's round trip per call cost more CPU than the
 * calls themselves (about twice the CPU per task's cgroup, measured). Reads
 * (statistics, listings) stay asynchronous.
 */
export const kernelCgroupFs: CgroupFs = {
  async read(file) {
    try {
      return await readFile(file, "utf8");
    } catch (err) {
      if (code(err) === "ENOENT") return undefined;
      throw err;
    }
  },
  async write(file, value) {
    // "r+": an interface file that is missing is an error, never a new regular file.
    writeFileSync(file, value, { flag: "r+" });
  },
  async mkdir(dir) {
    try {
      mkdirSync(dir);
    } catch (err) {
      if (code(err) !== "EEXIST") throw err;
    }
  },
  async rmdir(dir) {
    try {
      rmdirSync(dir);
    } catch (err) {
      if (code(err) !== "ENOENT") throw err;
    }
  },
  async subdirs(dir) {
    try {
      const entries = await readdir(dir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (err) {
      if (code(err) === "ENOENT" || code(err) === "ENOTDIR") return [];
      throw err;
    }
  },
  async exists(file) {
    try {
      await access(file);
      return true;
    } catch {
      return false;
    }
  },
};

/** Creates `dir` and every missing parent below `base` (each level is a cgroup). */
export async function mkdirBelow(fs: CgroupFs, base: string, dir: string): Promise<void> {
  const rel = path.relative(base, dir);
  let at = base;
  for (const part of rel.split(path.sep).filter((p) => p !== "")) {
    at = path.join(at, part);
    await fs.mkdir(at);
  }
}

/** `dir` and every cgroup below it, leaves first (the order to remove them in). */
export async function cgroupTree(fs: CgroupFs, dir: string, skip?: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (at: string): Promise<void> => {
    for (const name of await fs.subdirs(at)) {
      if (name === skip) continue;
      await visit(path.join(at, name));
    }
    out.push(at);
  };
  await visit(dir);
  return out;
}

/** Pids listed in a `cgroup.procs` file ([] when it is missing). */
async function readProcs(fs: CgroupFs, dir: string): Promise<number[]> {
  const text = await fs.read(path.join(dir, "cgroup.procs"));
  if (text === undefined) return [];
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Pids in `dir` and every cgroup below it. */
export async function treeProcs(fs: CgroupFs, dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const at of await cgroupTree(fs, dir)) pids.push(...(await readProcs(fs, at)));
  return pids;
}

/** A number from an interface file ("max" and missing files give undefined). */
export async function readNumber(fs: CgroupFs, file: string): Promise<number | undefined> {
  const text = (await fs.read(file))?.trim();
  if (text === undefined || text === "" || text === "max") return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Parses a flat keyed file (`cpu.stat`, `memory.events`, `memory.oom_control`): `key value` lines. */
export function parseKeyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? "").split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === undefined || key === "" || value === undefined) continue;
    const n = Number(value);
    if (Number.isFinite(n)) out.set(key, n);
  }
  return out;
}

/**
 * Stops every process of a tree from forking, SIGKILLs them all, lets them
 * run again so the kills are delivered, and waits until the tree is empty.
 * A tree that does not report frozen in time is killed anyway, repeatedly.
 */
export async function freezeAndKill(
  clock: Clock,
  timeoutMs: number,
  ops: {
    freeze(): Promise<void>;
    isFrozen(): Promise<boolean>;
    thaw(): Promise<void>;
    pids(): Promise<number[]>;
  },
): Promise<boolean> {
  // Already empty (the usual end of a task's cgroup): nothing in it can fork, no freeze needed.
  if ((await ops.pids()).length === 0) return true;
  await ops.freeze();
  await waitUntil(clock, ops.isFrozen, timeoutMs / 2);
  killPids(await ops.pids());
  await ops.thaw();
  return waitUntil(
    clock,
    async () => {
      const left = await ops.pids();
      killPids(left);
      return left.length === 0;
    },
    timeoutMs,
  );
}

/** Sends SIGKILL to each pid; a pid that is already gone is fine. */
function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Ended meanwhile.
    }
  }
}

/** Waits on the clock until `done()` holds; false when `timeoutMs` passes first. */
export async function waitUntil(
  clock: Clock,
  done: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = CGROUP_POLL_INTERVAL_MS,
): Promise<boolean> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (clock.now() >= deadline) return false;
    await new Promise<void>((resolve) => clock.after(intervalMs, resolve));
  }
}

/** Removes cgroups leaves first; a cgroup whose last process is still exiting is retried. */
export async function removeTree(
  fs: CgroupFs,
  clock: Clock,
  dir: string,
  timeoutMs: number,
): Promise<void> {
  for (const at of await cgroupTree(fs, dir)) {
    let last: unknown;
    const removed = await waitUntil(
      clock,
      async () => {
        try {
          await fs.rmdir(at);
          return true;
        } catch (err) {
          if (code(err) !== "EBUSY") throw err;
          last = err;
          return false;
        }
      },
      timeoutMs,
    );
    if (!removed) throw last;
  }
}

/**
 * The container id of an executor: readable (its executor id, with characters
 * a cgroup name cannot hold replaced) and unique (a hash of framework and
 * executor ids), the same after a restart so that recovery can match the
 * cgroups it finds with the executors it checkpointed.
 */
export function containerIdFor(frameworkId: string, executorId: string): string {
  const readable = executorId.replace(/[^A-Za-z0-9_:@-]/g, "_").slice(0, 64);
  const hash = createHash("sha256").update(`${frameworkId}\0${executorId}`).digest("hex");
  return `${readable}-${hash.slice(0, 12)}`;
}

/** Container ids must make a single path segment of a cgroup. */
export function checkContainerId(id: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,200}$/.test(id) || id === "leaf") {
    throw new AgoraError(
      ErrorCode.InvalidId,
      `invalid container id ${JSON.stringify(id)} for a cgroup name`,
    );
  }
}

/** `o` without its undefined fields (statistics carry only what the host exposes). */
export function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Options of a cgroup isolator. */
export interface CgroupIsolatorOptions {
  fs?: CgroupFs;
  /**
   * Polls while a cgroup freezes or empties (the agent's clock). The system
   * clock's timers do not keep a process alive on their own: the agent's NATS
   * connection does, so containers must be destroyed before it is closed.
   */
  clock?: Clock;
  /** How long killing a container may take (default `CGROUP_KILL_TIMEOUT_MS`). */
  killTimeoutMs?: number;
}

/** The resolved options both isolators work with. */
export function isolatorContext(options: CgroupIsolatorOptions): {
  fs: CgroupFs;
  clock: Clock;
  killTimeoutMs: number;
} {
  return {
    fs: options.fs ?? kernelCgroupFs,
    clock: options.clock ?? systemClock,
    killTimeoutMs: options.killTimeoutMs ?? CGROUP_KILL_TIMEOUT_MS,
  };
}

/** Writes one interface file; a refusal names the file and the value. */
export async function writeCgroupFile(fs: CgroupFs, file: string, value: string): Promise<void> {
  try {
    await fs.write(file, value);
  } catch (err) {
    throw new AgoraError(ErrorCode.Internal, `cannot write ${value} to ${file}`, { cause: err });
  }
}

/** Creates a container's cgroups; a half-made one (e.g. a limit the kernel refused) is removed. */
export async function createOrRemove<C extends { destroy(): Promise<void> }>(
  container: C,
  create: (container: C) => Promise<void>,
): Promise<C> {
  try {
    await create(container);
  } catch (err) {
    await container.destroy().catch(() => {});
    throw err;
  }
  return container;
}

/** Removes `<mount>/<root>` and each parent level up to the mount that is left empty. */
export async function removeRootLevels(fs: CgroupFs, mount: string, root: string): Promise<void> {
  const parts = root.split("/").filter((p) => p !== "");
  for (let n = parts.length; n > 0; n--) {
    try {
      await fs.rmdir(path.join(mount, ...parts.slice(0, n)));
    } catch (err) {
      // Another agent's (or test's) cgroups are still there.
      if (code(err) === "EBUSY" || code(err) === "ENOTEMPTY") return;
      throw err;
    }
  }
}

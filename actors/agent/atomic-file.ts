/**
 * Checkpoint files written atomically: the text goes to a temporary file in
 * the same directory, is fsynced, then renamed over the target, so a reader
 * finds the old content or the new one, never a torn file. The directory is
 * fsynced when the file is new to it (the new entry must survive a power
 * cut); a rewrite replaces an entry the directory already has, and the
 * rename itself is atomic, so that fsync is skipped on the hot path.
 *
 * Writes of one path are coalesced: a write asked while another of the same
 * path is in flight runs once after it, with the content of the moment it
 * starts (the content is produced lazily), so a burst of changes to one task
 * costs one or two fsyncs rather than one each. Writes of different paths
 * run concurrently, and the files new to one directory share its fsync: a
 * directory fsync asked while none of that directory has started yet is
 * joined, not repeated (a task group's new task files cost one). A directory
 * this process made or wrote into is not made again.
 */
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";

/** The content of a file when its write starts; undefined removes the file. */
export type Producer = () => string | undefined;

interface Slot {
  running: Promise<void> | undefined;
  /** A write was asked while one was running: run again after it. */
  again: boolean;
  produce: Producer;
  waiters: Array<{ resolve(): void; reject(err: unknown): void }>;
}

/** Writes one file atomically (tmp + fsync + rename, + fsync of the directory when `syncDir`). */
export async function writeFileAtomic(file: string, text: string, syncDir = true): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  await writeRenamed(file, text);
  if (syncDir) await fsyncDir(dir);
}

/** Writes `text` to a temporary file beside `file`, fsyncs it and renames it over `file`. */
async function writeRenamed(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, "w");
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

/** fsyncs a directory (its entries); ignored where the platform refuses it. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Some file systems do not fsync directories.
  } finally {
    await handle?.close();
  }
}

/** Coalescing atomic writer of many files. */
export class AtomicFiles {
  readonly #slots = new Map<string, Slot>();
  /** Files this process wrote: a rewrite needs no directory fsync. */
  readonly #known = new Set<string>();
  /** Directories this process made or wrote into: no mkdir for them. */
  readonly #dirs = new Set<string>();
  /** Directory fsyncs not started yet, which a new file of the same directory joins. */
  readonly #dirSyncs = new Map<string, Promise<void>>();
  /** Counts fsyncs, for the hot-path budget. */
  fsyncs = 0;
  readonly #onSync: ((count: number) => void) | undefined;

  /** `onSync` is told of every fsync (e.g. to count them in metrics). */
  constructor(onSync?: (count: number) => void) {
    this.#onSync = onSync;
  }

  /** Writes (or removes) `file` with what `produce` returns when the write starts. */
  write(file: string, produce: Producer): Promise<void> {
    let slot = this.#slots.get(file);
    if (slot === undefined) {
      slot = { running: undefined, again: false, produce, waiters: [] };
      this.#slots.set(file, slot);
    }
    slot.produce = produce;
    const done = new Promise<void>((resolve, reject) => slot.waiters.push({ resolve, reject }));
    if (slot.running === undefined) this.#run(file, slot);
    else slot.again = true;
    return done;
  }

  /** Removes `file` after what is queued for it. */
  remove(file: string): Promise<void> {
    return this.write(file, () => undefined);
  }

  /** Resolves when no write of a file under `prefix` (every file: "") is queued or running. */
  async idle(prefix = ""): Promise<void> {
    for (;;) {
      const busy = [...this.#slots].filter(([file]) => file.startsWith(prefix));
      if (busy.length === 0) return;
      await Promise.allSettled(busy.map(([, s]) => s.running));
    }
  }

  #run(file: string, slot: Slot): void {
    let waiters: Slot["waiters"] = [];
    slot.again = false;
    // Started in a microtask: changes made in the same turn share this write, and so do their
    // waiters, taken when the content is.
    slot.running = Promise.resolve()
      .then(() => {
        waiters = slot.waiters.splice(0);
        slot.again = false;
        return this.#once(file, slot.produce());
      })
      .then(
        () => {
          for (const w of waiters) w.resolve();
        },
        (err: unknown) => {
          for (const w of waiters) w.reject(err);
        },
      )
      .finally(() => {
        slot.running = undefined;
        if (slot.again || slot.waiters.length > 0) this.#run(file, slot);
        else this.#slots.delete(file);
      });
  }

  async #once(file: string, text: string | undefined): Promise<void> {
    if (text === undefined) {
      await rm(file, { force: true });
      this.#known.delete(file);
      return;
    }
    let fresh = !this.#known.has(file);
    const dir = path.dirname(file);
    if (!this.#dirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.#dirs.add(dir);
    }
    try {
      await writeRenamed(file, text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      // the directory was removed behind us (an executor's checkpoints): made again
      await mkdir(dir, { recursive: true });
      await writeRenamed(file, text);
      fresh = true;
    }
    let syncs = 1;
    if (fresh) {
      const joined = this.#dirSyncs.has(dir);
      await this.#syncDir(dir);
      if (!joined) syncs++;
    }
    this.fsyncs += syncs;
    this.#onSync?.(syncs);
    this.#known.add(file);
  }

  /** fsyncs `dir` once for every new file renamed into it before the fsync starts. */
  #syncDir(dir: string): Promise<void> {
    let pending = this.#dirSyncs.get(dir);
    if (pending === undefined) {
      pending = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#dirSyncs.delete(dir);
        return fsyncDir(dir);
      });
      this.#dirSyncs.set(dir, pending);
    }
    return pending;
  }

  /** Forgets what it knows of the files and directories under `prefix` (they were removed). */
  forget(prefix: string): void {
    for (const f of this.#known) if (f.startsWith(prefix)) this.#known.delete(f);
    for (const d of this.#dirs) {
      if (d.startsWith(prefix) || `${d}${path.sep}` === prefix) this.#dirs.delete(d);
    }
  }
}

/**
 * The task checkpoints of one executor as one append-only journal
 * (`<executor dir>/tasks.jsonl`): a line per change of a task, its whole
 * checkpoint (`{"taskId", "task": TaskCheckpoint}`), or its end
 * (`{"taskId", "removed": true}`). The last line of a task wins.
 *
 * Durable in batches: the lines asked while a write is in flight go out
 * together in the next one (one `write` and one `fdatasync` per batch, not a
 * file, a rename and fsyncs per task), and a change is reported written (its
 * promise resolves) only once the fdatasync that holds it is done, so what
 * the agent acknowledges or forwards after that is on disk. Writes of one
 * task in the same batch are coalesced: its content is produced when the
 * batch starts. A new journal's directory is fsynced once.
 *
 * Compaction rewrites the journal with one line per live task, atomically
 * (tmp + fdatasync + rename + fsync of the directory): on recovery (the agent
 * reads it back), and while running when the lines outnumber the live tasks
 * by far ({@link COMPACT_MIN_LINES}, {@link COMPACT_LINES_PER_LIVE}). A line torn
 * by a crash in the middle of an append (the last one) is skipped on reading:
 * its change was never reported written.
 */
import { mkdir, open, readFile } from "node:fs/promises";
import path from "node:path";
import { fsyncDir, writeFileAtomic } from "./atomic-file.ts";

/** The journal's file name in an executor's checkpoint directory. */
export const TASK_JOURNAL = "tasks.jsonl";

/** No compaction while running below this many lines. */
const COMPACT_MIN_LINES = 2048;
/** Compaction while running once the lines are this many times the live tasks (and the minimum). */
const COMPACT_LINES_PER_LIVE = 4;

/** The line of a task as the journal holds it; undefined: the task is removed. */
export type LineProducer = () => string | undefined;

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

interface Journal {
  handle: Awaited<ReturnType<typeof open>> | undefined;
  /** Changes for the next batch, by task id (the latest producer wins). */
  queued: Map<string, { produce: LineProducer; waiters: Waiter[] }>;
  running: Promise<void> | undefined;
  /** The latest line of each live task (what a compaction writes). */
  live: Map<string, string>;
  lines: number;
}

/** The journals of an agent's executors. */
export class TaskJournals {
  readonly #journals = new Map<string, Journal>();
  readonly #onSync: ((count: number) => void) | undefined;

  /** `onSync` is told of every fsync. */
  constructor(onSync?: (count: number) => void) {
    this.#onSync = onSync;
  }

  #journal(file: string): Journal {
    let j = this.#journals.get(file);
    if (j === undefined) {
      j = { handle: undefined, queued: new Map(), running: undefined, live: new Map(), lines: 0 };
      this.#journals.set(file, j);
    }
    return j;
  }

  /**
   * Appends the line of `taskId` that `produce` returns when its batch starts
   * (`{"taskId", "task": <its text>}` where the text is a JSON value; undefined: removed).
   * Resolves once the line is durable.
   */
  write(file: string, taskId: string, produce: LineProducer): Promise<void> {
    const j = this.#journal(file);
    let q = j.queued.get(taskId);
    if (q === undefined) {
      q = { produce, waiters: [] };
      j.queued.set(taskId, q);
    }
    q.produce = produce;
    const slot = q;
    const done = new Promise<void>((resolve, reject) => slot.waiters.push({ resolve, reject }));
    if (j.running === undefined) this.#run(file, j);
    return done;
  }

  /** Appends the removal of `taskId` (nothing when this journal never held it). */
  remove(file: string, taskId: string): Promise<void> {
    const j = this.#journals.get(file);
    if (j === undefined || (!j.live.has(taskId) && !j.queued.has(taskId))) {
      return Promise.resolve();
    }
    return this.write(file, taskId, () => undefined);
  }

  #run(file: string, j: Journal): void {
    // started in a microtask: the changes of the same turn share the batch
    j.running = Promise.resolve()
      .then(() => this.#batch(file, j))
      .finally(() => {
        j.running = undefined;
        if (j.queued.size > 0) this.#run(file, j);
      });
  }

  async #batch(file: string, j: Journal): Promise<void> {
    const batch = [...j.queued];
    j.queued.clear();
    const waiters = batch.flatMap(([, q]) => q.waiters);
    try {
      let text = "";
      for (const [taskId, q] of batch) {
        const value = q.produce();
        if (value === undefined) {
          if (!j.live.delete(taskId)) continue;
          text += `${JSON.stringify({ taskId, removed: true })}\n`;
        } else {
          const line = journalLine(taskId, value);
          j.live.set(taskId, line);
          text += line;
        }
        j.lines++;
      }
      if (text !== "") {
        const fresh = j.handle === undefined;
        if (fresh) j.handle = await openAppend(file);
        await j.handle!.write(text);
        await j.handle!.datasync();
        this.#onSync?.(1);
        if (fresh) await this.#syncDir(path.dirname(file));
        if (j.lines >= COMPACT_MIN_LINES && j.lines >= COMPACT_LINES_PER_LIVE * j.live.size) {
          await this.#compact(file, j);
        }
      }
      for (const w of waiters) w.resolve();
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }

  /** Rewrites the journal with its live lines only, atomically. */
  async #compact(file: string, j: Journal): Promise<void> {
    await j.handle?.close();
    j.handle = undefined;
    await writeFileAtomic(file, [...j.live.values()].join(""));
    this.#onSync?.(2);
    j.lines = j.live.size;
    j.handle = await open(file, "a");
  }

  async #syncDir(dir: string): Promise<void> {
    await fsyncDir(dir);
    this.#onSync?.(1);
  }

  /**
   * Reads a journal back: the last line of each task that is not removed, by
   * task id (each `{"taskId", "task"}`, to be parsed by the caller). Then
   * compacts it to those lines (plus `adopt`: lines of tasks from elsewhere,
   * e.g. the per-task files of an older agent, see {@link journalLine}). A line
   * that is not JSON or names no task is given to `onCorrupt` and skipped.
   */
  async recover(
    file: string,
    adopt: ReadonlyMap<string, string>,
    onCorrupt: (where: string, err: unknown) => void,
  ): Promise<Map<string, string>> {
    await this.close(file);
    let text = "";
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") onCorrupt(file, err);
    }
    const latest = new Map<string, string>();
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === "") continue;
      let entry: { taskId?: unknown; removed?: unknown; task?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch (err) {
        onCorrupt(`${file}:${i + 1}`, err);
        continue;
      }
      if (typeof entry.taskId !== "string") {
        onCorrupt(`${file}:${i + 1}`, new Error("no taskId"));
        continue;
      }
      if (entry.removed === true) latest.delete(entry.taskId);
      else latest.set(entry.taskId, `${line}\n`);
    }
    for (const [taskId, line] of adopt) if (!latest.has(taskId)) latest.set(taskId, line);
    if (latest.size === 0 && text === "") return latest;
    await writeFileAtomic(file, [...latest.values()].join(""));
    this.#onSync?.(2);
    const j = this.#journal(file);
    j.live = latest;
    j.lines = latest.size;
    return new Map(latest);
  }

  /** Waits for the journals under `prefix` (every one: "") to be written, then closes them. */
  async close(prefix = ""): Promise<void> {
    await this.idle(prefix);
    for (const [file, j] of [...this.#journals]) {
      if (!file.startsWith(prefix)) continue;
      this.#journals.delete(file);
      await j.handle?.close().catch(() => {});
    }
  }

  /** Waits until no journal under `prefix` has a write queued or running. */
  async idle(prefix = ""): Promise<void> {
    for (;;) {
      const busy = [...this.#journals].filter(
        ([file, j]) => file.startsWith(prefix) && (j.running !== undefined || j.queued.size > 0),
      );
      if (busy.length === 0) return;
      await Promise.allSettled(busy.map(([, j]) => j.running));
    }
  }
}

/** The line of a task from its checkpoint's JSON text (`value`), as the journal holds it. */
export function journalLine(taskId: string, value: string): string {
  return `{"taskId":${JSON.stringify(taskId)},"task":${value.trimEnd()}}\n`;
}

/** Opens a journal for appends, its directory made when missing. */
async function openAppend(file: string): Promise<Awaited<ReturnType<typeof open>>> {
  try {
    return await open(file, "a");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await mkdir(path.dirname(file), { recursive: true });
    return open(file, "a");
  }
}

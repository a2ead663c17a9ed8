/**
 * What the agent checkpoints about what it runs, in Mesos's `meta/` layout
 * under the work directory (ids percent-encoded into path segments):
 *
 * ```
 * meta/agent.json                                        agent id, hostname, resources, attributes
 * meta/frameworks/<fid>/framework.json                   the framework (id, name, role)
 * meta/frameworks/<fid>/executors/<eid>/executor.json    pid, start time, session, sandbox, kind,
 *                                                        container (id, resources)
 * meta/frameworks/<fid>/executors/<eid>/tasks.jsonl     a line per change of a task: TaskInfo,
 *                                                        role, latest status, unacknowledged
 *                                                        updates, acknowledged uuids (or its end)
 * ```
 *
 * Every `.json` file is written atomically (atomic-file.ts); the tasks of an
 * executor go to its append-only journal (task-journal.ts: one fdatasync per
 * batch of changes, compacted on recovery). An older agent's per-task files
 * (`tasks/<tid>.json`) are read and folded into the journal on recovery.
 * Reading is tolerant: a file or journal line that is torn, not JSON or not
 * of its schema is reported in the log, counted (`checkpoint_files_corrupt`)
 * and skipped; recovery goes on with the rest. Binary fields
 * (`TaskStatus.data`) are kept as base64.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { FrameworkRef } from "../../protocol/agents.ts";
import { Role, TaskInfo, TaskStatus } from "../../protocol/common.ts";
import { AtomicFiles } from "./atomic-file.ts";
import { journalLine, TASK_JOURNAL, TaskJournals } from "./task-journal.ts";

/** An executor as checkpointed when it was spawned. */
export const ExecutorCheckpoint = Type.Object({
  framework: FrameworkRef,
  executorId: Type.String({ minLength: 1 }),
  kind: Type.Union([Type.Literal("command"), Type.Literal("custom"), Type.Literal("default")]),
  pid: Type.Integer({ minimum: 1 }),
  /** Start time of the process (`/proc/<pid>/stat` field 22), to tell a recycled pid. */
  startTime: Type.Optional(Type.Number()),
  /** The executor's session id (it leads its session): what it started is found by it. */
  session: Type.Integer({ minimum: 1 }),
  sandbox: Type.String(),
  /** The executor's own token (`AGORA_EXECUTOR_TOKEN`); absent in checkpoints of before it. */
  token: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  /**
   * The executor's container (cgroups), so that a restarted agent finds it
   * again: its id (under `<cgroups-root>/<agentId>`), the resources its limits
   * were written from (MB) and the executor's own allowance of mem in them.
   */
  container: Type.Optional(
    Type.Object({
      id: Type.String({ minLength: 1, maxLength: 256 }),
      /** The agent's cgroup root it lives under (`<--cgroups-root>/<agentId>`). */
      root: Type.Optional(Type.String({ maxLength: 1024 })),
      resources: Type.Object({
        cpus: Type.Optional(Type.Number()),
        mem: Type.Optional(Type.Number()),
        disk: Type.Optional(Type.Number()),
      }),
      overheadMem: Type.Number(),
    }),
  ),
});
export type ExecutorCheckpoint = Static<typeof ExecutorCheckpoint>;

/** A task with its status update stream. */
export const TaskCheckpoint = Type.Object({
  frameworkId: Type.String({ minLength: 1 }),
  executorId: Type.String({ minLength: 1 }),
  role: Role,
  task: TaskInfo,
  /** The latest status. */
  status: TaskStatus,
  launched: Type.Boolean(),
  killed: Type.Boolean(),
  /** Updates not acknowledged yet, oldest first. */
  pending: Type.Array(TaskStatus),
  /** Uuids acknowledged lately (an executor may resend one whose ack it missed). */
  acked: Type.Array(Type.String()),
  /** The latest acknowledged status: what the master is known to have (reported on reregistration). */
  acknowledged: Type.Optional(TaskStatus),
});
export type TaskCheckpoint = Static<typeof TaskCheckpoint>;

/** An executor with its tasks, as read back. */
export interface RecoveredExecutor {
  frameworkId: string;
  executorId: string;
  /** Undefined when its file is missing or unreadable: no process can be found for it. */
  executor: ExecutorCheckpoint | undefined;
  tasks: TaskCheckpoint[];
}

/** Everything read back from the checkpoint. */
export interface RecoveredState {
  frameworks: FrameworkRef[];
  executors: RecoveredExecutor[];
}

const segment = (id: string) => encodeURIComponent(id);
const unsegment = (name: string) => {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
};

/** JSON with `Uint8Array` as `{"$bytes": base64}`. */
function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) =>
    v instanceof Uint8Array ? { $bytes: Buffer.from(v).toString("base64") } : v,
  )}\n`;
}

/** Parses {@link toJson}'s output. */
function fromJson(text: string): unknown {
  return JSON.parse(text, (_k, v) => {
    if (v !== null && typeof v === "object" && typeof v.$bytes === "string") {
      const bytes = Buffer.from(v.$bytes, "base64");
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    }
    return v;
  });
}

/** The agent's checkpoint of frameworks, executors and tasks. */
export class AgentStateStore {
  readonly root: string;
  readonly files: AtomicFiles;
  readonly journals: TaskJournals;
  readonly #logger: Logger;
  readonly #metrics: Metrics;

  constructor(workDir: string, logger: Logger, metrics: Metrics) {
    this.root = path.join(workDir, "meta", "frameworks");
    this.files = new AtomicFiles((n) => metrics.inc("checkpoint_fsyncs", n));
    this.journals = new TaskJournals((n) => metrics.inc("checkpoint_fsyncs", n));
    this.#logger = logger;
    this.#metrics = metrics;
  }

  frameworkDir(frameworkId: string): string {
    return path.join(this.root, segment(frameworkId));
  }

  executorDir(frameworkId: string, executorId: string): string {
    return path.join(this.frameworkDir(frameworkId), "executors", segment(executorId));
  }

  /** The task journal of an executor. */
  journalFile(frameworkId: string, executorId: string): string {
    return path.join(this.executorDir(frameworkId, executorId), TASK_JOURNAL);
  }

  /** Checkpoints a framework (once per framework is enough: it does not change). */
  saveFramework(framework: FrameworkRef): Promise<void> {
    const file = path.join(this.frameworkDir(framework.frameworkId), "framework.json");
    return this.files.write(file, () => toJson(framework));
  }

  /** Checkpoints a spawned executor. */
  saveExecutor(executor: ExecutorCheckpoint): Promise<void> {
    const file = path.join(
      this.executorDir(executor.framework.frameworkId, executor.executorId),
      "executor.json",
    );
    return this.files.write(file, () => toJson(executor));
  }

  /**
   * Checkpoints a task; `produce` gives its state when the write starts (undefined: removed).
   * Resolves once the change is durable.
   */
  saveTask(
    frameworkId: string,
    executorId: string,
    taskId: string,
    produce: () => TaskCheckpoint | undefined,
  ): Promise<void> {
    return this.journals.write(this.journalFile(frameworkId, executorId), taskId, () => {
      const value = produce();
      return value === undefined ? undefined : toJson(value);
    });
  }

  /** Forgets a task (its stream is closed). */
  removeTask(frameworkId: string, executorId: string, taskId: string): Promise<void> {
    return this.journals.remove(this.journalFile(frameworkId, executorId), taskId);
  }

  /** Resolves when no checkpoint write is queued or running. */
  async idle(): Promise<void> {
    await Promise.all([this.files.idle(), this.journals.idle()]);
  }

  /** Forgets an executor and its tasks (it terminated and its tasks are closed). */
  async removeExecutor(frameworkId: string, executorId: string): Promise<void> {
    const dir = this.executorDir(frameworkId, executorId);
    await this.files.idle(`${dir}${path.sep}`);
    await this.journals.close(`${dir}${path.sep}`);
    await rm(dir, { recursive: true, force: true });
    this.files.forget(`${dir}${path.sep}`);
  }

  /** Forgets a framework's checkpoints. */
  async removeFramework(frameworkId: string): Promise<void> {
    const dir = this.frameworkDir(frameworkId);
    await this.files.idle(`${dir}${path.sep}`);
    await this.journals.close(`${dir}${path.sep}`);
    await rm(dir, { recursive: true, force: true });
    this.files.forget(`${dir}${path.sep}`);
  }

  /** Forgets everything (a new agent id, or `--recover cleanup` after killing). */
  async clear(): Promise<void> {
    await this.files.idle();
    await this.journals.close();
    await rm(this.root, { recursive: true, force: true });
    this.files.forget(this.root);
  }

  /** Reads everything back; unreadable files are logged, counted and skipped. */
  async load(): Promise<RecoveredState> {
    const state: RecoveredState = { frameworks: [], executors: [] };
    for (const fdir of await this.#list(this.root)) {
      const frameworkDir = path.join(this.root, fdir);
      const framework = await this.#read(path.join(frameworkDir, "framework.json"), FrameworkRef);
      if (framework !== undefined) state.frameworks.push(framework);
      const executorsDir = path.join(frameworkDir, "executors");
      for (const edir of await this.#list(executorsDir)) {
        const dir = path.join(executorsDir, edir);
        const executor = await this.#read(path.join(dir, "executor.json"), ExecutorCheckpoint);
        const tasks = await this.#loadTasks(dir);
        const frameworkId = executor?.framework.frameworkId ?? unsegment(fdir);
        const executorId = executor?.executorId ?? unsegment(edir);
        if (executor === undefined && tasks.length > 0) {
          // The executor cannot be found again: its tasks are reported as ended with it.
          this.#logger.warn(
            { frameworkId, executorId, tasks: tasks.length },
            "tasks of an executor without a readable checkpoint",
          );
        }
        state.executors.push({ frameworkId, executorId, executor, tasks });
      }
    }
    return state;
  }

  /**
   * The tasks of an executor's directory: its journal's, and those of an older
   * agent's per-task files, folded into the journal (which is compacted).
   */
  async #loadTasks(dir: string): Promise<TaskCheckpoint[]> {
    const legacyDir = path.join(dir, "tasks");
    const legacy = new Map<string, string>();
    for (const name of await this.#list(legacyDir)) {
      if (!name.endsWith(".json")) continue;
      const task = await this.#read(path.join(legacyDir, name), TaskCheckpoint);
      if (task !== undefined)
        legacy.set(task.task.taskId, journalLine(task.task.taskId, toJson(task)));
    }
    const lines = await this.journals.recover(path.join(dir, TASK_JOURNAL), legacy, (where, err) =>
      this.#corrupt(where, err),
    );
    if (legacy.size > 0) await rm(legacyDir, { recursive: true, force: true });
    const tasks: TaskCheckpoint[] = [];
    for (const [taskId, line] of lines) {
      const where = `${path.join(dir, TASK_JOURNAL)} (task ${taskId})`;
      let value: unknown;
      try {
        value = (fromJson(line) as { task?: unknown }).task;
      } catch (err) {
        this.#corrupt(where, err);
        continue;
      }
      if (!Value.Check(TaskCheckpoint, value)) {
        const first = [...Value.Errors(TaskCheckpoint, value)][0];
        this.#corrupt(where, new Error(`${first?.path ?? ""} ${first?.message ?? "invalid"}`));
        continue;
      }
      tasks.push(value);
    }
    return tasks;
  }

  /** Entries of a directory; temporary files left by a crash in the middle of a write are removed. */
  async #list(dir: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const name of names) {
      if (!name.endsWith(".tmp")) out.push(name);
      else await rm(path.join(dir, name), { force: true }).catch(() => {});
    }
    return out;
  }

  async #read<T extends Parameters<typeof Value.Check>[0]>(
    file: string,
    schema: T,
  ): Promise<Static<T> | undefined> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.#corrupt(file, err);
      return undefined;
    }
    let value: unknown;
    try {
      value = fromJson(text);
    } catch (err) {
      this.#corrupt(file, err);
      return undefined;
    }
    if (!Value.Check(schema, value)) {
      const first = [...Value.Errors(schema, value)][0];
      this.#corrupt(file, new Error(`${first?.path ?? ""} ${first?.message ?? "invalid"}`));
      return undefined;
    }
    return value as Static<T>;
  }

  #corrupt(file: string, err: unknown): void {
    this.#metrics.inc("checkpoint_files_corrupt");
    this.#logger.warn(
      { file, reason: err instanceof Error ? err.message : String(err) },
      "corrupt checkpoint file skipped",
    );
  }
}

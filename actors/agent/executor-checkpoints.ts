/**
 * The executor manager's checkpointing: what it writes to the state store
 * (state-store.ts) when a task or an executor changes, and what it removes
 * when they are done with. Writes never block the manager: they are
 * coalesced per file, and a failed one is logged and counted
 * (`checkpoint_write_failures`); the next change of the same file writes it
 * again.
 */
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import type { FrameworkRef } from "../../protocol/agents.ts";
import type { TaskStatus } from "../../protocol/common.ts";
import type { ExecutorRecord, TaskRecord } from "./executor-record.ts";
import type { AgentStateStore, TaskCheckpoint } from "./state-store.ts";

/** A task record as checkpointed, with its unacknowledged updates. */
export function taskCheckpoint(r: TaskRecord, pending: readonly TaskStatus[]): TaskCheckpoint {
  return {
    frameworkId: r.frameworkId,
    executorId: r.executorId,
    role: r.role,
    task: r.task,
    status: r.status,
    launched: r.launched,
    killed: r.killed,
    pending: [...pending],
    acked: [...r.acked],
    acknowledged: r.acknowledged,
  };
}

/** Checkpoint writes of one executor manager; does nothing without a store. */
export class ExecutorCheckpoints {
  readonly #state: AgentStateStore | undefined;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  /** Frameworks checkpointed by this process (a framework's file never changes). */
  readonly #frameworks = new Set<string>();

  constructor(state: AgentStateStore | undefined, logger: Logger, metrics: Metrics) {
    this.#state = state;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  #failed(what: string, err: unknown, ids: Record<string, string>): void {
    this.#metrics.inc("checkpoint_write_failures");
    this.#logger.error({ err, ...ids }, `${what} checkpoint not written`);
  }

  /** Checkpoints a framework once per process. */
  framework(framework: FrameworkRef): void {
    const state = this.#state;
    const id = framework.frameworkId;
    if (state === undefined || this.#frameworks.has(id)) return;
    this.#frameworks.add(id);
    state.saveFramework(framework).catch((err) => {
      this.#frameworks.delete(id);
      this.#failed("framework", err, { frameworkId: id });
    });
  }

  /** A framework read back from the checkpoint: its file exists. */
  frameworkKnown(frameworkId: string): void {
    this.#frameworks.add(frameworkId);
  }

  /** Checkpoints a task; `produce` gives its state when the write starts (undefined: gone). */
  task(
    frameworkId: string,
    executorId: string,
    taskId: string,
    produce: () => TaskCheckpoint | undefined,
  ): Promise<void> {
    return (this.#state?.saveTask(frameworkId, executorId, taskId, produce) ?? Promise.resolve())
      .then(() => undefined)
      .catch((err) => this.#failed("task", err, { frameworkId, taskId }));
  }

  /** Checkpoints a spawned executor: its pid, start time, session and container. */
  executor(executor: ExecutorRecord): void {
    const state = this.#state;
    if (state === undefined || executor.pid === undefined || executor.session === undefined) return;
    state
      .saveExecutor({
        framework: executor.framework,
        executorId: executor.executorId,
        kind: executor.kind,
        pid: executor.pid,
        startTime: executor.startTime,
        session: executor.session,
        sandbox: executor.sandbox ?? "",
        ...(executor.token === undefined ? {} : { token: executor.token }),
        ...(executor.container === undefined
          ? {}
          : {
              container: {
                id: executor.container.id,
                ...(executor.container.root === undefined ? {} : { root: executor.container.root }),
                resources: executor.container.resources,
                overheadMem: executor.container.overheadMem,
              },
            }),
      })
      .catch((err) => this.#failed("executor", err, { executorId: executor.executorId }));
  }

  /** A task's stream is closed: its file goes, and its executor's when `executorGone()` then holds. */
  taskClosed(
    frameworkId: string,
    executorId: string,
    taskId: string,
    executorGone: () => boolean,
  ): void {
    this.#state
      ?.removeTask(frameworkId, executorId, taskId)
      .then(() =>
        executorGone() ? this.#state?.removeExecutor(frameworkId, executorId) : undefined,
      )
      .catch((err) => this.#logger.warn({ err, taskId }, "task checkpoint not removed"));
  }

  /** An executor terminated and has no task left. */
  executorClosed(frameworkId: string, executorId: string): void {
    this.#state
      ?.removeExecutor(frameworkId, executorId)
      .catch((err) => this.#logger.warn({ err, executorId }, "executor checkpoint not removed"));
  }

  /** A framework was shut down: its checkpoints go. */
  async frameworkClosed(frameworkId: string): Promise<void> {
    this.#frameworks.delete(frameworkId);
    await this.#state?.removeFramework(frameworkId);
  }

  /** Everything is forgotten (the master refused the agent). */
  clear(): void {
    this.#frameworks.clear();
    this.#state?.clear().catch((err) => this.#logger.error({ err }, "checkpoints not cleared"));
  }
}

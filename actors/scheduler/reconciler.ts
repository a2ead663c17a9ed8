/**
 * What the driver knows of its tasks, and the reconciliation it runs after
 * every resubscription (Mesos reconciliation.md): an implicit reconciliation
 * (`scheduler.reconcile` with no tasks: the master sends the latest state of
 * every task it knows), then an explicit one for every task the driver last
 * saw non-terminal, so that a task the new master does not know is reported
 * (TASK_UNKNOWN / TASK_UNREACHABLE / TASK_LOST) instead of forgotten. Tasks
 * without an answer, or answered TASK_UNKNOWN while the new leader's agents
 * may not be back yet, are asked for again with a doubling delay, a bounded
 * number of rounds.
 */
import { backoffDelay } from "../../infra/backoff.ts";
import type { Clock, Timer } from "../../infra/clock.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { isTerminalState, TaskState, type TaskStatus } from "../../protocol/common.ts";
import { AgoraError } from "../../protocol/errors.ts";

/** A task as a reconciliation names it. */
export interface TaskRef {
  taskId: string;
  agentId?: string;
}

/** The latest state of each non-terminal task, from the updates; bounded (the oldest go first). */
export class TaskBook {
  readonly #tasks = new Map<string, { state: TaskState; agentId?: string }>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#tasks.size;
  }

  /** The latest state the driver saw of a task it tracks. */
  stateOf(taskId: string): TaskState | undefined {
    return this.#tasks.get(taskId)?.state;
  }

  observe(status: TaskStatus): void {
    const known = this.#tasks.get(status.taskId);
    this.#tasks.delete(status.taskId);
    if (isTerminalState(status.state)) return;
    this.#tasks.set(status.taskId, {
      state: status.state,
      agentId: status.agentId ?? known?.agentId,
    });
    if (this.#tasks.size > this.#max) {
      const oldest = this.#tasks.keys().next().value;
      if (oldest !== undefined) this.#tasks.delete(oldest);
    }
  }

  /** Every tracked (non-terminal) task. */
  refs(): TaskRef[] {
    return Array.from(this.#tasks, ([taskId, t]) => ({ taskId, agentId: t.agentId }));
  }
}

/** Settings of a {@link Reconciler}. */
export interface ReconcilerOptions {
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  book: TaskBook;
  /** Sends one `scheduler.reconcile` (empty: implicit). */
  reconcile(tasks: TaskRef[]): Promise<void>;
  retryMs: number;
  retryMaxMs: number;
  /** Explicit rounds at most (the first included). */
  attempts: number;
  /** Tasks per explicit call. */
  batch: number;
}

/** Runs the reconciliation after a resubscription; a new one replaces the one under way. */
export class Reconciler {
  readonly #o: ReconcilerOptions;
  /** Tasks asked for and not answered yet, with the agent they were on. */
  readonly #pending = new Map<string, string | undefined>();
  #timer: Timer | undefined;
  #round = 0;

  constructor(options: ReconcilerOptions) {
    this.#o = options;
  }

  /** Tasks still waiting for an answer. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Starts over: implicit reconciliation, then explicit for every tracked task. */
  start(): void {
    this.cancel();
    for (const ref of this.#o.book.refs()) this.#pending.set(ref.taskId, ref.agentId);
    this.#o.metrics.inc("reconciliations");
    this.#send([], "implicit");
    this.#round = 0;
    this.#explicit();
  }

  /** An update arrived: a real answer settles its task. */
  observe(status: TaskStatus): void {
    if (!this.#pending.has(status.taskId)) return;
    // TASK_UNKNOWN right after a failover may only mean that the task's agent is not back yet.
    if (status.state === TaskState.Unknown) return;
    this.#pending.delete(status.taskId);
    if (this.#pending.size === 0) this.cancel();
  }

  cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#pending.clear();
  }

  #explicit(): void {
    if (this.#pending.size === 0) return;
    if (this.#round >= this.#o.attempts) {
      this.#o.metrics.inc("reconciliations_given_up");
      this.#o.logger.warn(
        { tasks: this.#pending.size, rounds: this.#round },
        "tasks still unanswered after reconciliation; giving up",
      );
      this.#pending.clear();
      return;
    }
    this.#round++;
    const refs = Array.from(this.#pending, ([taskId, agentId]) => ({ taskId, agentId }));
    for (let i = 0; i < refs.length; i += this.#o.batch) {
      this.#send(refs.slice(i, i + this.#o.batch), "explicit");
    }
    const delay = backoffDelay(
      { initialMs: this.#o.retryMs, maxMs: this.#o.retryMaxMs },
      this.#round - 1,
    );
    this.#timer = this.#o.clock.after(delay, () => {
      this.#timer = undefined;
      this.#explicit();
    });
  }

  #send(tasks: TaskRef[], kind: string): void {
    this.#o.reconcile(tasks).catch((err: unknown) => {
      const error = AgoraError.from(err);
      this.#o.metrics.inc("reconcile_calls_failed");
      this.#o.logger.debug(
        { kind, tasks: tasks.length, code: error.code, reason: error.message },
        "reconciliation call failed",
      );
    });
  }
}

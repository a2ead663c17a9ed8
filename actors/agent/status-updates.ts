/**
 * The agent's status update manager, as Mesos's: one stream per task. The
 * updates of a task go to the master in the order they were generated, one at
 * a time: the next is sent only after the previous one was acknowledged. An
 * unacknowledged update is re-sent after `retryMin`, doubling up to
 * `retryMax`. An update whose uuid the stream has already seen is a duplicate
 * and is ignored. When the terminal update of a task is acknowledged the
 * stream is closed.
 *
 * While the agent is disconnected from the master the manager is paused:
 * nothing is sent; on resume every stream's pending update is sent at once.
 */

import { Backoff } from "../../infra/backoff.ts";
import type { Clock } from "../../infra/clock.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { isTerminalState, type TaskStatus } from "../../protocol/common.ts";

/**
 * Where the streams are checkpointed, so that a restarted agent can resume
 * them ({@link StatusUpdateManager.recover}). The agent checkpoints each
 * task's pending updates in the task's file (state-store.ts); this store
 * tells it when a stream changed.
 */
export interface StatusUpdateStore {
  /** An update was added to the stream of its task. */
  appended(frameworkId: string, status: TaskStatus): void;
  /** The update with `uuid` of the task was acknowledged. */
  acknowledged(frameworkId: string, taskId: string, uuid: string): void;
  /** The stream of the task is closed and may be forgotten. */
  closed(frameworkId: string, taskId: string): void;
}

/** A store that keeps nothing: streams live in the agent's memory only. */
export const inMemoryStatusUpdateStore: StatusUpdateStore = {
  appended() {},
  acknowledged() {},
  closed() {},
};

/** Dependencies of a {@link StatusUpdateManager}. */
export interface StatusUpdateManagerOptions {
  clock: Clock;
  /** First retry interval in ms. */
  retryMinMs: number;
  /** Cap of the retry interval in ms. */
  retryMaxMs: number;
  /** Sends one update to the master (`agent.update`). */
  forward(frameworkId: string, status: TaskStatus): void;
  /** Called when a stream is closed (its terminal update was acknowledged). */
  onClosed?(frameworkId: string, taskId: string): void;
  store?: StatusUpdateStore;
  logger: Logger;
  metrics: Metrics;
}

/** The outcome of {@link StatusUpdateManager.update}. */
export type UpdateOutcome =
  /** Queued, and sent now when it is the first pending update of its stream. */
  | "queued"
  /** The uuid was seen before: ignored. */
  | "duplicate"
  /** The stream already holds a terminal update: ignored. */
  | "after-terminal";

interface Stream {
  readonly key: string;
  readonly frameworkId: string;
  readonly taskId: string;
  readonly pending: TaskStatus[];
  readonly seen: Set<string>;
  /** A terminal update was appended; nothing may follow it. */
  terminal: boolean;
  /** The retries of the head update: from retry-min, doubling up to retry-max. */
  readonly retry: Backoff;
}

/** Task ids are unique within a framework; a space never occurs in an id. */
function streamKey(frameworkId: string, taskId: string): string {
  return `${frameworkId} ${taskId}`;
}

/** Per-task status update streams with ordered, acknowledged, retried delivery. */
export class StatusUpdateManager {
  readonly #streams = new Map<string, Stream>();
  readonly #options: StatusUpdateManagerOptions;
  readonly #store: StatusUpdateStore;
  #paused = true;

  constructor(options: StatusUpdateManagerOptions) {
    this.#options = options;
    this.#store = options.store ?? inMemoryStatusUpdateStore;
  }

  /**
   * Adds an update (which must carry a uuid) to its task's stream.
   * Updates of a task that the manager does not know open a stream.
   */
  update(frameworkId: string, status: TaskStatus): UpdateOutcome {
    const uuid = status.uuid;
    if (uuid === undefined) throw new Error("a status update for the stream needs a uuid");
    const key = streamKey(frameworkId, status.taskId);
    let stream = this.#streams.get(key);
    if (stream?.seen.has(uuid)) {
      this.#options.metrics.inc("status_updates_duplicate");
      return "duplicate";
    }
    if (stream?.terminal) {
      this.#options.metrics.inc("status_updates_after_terminal");
      this.#options.logger.warn(
        { taskId: status.taskId, state: status.state, uuid },
        "status update after a terminal one ignored",
      );
      return "after-terminal";
    }
    if (stream === undefined) {
      stream = {
        key,
        frameworkId,
        taskId: status.taskId,
        pending: [],
        seen: new Set(),
        terminal: false,
        retry: this.#retryBackoff(),
      };
      this.#streams.set(key, stream);
    }
    stream.seen.add(uuid);
    stream.pending.push(status);
    if (isTerminalState(status.state)) stream.terminal = true;
    this.#store.appended(frameworkId, status);
    this.#options.metrics.inc("status_updates_received");
    if (stream.pending.length === 1) this.#sendHead(stream, true);
    return "queued";
  }

  /**
   * Restores a checkpointed stream after an agent restart: its unacknowledged
   * updates (sent again on {@link resume}, oldest first) and the uuids it has
   * seen, so that an executor's resent update is known as a duplicate.
   */
  recover(
    frameworkId: string,
    taskId: string,
    pending: readonly TaskStatus[],
    seen: Iterable<string> = [],
  ): void {
    const key = streamKey(frameworkId, taskId);
    if (this.#streams.has(key) || pending.length === 0) return;
    const stream: Stream = {
      key,
      frameworkId,
      taskId,
      pending: [...pending],
      seen: new Set(seen),
      terminal: pending.some((p) => isTerminalState(p.state)),
      retry: this.#retryBackoff(),
    };
    for (const p of pending) if (p.uuid !== undefined) stream.seen.add(p.uuid);
    this.#streams.set(key, stream);
    this.#options.metrics.inc("status_updates_recovered", pending.length);
    if (!this.#paused) this.#sendHead(stream, true);
  }

  /**
   * Handles an acknowledgement: when `uuid` is the stream's pending update it
   * is removed and the next one is sent (or the stream closed after a terminal
   * update). Returns the acknowledged update, or undefined when the ack does
   * not match (unknown task, stale or duplicate ack).
   */
  acknowledge(frameworkId: string, taskId: string, uuid: string): TaskStatus | undefined {
    const stream = this.#streams.get(streamKey(frameworkId, taskId));
    const head = stream?.pending[0];
    if (stream === undefined || head === undefined || head.uuid !== uuid) {
      this.#options.metrics.inc("status_update_acks_unexpected");
      return undefined;
    }
    stream.pending.shift();
    stream.retry.reset();
    this.#store.acknowledged(frameworkId, taskId, uuid);
    this.#options.metrics.inc("status_update_acks");
    if (stream.pending.length > 0) {
      this.#sendHead(stream, true);
    } else if (stream.terminal) {
      this.#streams.delete(stream.key);
      this.#store.closed(frameworkId, taskId);
      this.#options.onClosed?.(frameworkId, taskId);
    }
    return head;
  }

  /** Stops sending (the master is unreachable); pending updates stay. */
  pause(): void {
    this.#paused = true;
    for (const stream of this.#streams.values()) stream.retry.cancel();
  }

  /** Sends every stream's pending update now and resumes retrying. */
  resume(): void {
    this.#paused = false;
    for (const stream of this.#streams.values()) {
      stream.retry.reset();
      this.#sendHead(stream, true);
    }
  }

  /** Whether the manager is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Drops the streams of a framework (it was shut down; nobody will acknowledge). */
  cleanup(frameworkId: string): void {
    for (const [key, stream] of this.#streams) {
      if (stream.frameworkId !== frameworkId) continue;
      stream.retry.cancel();
      this.#streams.delete(key);
      this.#store.closed(frameworkId, stream.taskId);
    }
  }

  /** Drops every stream (the master refused the agent: nobody will acknowledge). */
  clear(): void {
    for (const stream of this.#streams.values()) {
      stream.retry.cancel();
      this.#store.closed(stream.frameworkId, stream.taskId);
    }
    this.#streams.clear();
  }

  /** Whether a task has an open stream. */
  has(frameworkId: string, taskId: string): boolean {
    return this.#streams.has(streamKey(frameworkId, taskId));
  }

  /** The unacknowledged updates of a task, oldest first. */
  pending(frameworkId: string, taskId: string): readonly TaskStatus[] {
    return this.#streams.get(streamKey(frameworkId, taskId))?.pending ?? [];
  }

  /** Number of open streams. */
  get size(): number {
    return this.#streams.size;
  }

  /** Cancels every timer; the streams stay as they are. */
  stop(): void {
    this.pause();
  }

  #retryBackoff(): Backoff {
    return new Backoff({
      clock: this.#options.clock,
      initialMs: this.#options.retryMinMs,
      maxMs: this.#options.retryMaxMs,
    });
  }

  #sendHead(stream: Stream, first: boolean): void {
    const head = stream.pending[0];
    if (head === undefined || this.#paused) return;
    if (!first) this.#options.metrics.inc("status_updates_retried");
    this.#options.forward(stream.frameworkId, head);
    const interval = stream.retry.schedule(() => {
      if (this.#streams.get(stream.key) !== stream) return;
      this.#options.logger.debug(
        { taskId: stream.taskId, uuid: head.uuid, intervalMs: interval },
        "status update retried",
      );
      this.#sendHead(stream, false);
    });
  }
}

/**
 * What the load framework records per task, in flat typed arrays indexed by
 * the task's sequence number (its id is `t<seq>`), so that a million tasks
 * cost a few tens of megabytes and no object each: when it was accepted, when
 * its TASK_RUNNING reached the scheduler, and how it ended.
 */
import { isTerminalState, TaskState } from "../../protocol/common.ts";
import { percentile, round } from "../stats.ts";

/** Where a task is, as far as the scheduler knows. */
const Phase = {
  None: 0,
  Accepted: 1,
  Running: 2,
  Finished: 3,
  Failed: 4,
} as const;

/** Latency figures in ms. */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Counters of a recorder. */
export interface RecorderCounts {
  /** Tasks sent in an accept. */
  accepted: number;
  /** Tasks whose TASK_RUNNING arrived (or that finished without one). */
  running: number;
  finished: number;
  /** Tasks that ended in another terminal state. */
  failed: number;
  /** Terminal states other than TASK_FINISHED, by state. */
  failedByState: Record<string, number>;
  /** Updates for a task id the recorder did not hand out. */
  unknownUpdates: number;
}

/** The id of task number `seq`. */
export function taskIdOf(seq: number): string {
  return `t${seq}`;
}

/** The number of a task id made by {@link taskIdOf}, or -1. */
function seqOf(taskId: string): number {
  if (taskId.charCodeAt(0) !== 116 /* t */) return -1;
  const seq = Number(taskId.slice(1));
  return Number.isInteger(seq) ? seq : -1;
}

/** Per-task times and outcomes of one load run. */
export class TaskRecorder {
  readonly capacity: number;
  readonly #acceptAt: Float64Array;
  readonly #runningAt: Float64Array;
  readonly #phase: Uint8Array;
  readonly #failedByState = new Map<string, number>();
  #accepted = 0;
  #running = 0;
  #finished = 0;
  #failed = 0;
  #unknown = 0;
  /** Tasks past TASK_RUNNING or ended: no longer in flight. */
  #settled = 0;
  /** performance.now() of the first accept, the last RUNNING and the last terminal update. */
  firstAcceptAt = Number.NaN;
  lastAcceptAt = Number.NaN;
  lastRunningAt = Number.NaN;
  lastEndAt = Number.NaN;
  #listeners = new Set<() => void>();

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#acceptAt = new Float64Array(capacity);
    this.#runningAt = new Float64Array(capacity);
    this.#phase = new Uint8Array(capacity);
  }

  /** Task `seq` was sent in an accept at `t`. */
  accepted(seq: number, t: number): void {
    if (this.#phase[seq] !== Phase.None) return;
    this.#phase[seq] = Phase.Accepted;
    this.#acceptAt[seq] = t;
    this.#accepted++;
    if (Number.isNaN(this.firstAcceptAt)) this.firstAcceptAt = t;
    this.lastAcceptAt = t;
  }

  /** A status update of a task reached the scheduler at `t`. */
  update(taskId: string, state: TaskState, t: number): void {
    const seq = seqOf(taskId);
    if (seq < 0 || seq >= this.capacity || this.#phase[seq] === Phase.None) {
      this.#unknown++;
      return;
    }
    const phase = this.#phase[seq]!;
    if (phase === Phase.Finished || phase === Phase.Failed) return;
    if (state === TaskState.Running) {
      if (phase === Phase.Accepted) this.#markRunning(seq, t);
      return;
    }
    if (!isTerminalState(state)) return;
    if (state === TaskState.Finished) {
      // a FINISHED whose RUNNING was not seen still ran; its latency stays unknown
      if (phase === Phase.Accepted) {
        this.#running++;
        this.#settled++;
      }
      this.#phase[seq] = Phase.Finished;
      this.#finished++;
    } else {
      if (phase === Phase.Accepted) this.#settled++;
      this.#phase[seq] = Phase.Failed;
      this.#failed++;
      this.#failedByState.set(state, (this.#failedByState.get(state) ?? 0) + 1);
    }
    this.lastEndAt = t;
    this.#notify();
  }

  #markRunning(seq: number, t: number): void {
    this.#phase[seq] = Phase.Running;
    this.#runningAt[seq] = t;
    this.#running++;
    this.#settled++;
    this.lastRunningAt = t;
    this.#notify();
  }

  /** Tasks accepted whose TASK_RUNNING (or end) has not arrived yet. */
  get inFlight(): number {
    return this.#accepted - this.#settled;
  }

  counts(): RecorderCounts {
    return {
      accepted: this.#accepted,
      running: this.#running,
      finished: this.#finished,
      failed: this.#failed,
      failedByState: Object.fromEntries(this.#failedByState),
      unknownUpdates: this.#unknown,
    };
  }

  /** accept → TASK_RUNNING at the scheduler, over the tasks that have both. */
  latency(): LatencySummary {
    const values: number[] = [];
    let sum = 0;
    for (let seq = 0; seq < this.capacity; seq++) {
      const running = this.#runningAt[seq]!;
      if (running === 0) continue;
      const ms = running - this.#acceptAt[seq]!;
      values.push(ms);
      sum += ms;
    }
    values.sort((a, b) => a - b);
    return {
      count: values.length,
      p50Ms: round(percentile(values, 0.5), 2),
      p90Ms: round(percentile(values, 0.9), 2),
      p99Ms: round(percentile(values, 0.99), 2),
      maxMs: round(values.at(-1) ?? 0, 2),
      meanMs: values.length === 0 ? 0 : round(sum / values.length, 2),
    };
  }

  /** Calls `fn` after every change of the counts; returns a function that removes it. */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #notify(): void {
    for (const fn of this.#listeners) fn();
  }
}

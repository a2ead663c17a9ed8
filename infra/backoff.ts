/**
 * One exponential backoff for every retry loop (agent registration, status
 * update retries, the scheduler's subscription, the executor's subscription,
 * the master's registry open, the UI's snapshot, `agora run`'s reads of an
 * idle task's output): `initial · factor^attempt`
 * capped at `max`, then jittered. Mesos's agent and scheduler driver draw the
 * delay uniformly in the upper half of that interval; that is `jitter: 0.5`.
 * Timers go through the injected {@link Clock}, so unit tests run it on the
 * VirtualClock.
 */
import type { Clock, Timer } from "./clock.ts";

/** The shape of a backoff. */
export interface BackoffPolicy {
  /** Delay of the first retry, in ms (before jitter). */
  initialMs: number;
  /** Cap of the delay, in ms (before jitter). */
  maxMs: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
  /**
   * Share of the delay that is random: the delay is drawn uniformly in
   * `[d · (1 - jitter), d]`. 0 is no jitter, 0.5 the upper half (Mesos), 1 full jitter.
   * @default 0
   */
  jitter?: number;
}

/** Largest exponent used: beyond it the cap is reached for any sane policy. */
const MAX_EXPONENT = 30;

/**
 * The delay of retry number `attempt` (0 = the first retry), in ms.
 * @param random a number in [0, 1); only used when the policy has jitter
 */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const factor = policy.factor ?? 2;
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), MAX_EXPONENT);
  const ceiling = Math.max(0, Math.min(policy.maxMs, policy.initialMs * factor ** exponent));
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0));
  if (jitter === 0) return ceiling;
  return ceiling * (1 - jitter) + random() * ceiling * jitter;
}

/** Options of {@link Backoff}. */
export interface BackoffOptions extends BackoffPolicy {
  clock: Clock;
  /** @default Math.random */
  random?: () => number;
}

/**
 * A backoff with its own attempt count: `next()` gives the next delay and
 * counts the attempt, `schedule(fn)` runs `fn` after it on the clock,
 * `reset()` starts over from the initial delay (after a success).
 */
export class Backoff {
  readonly #o: BackoffOptions;
  #attempt = 0;
  #timer: Timer | undefined;

  constructor(options: BackoffOptions) {
    this.#o = options;
  }

  /** Retries counted since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay of the next retry, without counting it. Not jittered. */
  peek(): number {
    return backoffDelay({ ...this.#o, jitter: 0 }, this.#attempt);
  }

  /** The delay of the next retry; counts the attempt. */
  next(): number {
    return backoffDelay(this.#o, this.#attempt++, this.#o.random);
  }

  /** Runs `fn` after the next delay (cancelling one scheduled before); returns the delay. */
  schedule(fn: () => void): number {
    const delay = this.next();
    this.#timer?.cancel();
    this.#timer = this.#o.clock.after(delay, () => {
      this.#timer = undefined;
      fn();
    });
    return delay;
  }

  /** Resolves after the next delay. */
  wait(): Promise<number> {
    return new Promise((resolve) => {
      const delay = this.schedule(() => resolve(delay));
    });
  }

  /** Cancels a scheduled retry (a pending `wait()` then never resolves). */
  cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Starts over from the initial delay and cancels a scheduled retry. */
  reset(): void {
    this.cancel();
    this.#attempt = 0;
  }
}

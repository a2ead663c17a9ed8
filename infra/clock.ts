/**
 * Time, injected: actors take a Clock so that tests and `agora simulate` can
 * run them on a virtual clock.
 */

/** A cancellable timer. */
export interface Timer {
  cancel(): void;
}

/** What an actor needs of time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms`. */
  after(ms: number, fn: () => void): Timer;
  /** Calls `fn` every `ms`. */
  every(ms: number, fn: () => void): Timer;
}

/** The longest delay one Node timer takes (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The real clock. Timers do not keep the process alive; a timeout may be of any length. */
export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    // Node fires a timeout longer than 2^31 - 1 ms at once: a long one is armed in steps
    let handle: ReturnType<typeof setTimeout>;
    const arm = (left: number) => {
      const step = Math.min(left, MAX_TIMEOUT_MS);
      handle = setTimeout(() => (left > step ? arm(left - step) : fn()), step);
      handle.unref();
    };
    arm(Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
  every(ms, fn) {
    const handle = setInterval(fn, ms);
    handle.unref();
    return { cancel: () => clearInterval(handle) };
  },
};

/** A virtual clock that moves only when told: for unit tests and simulations. */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void; every?: number }>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): Timer {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return { cancel: () => this.#timers.delete(id) };
  }

  every(ms: number, fn: () => void): Timer {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + ms, fn, every: Math.max(1, ms) });
    return { cancel: () => this.#timers.delete(id) };
  }

  /** The time of the next due timer, or undefined when none is set. */
  nextAt(): number | undefined {
    let next: number | undefined;
    for (const t of this.#timers.values()) if (next === undefined || t.at < next) next = t.at;
    return next;
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /** Moves time to `at`, firing due timers in order of their time, then of their creation. */
  advanceTo(at: number): void {
    for (;;) {
      let dueId: number | undefined;
      let due: { at: number; fn: () => void; every?: number } | undefined;
      for (const [id, t] of this.#timers) {
        if (t.at <= at && (due === undefined || t.at < due.at)) {
          dueId = id;
          due = t;
        }
      }
      if (due === undefined || dueId === undefined) break;
      this.#now = Math.max(this.#now, due.at);
      if (due.every !== undefined) due.at += due.every;
      else this.#timers.delete(dueId);
      due.fn();
    }
    this.#now = Math.max(this.#now, at);
  }
}

/**
 * The launch rate limit of a load run: a token bucket refilled at `rate`
 * tasks/s. A whole offer's worth of tasks may be taken while any token is
 * left (the bucket then goes into debt), so that pacing never splits an offer
 * into many small accepts; over a run the rate holds. Unlimited when no rate.
 */

/** Longest burst of saved-up tokens, in seconds of the rate. */
const BURST_SECONDS = 0.02;

export class Pacer {
  readonly rate: number | undefined;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  /** @param rate tasks per second; undefined or ≤ 0 = unlimited */
  constructor(rate: number | undefined, now: () => number = () => performance.now()) {
    this.rate = rate !== undefined && rate > 0 ? rate : undefined;
    this.#now = now;
    this.#last = now();
    this.#tokens = this.rate === undefined ? 0 : Math.max(1, this.rate * BURST_SECONDS);
  }

  #refill(): void {
    if (this.rate === undefined) return;
    const t = this.#now();
    const cap = Math.max(1, this.rate * BURST_SECONDS);
    this.#tokens = Math.min(cap, this.#tokens + ((t - this.#last) * this.rate) / 1000);
    this.#last = t;
  }

  /** Whether tasks may be launched now. */
  ready(): boolean {
    this.#refill();
    return this.rate === undefined || this.#tokens > 0;
  }

  /** Takes `n` tokens (possibly into debt). */
  take(n: number): void {
    if (this.rate !== undefined) this.#tokens -= n;
  }

  /** Milliseconds until {@link ready} holds again (0 when it holds). */
  waitMs(): number {
    this.#refill();
    if (this.rate === undefined || this.#tokens > 0) return 0;
    return ((1 - this.#tokens) * 1000) / this.rate;
  }
}

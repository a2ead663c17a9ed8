/**
 * Counters of an actor (messages handled, rejected, retried...). Cheap
 * enough for hot paths: one Map lookup per increment.
 */
export class Metrics {
  readonly #counters = new Map<string, number>();

  /** Adds `by` (default 1) to a counter. */
  inc(name: string, by = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + by);
  }

  /** The value of a counter (0 when never incremented). */
  get(name: string): number {
    return this.#counters.get(name) ?? 0;
  }

  /** All counters as a plain object. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counters);
  }
}

/**
 * A coarse timer wheel: items scheduled at a time land in the bucket of that
 * time's tick; one process-wide interval drains the due buckets. Thousands of
 * emulated agents thus share one timer instead of holding one each.
 *
 * Entries are never cancelled: the owner of an item keeps the time it is due
 * and ignores an entry whose time has moved (a stale entry).
 */
export class TickWheel<T> {
  readonly #tickMs: number;
  readonly #buckets = new Map<number, T[]>();
  /** The last tick drained. */
  #drained: number;
  #size = 0;

  constructor(tickMs: number, now: number) {
    if (!(tickMs > 0)) throw new RangeError("tickMs must be positive");
    this.#tickMs = tickMs;
    this.#drained = Math.floor(now / tickMs);
  }

  /** Entries waiting (stale ones included). */
  get size(): number {
    return this.#size;
  }

  /** Puts `item` in the first bucket drained at or after `at` (never one already drained). */
  schedule(at: number, item: T): void {
    const tick = Math.max(this.#drained + 1, Math.ceil(at / this.#tickMs));
    const bucket = this.#buckets.get(tick);
    if (bucket === undefined) this.#buckets.set(tick, [item]);
    else bucket.push(item);
    this.#size++;
  }

  /** Removes and passes to `fn` every item due at `now`, oldest tick first. */
  drain(now: number, fn: (item: T) => void): void {
    const until = Math.floor(now / this.#tickMs);
    while (this.#drained < until) {
      this.#drained++;
      const bucket = this.#buckets.get(this.#drained);
      if (bucket === undefined) continue;
      this.#buckets.delete(this.#drained);
      this.#size -= bucket.length;
      for (const item of bucket) fn(item);
    }
  }

  /** Drops every entry. */
  clear(): void {
    this.#buckets.clear();
    this.#size = 0;
  }
}

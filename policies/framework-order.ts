/**
 * One role's frameworks in an ordering's order while a cycle runs (with
 * {@link Ordering.compareFrameworks}), and those whose key changed since.
 *
 * The frameworks are kept in a ring. A framework that received something
 * moves to its new place while the others keep their order: either those it
 * passes shift by one, or those it does not pass shift by one the other way
 * round the ring and the ring turns, whichever are fewer. DRF's usual move
 * (the poorest gets the agent and is then the richest: first to last) costs
 * no shift at all.
 */
import type { CycleView, Ordering } from "./ordering.ts";
import type { CandidateState } from "./tally.ts";

type Compare = NonNullable<Ordering["compareFrameworks"]>;

/** The candidates in order, by position (an array is one too). */
export interface InOrder<T> {
  readonly length: number;
  at(k: number): T | undefined;
}

/** The candidates of `order` as a new array. */
export function listOf<T>(order: InOrder<T>): T[] {
  const out: T[] = [];
  for (let k = 0; k < order.length; k++) out.push(order.at(k)!);
  return out;
}

/** A role's frameworks in order, and those whose key changed since it was put in order. */
export class FrameworkOrder implements InOrder<CandidateState> {
  #ring: CandidateState[] = [];
  /** Where the first in order is in the ring. */
  #head = 0;
  /** Whether the frameworks were put in order (they are on first use). */
  sorted = false;
  /** The frameworks whose key changed since they were put in order. */
  readonly moved: CandidateState[] = [];

  get length(): number {
    return this.#ring.length;
  }

  /** The `k`-th in order (`k >= 0`). */
  at(k: number): CandidateState | undefined {
    return k < this.#ring.length ? this.#ring[this.#slot(k)] : undefined;
  }

  /** Takes `sorted` (kept, not copied) as the order; nothing has moved. */
  reset(sorted: CandidateState[]): void {
    this.#ring = sorted;
    this.#head = 0;
    this.sorted = true;
    this.moved.length = 0;
  }

  /**
   * Puts the moved frameworks back in order: the others kept their keys, so
   * they stay in order; one moved slides to its place, several are taken out
   * and put back one by one.
   */
  settle(view: CycleView, role: string, compare: Compare): void {
    const { moved } = this;
    if (moved.length === 1) {
      const p = this.#positionOf(moved.pop()!);
      if (p !== -1) this.#slide(p, view, role, compare);
      return;
    }
    if (moved.length > 1) {
      const rest = listOf(this).filter((c) => !moved.includes(c));
      for (const c of moved) {
        let lo = 0;
        let hi = rest.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (compare(view, role, rest[mid]!, c) < 0) lo = mid + 1;
          else hi = mid;
        }
        rest.splice(lo, 0, c);
      }
      this.#ring = rest;
      this.#head = 0;
    }
    moved.length = 0;
  }

  /** The ring index of position `k` (`-1 <= k <= length`). */
  #slot(k: number): number {
    const n = this.#ring.length;
    const i = this.#head + k;
    return i >= n ? i - n : i < 0 ? i + n : i;
  }

  /** The position of `c`, searched from the first (who received something was among the first). */
  #positionOf(c: CandidateState): number {
    for (let k = 0; k < this.#ring.length; k++) if (this.at(k) === c) return k;
    return -1;
  }

  /** Moves the one at position `p` to its place: a binary search on the side it must go to. */
  #slide(p: number, view: CycleView, role: string, compare: Compare): void {
    const n = this.#ring.length;
    const c = this.at(p)!;
    if (p + 1 < n && compare(view, role, this.at(p + 1)!, c) < 0) {
      // later: before the first of p + 2 .. that is not before it, searched from the end
      // (steps of 1, 2, 4, … back, then halving): last place after one comparison
      let lo = p + 2;
      let hi = n;
      for (let step = 1; hi - step >= lo; step *= 2) {
        const probe = hi - step;
        if (compare(view, role, this.at(probe)!, c) < 0) {
          lo = probe + 1;
          break;
        }
        hi = probe;
      }
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compare(view, role, this.at(mid)!, c) < 0) lo = mid + 1;
        else hi = mid;
      }
      this.#move(p, lo - 1);
    } else if (p > 0 && compare(view, role, this.at(p - 1)!, c) > 0) {
      // earlier: at the first of .. p - 2 that is after it
      let lo = 0;
      let hi = p - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compare(view, role, this.at(mid)!, c) < 0) lo = mid + 1;
        else hi = mid;
      }
      this.#move(p, lo);
    }
  }

  /** Moves the one at position `p` to position `q`; the others keep their order. */
  #move(p: number, q: number): void {
    const ring = this.#ring;
    const n = ring.length;
    const c = ring[this.#slot(p)]!;
    const passed = Math.abs(q - p);
    if (passed <= n - 1 - passed) {
      // those it passes shift by one towards where it was
      const step = q > p ? 1 : -1;
      for (let k = p; k !== q; k += step) ring[this.#slot(k)] = ring[this.#slot(k + step)]!;
      ring[this.#slot(q)] = c;
      return;
    }
    // the others shift by one the other way round the ring, which turns by one; each
    // one is read before its slot is written (the first write goes to where `c` was)
    if (q > p) {
      for (let k = p - 1; k >= 0; k--) ring[this.#slot(k + 1)] = ring[this.#slot(k)]!;
      for (let k = n - 1; k > q; k--) ring[this.#slot(k + 1)] = ring[this.#slot(k)]!;
      ring[this.#slot(q + 1)] = c;
      this.#head = this.#slot(1);
    } else {
      for (let k = p + 1; k < n; k++) ring[this.#slot(k - 1)] = ring[this.#slot(k)]!;
      for (let k = 0; k < q; k++) ring[this.#slot(k - 1)] = ring[this.#slot(k)]!;
      ring[this.#slot(q - 1)] = c;
      this.#head = this.#slot(-1);
    }
  }
}

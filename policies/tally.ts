/**
 * Running sums for the allocation cycle ({@link allocateWith} in
 * `engine.ts`): what a framework, a role or a subtree of roles holds, kept
 * as numbers (thousandths per resource name of the cluster total) so that
 * dominant shares cost a few divisions, with the resource set itself folded
 * only when an ordering asks for it.
 */
import { Resources } from "../protocol/resources.ts";
import type { Candidate } from "./ordering.ts";
import {
  type DeclineFilterIndex,
  type FrameworkStanding,
  filterIndexOf,
  isFilteredIn,
} from "./types.ts";

/** Scalar amounts in thousandths per resource name of the cluster total: shares as numbers. */
export class Scale {
  readonly #index = new Map<string, number>();
  readonly #totals: number[] = [];
  #last: Resources | undefined;
  #lastVector = new Float64Array(0);

  constructor(total: Resources) {
    total.forEachScalar((name, milli) => {
      const i = this.#index.get(name);
      if (i === undefined) {
        this.#index.set(name, this.#totals.length);
        this.#totals.push(milli);
      } else {
        this.#totals[i]! += milli;
      }
    });
  }

  /**
   * The scalars of `r` per name of the total (names the total lacks are
   * ignored). Read-only: the vector of the previous call is reused for the
   * same set (agents of one type share their resource sets).
   */
  vector(r: Resources): Float64Array {
    if (r === this.#last) return this.#lastVector;
    const v = new Float64Array(this.#totals.length);
    if (v.length > 0) {
      r.forEachScalar((name, milli) => {
        const i = this.#index.get(name);
        if (i !== undefined) v[i]! += milli;
      });
    }
    this.#last = r;
    this.#lastVector = v;
    return v;
  }

  /** A vector of zeros. */
  zeros(): Float64Array {
    return new Float64Array(this.#totals.length);
  }

  /** The dominant share of a vector: exactly `dominantShare` (shares.ts) of the set it sums. */
  share(v: Float64Array): number {
    let share = 0;
    for (let i = 0; i < v.length; i++) {
      const s = v[i]! / this.#totals[i]!;
      if (s > share) share = s;
    }
    return share;
  }
}

/** A running sum with its allocation count: numbers at once, the resource set when asked for. */
export class Tally {
  readonly #scale: Scale;
  readonly #vector: Float64Array;
  #sum: Resources;
  /** What was added since the sum was last folded, as runs of one set added `#times[k]` times. */
  #pending: Resources[] = [];
  #times: number[] = [];
  #share: number | undefined;
  /** Allocations counted here (roles and subtrees). */
  count = 0;

  constructor(scale: Scale, base: Resources) {
    this.#scale = scale;
    this.#sum = base;
    this.#vector = base.isEmpty() ? scale.zeros() : scale.vector(base).slice();
  }

  /** Adds `r`, whose vector is `v`. */
  add(r: Resources, v: Float64Array): void {
    // agents of one type share their resource sets: a run of one set is kept as a count
    const last = this.#pending.length - 1;
    if (last >= 0 && this.#pending[last] === r) this.#times[last]! += 1;
    else {
      this.#pending.push(r);
      this.#times.push(1);
    }
    const vector = this.#vector;
    for (let i = 0; i < v.length; i++) vector[i]! += v[i]!;
    this.#share = undefined;
  }

  /** The dominant share of the sum in the cluster total. */
  get share(): number {
    this.#share ??= this.#scale.share(this.#vector);
    return this.#share;
  }

  /** The sum as a resource set. */
  get resources(): Resources {
    if (this.#pending.length > 0) {
      let sum = this.#sum;
      for (let k = 0; k < this.#pending.length; k++) {
        const r = this.#pending[k]!;
        for (let n = this.#times[k]!; n > 0; n--) sum = sum.add(r);
      }
      this.#sum = sum;
      this.#pending = [];
      this.#times = [];
    }
    return this.#sum;
  }
}

/** A {@link Candidate} as the cycle keeps it. */
export class CandidateState implements Candidate {
  readonly standing: FrameworkStanding;
  readonly suppressed: ReadonlySet<string>;
  allocations: number;
  /** What it holds per role. */
  readonly tallies = new Map<string, Tally>();
  /** The orders of the roles it wants offers for (it moves in them when it gets something). */
  readonly orders: Array<{ readonly moved: CandidateState[] }> = [];
  #allocation: Map<string, Resources> | undefined;
  #filterIndex: DeclineFilterIndex | undefined;
  /** The role last asked about and its tally (a cycle asks about one role many times). */
  #lastRole: string | undefined;
  #lastTally: Tally | undefined;

  constructor(standing: FrameworkStanding) {
    this.standing = standing;
    this.suppressed = new Set(standing.suppressedRoles);
    this.allocations = standing.allocations ?? 0;
  }

  get allocation(): Map<string, Resources> {
    if (this.#allocation === undefined) {
      this.#allocation = new Map();
      for (const [role, tally] of this.tallies) this.#allocation.set(role, tally.resources);
    }
    return this.#allocation;
  }

  /** Adds what it was allocated for `role`. */
  add(scale: Scale, role: string, r: Resources, v: Float64Array): void {
    let tally = role === this.#lastRole ? this.#lastTally : this.tallies.get(role);
    if (tally === undefined) {
      tally = new Tally(scale, Resources.empty());
      this.tallies.set(role, tally);
    }
    this.#lastRole = role;
    this.#lastTally = tally;
    tally.add(r, v);
    this.#allocation = undefined;
  }

  /** Whether its decline filters keep `resources` of the agent from being offered to `role`. */
  filtered(agentId: string, resources: Resources, now: number, role: string): boolean {
    const { filters, filterIndex } = this.standing;
    if (filters.length === 0) return false;
    this.#filterIndex ??= filterIndex ?? filterIndexOf(filters);
    return isFilteredIn(this.#filterIndex, agentId, resources, now, role);
  }

  /** Its dominant share in `role`. */
  shareIn(role: string): number {
    if (role !== this.#lastRole) {
      this.#lastRole = role;
      this.#lastTally = this.tallies.get(role);
    }
    return this.#lastTally?.share ?? 0;
  }
}

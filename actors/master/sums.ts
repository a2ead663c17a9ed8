/**
 * Sums of resource sets kept as numbers, for the master's running totals:
 * adding or taking out a part changes a few numbers and creates no resource
 * set; the set is built when asked for and kept until the next change.
 *
 * - {@link ResourceSum}: the cluster total, with the agents' port ranges.
 * - {@link RoleSums}: a framework's offered or used resources per role, as
 *   quantities (scalars only: the same port range on two agents is two
 *   different resources, which a range set would merge into one).
 */
import { Resources } from "../../protocol/resources.ts";

/** Builds the set of scalar sums (thousandths by key). */
function scalarsOf(milli: ReadonlyMap<string, number>): Resources {
  const json: Record<string, number> = {};
  for (const [key, value] of milli) json[key] = value / 1000;
  return Resources.fromJSON(json);
}

/**
 * A sum of resource sets that parts can be taken out of again: scalars are
 * summed exactly (thousandths); the range lists (each agent's ports) are
 * counted by value, and their union is rebuilt only when a list appears or
 * disappears, since a union cannot be subtracted from.
 */
export class ResourceSum {
  /** Key (`name`, `name(role)`, or with a reservation or volume: the JSON key) → thousandths. */
  readonly #scalars = new Map<string, number>();
  /** Key → the distinct range lists under it, by their JSON, with how often each was added. */
  readonly #ranges = new Map<string, Map<string, { ranges: number[][]; count: number }>>();
  #value: Resources | undefined = Resources.empty();

  add(r: Resources): void {
    this.#apply(r, 1);
  }

  /** Takes out a set added before. */
  remove(r: Resources): void {
    this.#apply(r, -1);
  }

  /** The sum, as a resource set (built again only after a change). */
  get value(): Resources {
    if (this.#value === undefined) {
      const json: Record<string, number | number[][]> = {};
      for (const [key, milli] of this.#scalars) json[key] = milli / 1000;
      for (const [key, lists] of this.#ranges) {
        const all: number[][] = [];
        for (const { ranges } of lists.values()) all.push(...ranges);
        json[key] = all;
      }
      this.#value = Resources.fromJSON(json);
    }
    return this.#value;
  }

  #apply(r: Resources, sign: 1 | -1): void {
    if (r.isEmpty()) return;
    this.#value = undefined;
    r.forEachScalar((_name, milli, _role, key) => {
      const sum = (this.#scalars.get(key) ?? 0) + sign * milli;
      if (sum > 0) this.#scalars.set(key, sum);
      else this.#scalars.delete(key);
    });
    for (const [key, value] of Object.entries(r.toJSON())) {
      if (typeof value === "number") continue;
      const id = JSON.stringify(value);
      let lists = this.#ranges.get(key);
      if (lists === undefined) {
        lists = new Map();
        this.#ranges.set(key, lists);
      }
      const entry = lists.get(id);
      const count = (entry?.count ?? 0) + sign;
      if (count > 0) lists.set(id, { ranges: entry?.ranges ?? value, count });
      else lists.delete(id);
      if (lists.size === 0) this.#ranges.delete(key);
    }
  }
}

/**
 * One role's sum: thousandths by key, plus sets added and not folded in yet
 * (how many times each, by identity), and the set once built.
 */
interface RoleSum {
  readonly milli: Map<string, number>;
  /** Sets with scalars added since the last fold; their scalars are not in `milli` yet. */
  readonly pending: Map<Resources, number>;
  value: Resources | undefined;
}

/** Distinct sets kept pending at most; beyond, they are folded into the thousandths. */
const PENDING_MAX = 64;

/** `into` plus the scalars of every pending set of `sum` (exact: integer thousandths). */
function addPending(sum: RoleSum, into: Map<string, number>): Map<string, number> {
  for (const [r, times] of sum.pending) {
    r.forEachScalar((_name, milli, _reservation, key) => {
      into.set(key, (into.get(key) ?? 0) + milli * times);
    });
  }
  return into;
}

/** Moves the pending sets into the thousandths. */
function fold(sum: RoleSum): void {
  if (sum.pending.size === 0) return;
  addPending(sum, sum.milli);
  sum.pending.clear();
}

/**
 * Scalar sums per role (a framework's offered or used resources): `add`
 * counts the quantities of a set, `subtract` takes them out again (saturating
 * at zero per name and reservation, as `Resources.subtractSaturating`); a
 * role whose sum is empty is not listed. Sets are counted by identity until
 * the sum is read (offers of one cycle share a few sets): adding one and
 * taking the same one out again is one map update, and the same as the
 * saturating subtraction since the sum holds it.
 */
export class RoleSums {
  readonly #roles = new Map<string, RoleSum>();

  /** Adds the scalars of `r` to `role`'s sum. */
  add(role: string, r: Resources): void {
    if (r.quantities().isEmpty()) return;
    let sum = this.#roles.get(role);
    if (sum === undefined) {
      sum = { milli: new Map(), pending: new Map(), value: undefined };
      this.#roles.set(role, sum);
    }
    const times = sum.pending.get(r);
    if (times === undefined && sum.pending.size >= PENDING_MAX) fold(sum);
    sum.pending.set(r, (times ?? 0) + 1);
    sum.value = undefined;
  }

  /** Takes the scalars of `r` out of `role`'s sum. */
  subtract(role: string, r: Resources): void {
    const sum = this.#roles.get(role);
    if (sum === undefined) return;
    const times = sum.pending.get(r);
    if (times !== undefined) {
      if (times > 1) sum.pending.set(r, times - 1);
      else sum.pending.delete(r);
      sum.value = undefined;
      if (sum.milli.size === 0 && sum.pending.size === 0) this.#roles.delete(role);
      return;
    }
    fold(sum);
    r.forEachScalar((_name, milli, _reservation, key) => {
      const current = sum.milli.get(key);
      if (current === undefined) return;
      if (current > milli) sum.milli.set(key, current - milli);
      else sum.milli.delete(key);
      sum.value = undefined;
    });
    if (sum.milli.size === 0) this.#roles.delete(role);
  }

  /** The number of roles with a sum. */
  get size(): number {
    return this.#roles.size;
  }

  /** `role`'s sum, or undefined when it holds nothing. */
  get(role: string): Resources | undefined {
    const sum = this.#roles.get(role);
    if (sum === undefined) return undefined;
    sum.value ??= scalarsOf(
      sum.pending.size === 0 ? sum.milli : addPending(sum, new Map(sum.milli)),
    );
    return sum.value;
  }

  /** The roles and their sums. */
  *entries(): IterableIterator<[string, Resources]> {
    for (const role of this.#roles.keys()) yield [role, this.get(role)!];
  }

  /** The sums. */
  *values(): IterableIterator<Resources> {
    for (const role of this.#roles.keys()) yield this.get(role)!;
  }

  [Symbol.iterator](): IterableIterator<[string, Resources]> {
    return this.entries();
  }
}

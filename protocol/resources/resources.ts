/**
 * The {@link Resources} value type: an immutable bag of Mesos-style resources.
 *
 * A resource has a name (`cpus`, `mem`, `disk`, `gpus`, `ports`, or a custom
 * name), a role (`*` for unreserved, or a role such as `web` or `eng/web` it is
 * reserved to) and a value that is either a scalar or a set of integer ranges.
 * Mem and disk are in MB. Scalars are fixed point, exact to three decimals like
 * Mesos: they are stored as integer thousandths ("milli-units").
 *
 * The text form is the Mesos one, e.g. `cpus:4;mem:4096;cpus(web):2;ports:[31000-32000]`.
 * The JSON form is `{"cpus": 4, "cpus(web)": 2, "ports": [[31000, 32000]]}` (both in text.ts).
 */

import type { ResourcesJson } from "../common.ts";
import {
  Builder,
  compareRangesEntries,
  compareScalarEntries,
  findByKey,
  indexOfKey,
  inOrder,
  LINEAR_LOOKUP_MAX,
  type RangesEntry,
  type ResourceEntry,
  type ScalarEntry,
} from "./entries.ts";
import {
  assertRole,
  compareRoles,
  invalid,
  type Persistence,
  type Reservation,
  type ResourceIdentity,
  UNRESERVED_ROLE,
} from "./identity.ts";
import { containsRanges, equalRanges, subtractRanges, unionRanges } from "./ranges.ts";
import { formatJson, formatText, parseJson, parseText } from "./text.ts";

/**
 * Builds a {@link Resources} from entries with unique keys, non-zero scalars and
 * non-empty ranges. Set by the class's static block (the constructor is private).
 */
let makeResources: (scalars: readonly ScalarEntry[], ranges: readonly RangesEntry[]) => Resources;

/** The set a builder holds. */
function build(builder: Builder): Resources {
  return makeResources(Array.from(builder.scalars.values()), Array.from(builder.ranges.values()));
}

/**
 * An immutable bag of resources with Mesos semantics. Every operation returns
 * a new object (or `this` when nothing changes).
 *
 * Build one with {@link Resources.parse}, {@link Resources.fromJSON},
 * {@link Resources.scalars} or {@link Resources.empty}.
 */
export class Resources {
  // Entries in canonical order (see toString), looked up with `findByKey`.
  readonly #scalarList: readonly ScalarEntry[];
  readonly #rangesList: readonly RangesEntry[];
  /** `quantities()`, once asked for. */
  #quantities: Resources | undefined;
  /** `hasReservations()`, once asked for (a set never changes). */
  #reserved: boolean | undefined;

  private constructor(scalars: readonly ScalarEntry[], ranges: readonly RangesEntry[]) {
    this.#scalarList = inOrder(scalars, compareScalarEntries);
    this.#rangesList = inOrder(ranges, compareRangesEntries);
  }

  static readonly #EMPTY: Resources = new Resources([], []);

  static {
    makeResources = (scalars, ranges) =>
      scalars.length === 0 && ranges.length === 0
        ? Resources.#EMPTY
        : new Resources(scalars, ranges);
  }

  // -------------------------------------------------------------------------
  // Constructors

  /** The empty resources. */
  static empty(): Resources {
    return Resources.#EMPTY;
  }

  /**
   * Parses a Mesos resource string such as
   * `cpus:4;mem:4096;cpus(web):2;ports:[31000-32000,33000-33010]`.
   *
   * Parts are separated by `;`; whitespace around tokens is tolerated and empty
   * parts are skipped. A role in parentheses reserves the resource (`*` is
   * unreserved). A range list may hold single values (`[80]`). The same name
   * and role given twice is added together. Scalars must be finite and >= 0 and
   * are rounded to the nearest thousandth.
   *
   * @throws AgoraError with code `INVALID_RESOURCES` naming the offending part,
   *   e.g. `invalid resource "cpus:abc": value is not a number`.
   */
  static parse(text: string): Resources {
    return build(parseText(text));
  }

  /**
   * Builds resources from their JSON form (see {@link Resources.toJSON}):
   * `{"cpus": 2, "cpus(web)": 1, "ports": [[31000, 32000]]}`.
   *
   * @throws AgoraError with code `INVALID_RESOURCES` naming the bad key.
   */
  static fromJSON(obj: unknown): Resources {
    return build(parseJson(obj));
  }

  /**
   * Convenience constructor for scalars, e.g. `Resources.scalars({cpus: 1, mem: 128})`.
   * Keys may carry a role like in JSON (`"cpus(web)"`).
   *
   * @throws AgoraError with code `INVALID_RESOURCES` naming the bad key.
   */
  static scalars(values: Readonly<Record<string, number>>): Resources {
    return Resources.fromJSON(values);
  }

  // -------------------------------------------------------------------------
  // Arithmetic

  /** The sum of this and `other`: scalars are added, ranges are merged, per name and role. */
  add(other: Resources): Resources {
    if (other.isEmpty()) return this;
    if (this.isEmpty()) return other;
    let scalars = this.#scalarList;
    if (other.#scalarList.length > 0) {
      const out = scalars.slice();
      for (const e of other.#scalarList) {
        const i = indexOfKey(out.length > LINEAR_LOOKUP_MAX ? scalars : out, e.key);
        if (i === -1) out.push(e);
        else {
          const prev = out[i]!;
          out[i] = {
            key: prev.key,
            name: prev.name,
            role: prev.role,
            reservation: prev.reservation,
            persistence: prev.persistence,
            milli: prev.milli + e.milli,
          };
        }
      }
      scalars = out;
    }
    let ranges = this.#rangesList;
    if (other.#rangesList.length > 0) {
      const out = ranges.slice();
      for (const e of other.#rangesList) {
        const i = indexOfKey(out.length > LINEAR_LOOKUP_MAX ? ranges : out, e.key);
        if (i === -1) out.push(e);
        else {
          const prev = out[i]!;
          out[i] = { ...prev, ranges: unionRanges(prev.ranges, e.ranges) };
        }
      }
      ranges = out;
    }
    return makeResources(scalars, ranges);
  }

  /**
   * This minus `other`, which must be contained in this (see {@link Resources.contains}).
   *
   * @throws AgoraError with code `INVALID_RESOURCES` when `other` is not contained.
   */
  subtract(other: Resources): Resources {
    if (!this.contains(other)) {
      throw invalid(
        `cannot subtract "${other.toString()}" from "${this.toString()}": not contained`,
      );
    }
    return this.subtractSaturating(other);
  }

  /**
   * This minus `other`, removing only what is there: scalars floor at zero and
   * only the overlapping parts of ranges are removed. Never throws.
   */
  subtractSaturating(other: Resources): Resources {
    if (other.isEmpty() || this.isEmpty()) return this;
    if (other === this) return Resources.#EMPTY;
    let changed = false;
    const scalars: ScalarEntry[] = [];
    for (const e of this.#scalarList) {
      const o = findByKey(other.#scalarList, e.key);
      if (o === undefined) scalars.push(e);
      else {
        changed = true;
        if (o.milli < e.milli) scalars.push({ ...e, milli: e.milli - o.milli });
      }
    }
    let ranges: readonly RangesEntry[] = this.#rangesList;
    if (other.#rangesList.length > 0 && ranges.length > 0) {
      const out: RangesEntry[] = [];
      for (const e of this.#rangesList) {
        const o = findByKey(other.#rangesList, e.key);
        if (o === undefined) {
          out.push(e);
          continue;
        }
        const rest = subtractRanges(e.ranges, o.ranges);
        if (rest.length === e.ranges.length && equalRanges(rest, e.ranges)) {
          out.push(e);
          continue;
        }
        changed = true;
        if (rest.length > 0) out.push({ ...e, ranges: rest });
      }
      ranges = out;
    }
    return changed ? makeResources(scalars, ranges) : this;
  }

  /**
   * Whether this holds at least `other`: for every name and role of `other`,
   * this has a scalar at least as large or ranges that include all of its
   * ranges. Does not allocate; a set contains itself at once.
   */
  contains(other: Resources): boolean {
    if (other === this) return true;
    const scalars = other.#scalarList;
    for (let i = 0; i < scalars.length; i++) {
      const e = scalars[i]!;
      const mine = findByKey(this.#scalarList, e.key);
      if (mine === undefined || mine.milli < e.milli) return false;
    }
    const ranges = other.#rangesList;
    for (let i = 0; i < ranges.length; i++) {
      const e = ranges[i]!;
      const mine = findByKey(this.#rangesList, e.key);
      if (mine === undefined || !containsRanges(mine.ranges, e.ranges)) return false;
    }
    return true;
  }

  /** Whether there is nothing here: all scalars zero and no ranges. */
  isEmpty(): boolean {
    return this.#scalarList.length === 0 && this.#rangesList.length === 0;
  }

  /** Whether this and `other` hold exactly the same resources, by name and role. */
  equals(other: Resources): boolean {
    if (this === other) return true;
    if (
      this.#scalarList.length !== other.#scalarList.length ||
      this.#rangesList.length !== other.#rangesList.length
    ) {
      return false;
    }
    for (const e of this.#scalarList) {
      if (findByKey(other.#scalarList, e.key)?.milli !== e.milli) return false;
    }
    for (const e of this.#rangesList) {
      const o = findByKey(other.#rangesList, e.key);
      if (o === undefined || !equalRanges(e.ranges, o.ranges)) return false;
    }
    return true;
  }

  // -------------------------------------------------------------------------
  // Roles

  /** Only the resources reserved to exactly `role` (`*` gives the unreserved ones). */
  reserved(role: string): Resources {
    return this.#filter((r) => r === role);
  }

  /** Only the unreserved resources (role `*`). */
  unreserved(): Resources {
    return this.reserved(UNRESERVED_ROLE);
  }

  /** The roles present, `*` first and the others sorted. */
  roles(): string[] {
    const set = new Set<string>();
    for (const e of this.#scalarList) set.add(e.role);
    for (const e of this.#rangesList) set.add(e.role);
    return Array.from(set).sort(compareRoles);
  }

  /** What a framework of `role` may be offered: the unreserved resources plus those reserved to exactly `role`. */
  allocatableTo(role: string): Resources {
    return this.#filter((r) => r === UNRESERVED_ROLE || r === role);
  }

  /** The same resources, all unreserved (role `*`). */
  flatten(): Resources {
    return this.#moveTo(UNRESERVED_ROLE);
  }

  /**
   * The same resources, all reserved to `role` (`*` unreserves them).
   *
   * @throws AgoraError with code `INVALID_RESOURCES` when `role` is not a valid role.
   */
  withRole(role: string): Resources {
    assertRole(role);
    return this.#moveTo(role);
  }

  /** Alias of {@link Resources.withRole}. */
  reserve(role: string): Resources {
    return this.withRole(role);
  }

  // -------------------------------------------------------------------------
  // Dynamic reservations and persistent volumes (Mesos offer operations)

  /**
   * The same resources, all dynamically reserved to `role` with `reservation`
   * (what a RESERVE operation makes of unreserved resources).
   *
   * @throws AgoraError INVALID_RESOURCES when `role` is `*` or not a valid role
   */
  withReservation(role: string, reservation: Reservation): Resources {
    assertRole(role);
    if (role === UNRESERVED_ROLE)
      throw invalid(`a dynamic reservation needs a role other than "*"`);
    return this.#map(() => ({ role, reservation, persistence: undefined }));
  }

  /**
   * The same disk as persistent volume `persistence` (what a CREATE operation
   * makes of reserved disk); the other resources are left as they are.
   */
  withPersistence(persistence: Persistence): Resources {
    return this.#map((e) =>
      e.name === "disk" && e.role !== UNRESERVED_ROLE
        ? { role: e.role, reservation: e.reservation, persistence }
        : e,
    );
  }

  /** The same resources without their persistence (what DESTROY leaves of volumes). */
  withoutPersistence(): Resources {
    return this.#map((e) =>
      e.persistence === undefined
        ? e
        : { role: e.role, reservation: e.reservation, persistence: undefined },
    );
  }

  /**
   * What the agent checkpoints (Mesos's checkpointed resources): the
   * dynamically reserved resources and the persistent volumes.
   */
  checkpointed(): Resources {
    return this.#filterEntries((e) => e.reservation !== undefined || e.persistence !== undefined);
  }

  /** The resources that are neither dynamically reserved nor persistent volumes. */
  withoutCheckpointed(): Resources {
    return this.#filterEntries((e) => e.reservation === undefined && e.persistence === undefined);
  }

  /**
   * What the checkpointed resources here were made from: volumes lose their
   * persistence and dynamic reservations become unreserved (`*`).
   */
  base(): Resources {
    return this.#map((e) =>
      e.reservation === undefined && e.persistence === undefined
        ? e
        : {
            role: e.reservation === undefined ? e.role : UNRESERVED_ROLE,
            reservation: undefined,
            persistence: undefined,
          },
    );
  }

  /** Every resource with its identity and value, in canonical order. */
  entries(): ResourceEntry[] {
    const out: ResourceEntry[] = [];
    for (const e of this.#scalarList) {
      out.push({
        name: e.name,
        key: e.key,
        role: e.role,
        reservation: e.reservation,
        persistence: e.persistence,
        scalar: e.milli / 1000,
        ranges: undefined,
      });
    }
    for (const e of this.#rangesList) {
      const ranges: Array<[number, number]> = [];
      for (let i = 0; i < e.ranges.length; i += 2) ranges.push([e.ranges[i]!, e.ranges[i + 1]!]);
      out.push({
        name: e.name,
        key: e.key,
        role: e.role,
        reservation: e.reservation,
        persistence: e.persistence,
        scalar: undefined,
        ranges,
      });
    }
    return out;
  }

  /** The persistent volumes here: role, persistence and size (MB). */
  volumes(): Array<{ role: string; persistence: Persistence; mb: number }> {
    const out: Array<{ role: string; persistence: Persistence; mb: number }> = [];
    for (const e of this.#scalarList) {
      if (e.persistence !== undefined) {
        out.push({ role: e.role, persistence: e.persistence, mb: e.milli / 1000 });
      }
    }
    return out;
  }

  #filterEntries(keep: (e: ScalarEntry | RangesEntry) => boolean): Resources {
    let all = true;
    for (const e of this.#scalarList) if (!keep(e)) all = false;
    for (const e of this.#rangesList) if (!keep(e)) all = false;
    if (all) return this;
    return makeResources(this.#scalarList.filter(keep), this.#rangesList.filter(keep));
  }

  /** Each entry moved to the identity `fn` gives it (`e` itself: unchanged). */
  #map(fn: (e: ScalarEntry | RangesEntry) => ResourceIdentity): Resources {
    const builder = new Builder();
    let changed = false;
    for (const e of this.#scalarList) {
      const to = fn(e);
      if (to !== e) changed = true;
      builder.addEntry(e, to);
    }
    for (const e of this.#rangesList) {
      const to = fn(e);
      if (to !== e) changed = true;
      builder.addEntry(e, to);
    }
    return changed ? build(builder) : this;
  }

  /**
   * Only the scalar resources: a quantity, for sums across agents (a framework's or role's
   * allocation), where ranges of different agents (each agent's ports) must not merge.
   */
  quantities(): Resources {
    if (this.#rangesList.length === 0) return this;
    this.#quantities ??= makeResources(this.#scalarList, []);
    return this.#quantities;
  }

  #filter(keep: (role: string) => boolean): Resources {
    let all = true;
    for (const e of this.#scalarList) if (!keep(e.role)) all = false;
    for (const e of this.#rangesList) if (!keep(e.role)) all = false;
    if (all) return this;
    return makeResources(
      this.#scalarList.filter((e) => keep(e.role)),
      this.#rangesList.filter((e) => keep(e.role)),
    );
  }

  #moveTo(role: string): Resources {
    let already = true;
    for (const e of this.#scalarList) if (e.role !== role) already = false;
    for (const e of this.#rangesList) if (e.role !== role) already = false;
    if (already) return this;
    const builder = new Builder();
    for (const e of this.#scalarList) builder.addScalar(e.name, role, e.milli);
    for (const e of this.#rangesList) builder.addRanges(e.name, role, e.ranges);
    return build(builder);
  }

  // -------------------------------------------------------------------------
  // Access

  /** The amount of scalar `name` summed over all roles, e.g. `0.3`; 0 when absent. */
  scalar(name: string): number {
    return this.scalarMilli(name) / 1000;
  }

  /**
   * Calls `fn` with the name, the amount in integer thousandths, the role and
   * the JSON key (the whole identity: reservation, volume) of every scalar,
   * in canonical order. For hot loops
   * that keep numeric sums (e.g. allocation shares) without building sets.
   */
  forEachScalar(fn: (name: string, milli: number, role: string, key: string) => void): void {
    const list = this.#scalarList;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      fn(e.name, e.milli, e.role, e.key);
    }
  }

  /** Whether some resource here is reserved to a role (not `*`). */
  hasReservations(): boolean {
    if (this.#reserved === undefined) {
      let reserved = false;
      for (const e of this.#scalarList) if (e.role !== UNRESERVED_ROLE) reserved = true;
      for (const e of this.#rangesList) if (e.role !== UNRESERVED_ROLE) reserved = true;
      this.#reserved = reserved;
    }
    return this.#reserved;
  }

  /** The ranges of `name` over all roles, merged and sorted; `[]` when absent. */
  ranges(name: string): Array<[number, number]> {
    let flat: readonly number[] = [];
    for (const e of this.#rangesList) {
      if (e.name === name) flat = flat.length === 0 ? e.ranges : unionRanges(flat, e.ranges);
    }
    const out: Array<[number, number]> = [];
    for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
    return out;
  }

  /** The resource names present, in canonical order (cpus, mem, disk, gpus, other scalars, ranges). */
  names(): string[] {
    const set = new Set<string>();
    for (const e of this.#sortedScalars()) set.add(e.name);
    for (const e of this.#sortedRanges()) set.add(e.name);
    return Array.from(set);
  }

  /**
   * The amount of scalar `name` summed over all roles in integer thousandths
   * (exact, unlike {@link Resources.scalar}); 0 when absent.
   */
  scalarMilli(name: string): number {
    let sum = 0;
    const list = this.#scalarList;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e.name === name) sum += e.milli;
    }
    return sum;
  }

  #sortedScalars(): readonly ScalarEntry[] {
    return this.#scalarList;
  }

  #sortedRanges(): readonly RangesEntry[] {
    return this.#rangesList;
  }

  // -------------------------------------------------------------------------
  // Formatting

  /**
   * The canonical Mesos string: cpus, mem, disk, gpus, other scalars
   * alphabetically, then ranges alphabetically; within a name `*` first, then
   * roles sorted. `""` when empty. `Resources.parse(r.toString())` equals `r`.
   */
  toString(): string {
    return formatText(this.#scalarList, this.#rangesList);
  }

  /**
   * The JSON form: scalar key → number, ranges key → `[[begin, end], ...]`,
   * with reserved resources under `name(role)`, in canonical order, e.g.
   * `{"cpus": 2, "cpus(web)": 1, "ports": [[31000, 32000]]}`. Zero scalars are omitted.
   */
  toJSON(): ResourcesJson {
    return formatJson(this.#scalarList, this.#rangesList);
  }
}

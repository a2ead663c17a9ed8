/**
 * The entries a resource set is made of (one per name and identity), their
 * canonical order, lookups by key, and the builder that sums them up.
 */

import {
  compareRoles,
  invalid,
  keyOf,
  type Persistence,
  type Reservation,
  type ResourceIdentity,
} from "./identity.ts";
import { unionRanges } from "./ranges.ts";

/** One resource of a set, as {@link Resources.entries} lists them. */
export interface ResourceEntry extends ResourceIdentity {
  readonly name: string;
  /** The JSON key (`name(role,principal,labels)[id:path]`). */
  readonly key: string;
  /** The scalar value, when it is a scalar. */
  readonly scalar: number | undefined;
  /** The ranges, when it is a ranges resource. */
  readonly ranges: Array<[number, number]> | undefined;
}

/** A scalar resource held with one role, in integer thousandths. */
export interface ScalarEntry {
  readonly key: string;
  readonly name: string;
  readonly role: string;
  readonly reservation: Reservation | undefined;
  readonly persistence: Persistence | undefined;
  readonly milli: number;
}

/**

 * `[begin0, end0, begin1, end1, ...]`, sorted, with overlapping and adjacent
 * ranges coalesced, never empty.
 */
export interface RangesEntry {
  readonly key: string;
  readonly name: string;
  readonly role: string;
  readonly reservation: Reservation | undefined;
  readonly persistence: Persistence | undefined;
  readonly ranges: readonly number[];
}

export type Kind = "scalar" | "ranges";

/** The kinds of the well-known resources; other names take the kind of their first value. */
const KNOWN_KINDS: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ["cpus", "scalar"],
  ["mem", "scalar"],
  ["disk", "scalar"],
  ["gpus", "scalar"],
  ["ports", "ranges"],
]);

/** Position of the well-known scalars in the canonical order. */
const SCALAR_ORDER: ReadonlyMap<string, number> = new Map([
  ["cpus", 0],
  ["mem", 1],
  ["disk", 2],
  ["gpus", 3],
]);

// ---------------------------------------------------------------------------
// Entry lists. Resource sets are small (a few names and roles), so a set keeps
// its entries in two arrays in canonical order, and a lookup by key scans
// them; an index is built (once, lazily) only for large lists.

/** Above this many entries a list gets a key index for lookups. */
export const LINEAR_LOOKUP_MAX = 16;
const keyIndexes = new WeakMap<readonly { readonly key: string }[], Map<string, number>>();

/** The position of the entry with `key` in `list`, or -1. */
export function indexOfKey(list: readonly { readonly key: string }[], key: string): number {
  const n = list.length;
  if (n <= LINEAR_LOOKUP_MAX) {
    for (let i = 0; i < n; i++) if (list[i]!.key === key) return i;
    return -1;
  }
  let index = keyIndexes.get(list);
  if (index === undefined) {
    index = new Map();
    for (let i = 0; i < n; i++) index.set(list[i]!.key, i);
    keyIndexes.set(list, index);
  }
  return index.get(key) ?? -1;
}

export function findByKey<E extends { readonly key: string }>(
  list: readonly E[],
  key: string,
): E | undefined {
  const i = indexOfKey(list, key);
  return i === -1 ? undefined : list[i];
}

/** `list` itself when it is in the order of `compare`, else a sorted copy. */
export function inOrder<E>(list: readonly E[], compare: (a: E, b: E) => number): readonly E[] {
  for (let i = 1; i < list.length; i++) {
    if (compare(list[i - 1]!, list[i]!) > 0) return list.slice().sort(compare);
  }
  return list;
}
// ---------------------------------------------------------------------------
// Builder: the mutable accumulator behind every constructor and operation
// (the Resources class turns what it holds into a set).

export class Builder {
  readonly scalars = new Map<string, ScalarEntry>();
  readonly ranges = new Map<string, RangesEntry>();

  addScalar(
    name: string,
    role: string,
    milli: number,
    reservation?: Reservation | undefined,
    persistence?: Persistence | undefined,
  ): void {
    if (milli === 0) return;
    const key = keyOf(name, role, reservation, persistence);
    const prev = this.scalars.get(key);
    this.scalars.set(key, {
      key,
      name,
      role,
      reservation,
      persistence,
      milli: prev === undefined ? milli : prev.milli + milli,
    });
  }

  /** `ranges` must be normalized and non-empty. */
  addRanges(
    name: string,
    role: string,
    ranges: readonly number[],
    reservation?: Reservation | undefined,
    persistence?: Persistence | undefined,
  ): void {
    if (ranges.length === 0) return;
    const key = keyOf(name, role, reservation, persistence);
    const prev = this.ranges.get(key);
    this.ranges.set(key, {
      key,
      name,
      role,
      reservation,
      persistence,
      ranges: prev === undefined ? ranges : unionRanges(prev.ranges, ranges),
    });
  }

  addEntry(e: ScalarEntry | RangesEntry, to: ResourceIdentity): void {
    if ("milli" in e) this.addScalar(e.name, to.role, e.milli, to.reservation, to.persistence);
    else this.addRanges(e.name, to.role, e.ranges, to.reservation, to.persistence);
  }
}

/** Tracks the kind of each name while parsing, rejecting a name used with two kinds. */
export function checkKind(
  kinds: Map<string, Kind>,
  name: string,
  kind: Kind,
  fail: () => string,
): void {
  const expected = KNOWN_KINDS.get(name) ?? kinds.get(name);
  if (expected !== undefined && expected !== kind) {
    throw invalid(
      `${fail()}: "${name}" is a ${expected === "scalar" ? "scalar" : "ranges"} resource`,
    );
  }
  kinds.set(name, kind);
}

/** Position of a scalar name in the canonical order (the well-known ones first). */
function scalarRank(name: string): number {
  switch (name) {
    case "cpus":
      return 0;
    case "mem":
      return 1;
    case "disk":
      return 2;
    case "gpus":
      return 3;
    default:
      return SCALAR_ORDER.get(name) ?? SCALAR_ORDER.size;
  }
}

/** The canonical order of scalar entries: cpus, mem, disk, gpus, other names alphabetically; `*` first. */
export function compareScalarEntries(a: ScalarEntry, b: ScalarEntry): number {
  if (a.name !== b.name) {
    const oa = scalarRank(a.name);
    const ob = scalarRank(b.name);
    if (oa !== ob) return oa - ob;
    return a.name < b.name ? -1 : 1;
  }
  return compareRoles(a.role, b.role) || compareKeys(a.key, b.key);
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The canonical order of ranges entries: by name, `*` first. */
export function compareRangesEntries(a: RangesEntry, b: RangesEntry): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return compareRoles(a.role, b.role) || compareKeys(a.key, b.key);
}

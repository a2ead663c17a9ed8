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
 * The JSON form is `{"cpus": 4, "mem": 4096, "cpus(web)": 2, "ports": [[31000, 32000]]}`.
 */

import type { ResourcesJson } from "./common.ts";
import { AgoraError, ErrorCode } from "./errors.ts";

/** The role of unreserved resources. */
export const UNRESERVED_ROLE = "*";

/**
 * A dynamic reservation (Mesos `Resource.ReservationInfo` of type `DYNAMIC`):
 * who made it and its labels. A resource without one is statically reserved
 * (from the agent's `--resources`) or unreserved.
 */
export interface Reservation {
  /** The principal that reserved it (`""`: none given). */
  readonly principal: string;
  /** Its labels, sorted by key. */
  readonly labels: readonly (readonly [string, string])[];
}

/**
 * A persistent volume on reserved disk (Mesos `Resource.DiskInfo`): its
 * `persistence.id` (unique per role on an agent) and `volume.containerPath`
 * (relative to the task's sandbox).
 */
export interface Persistence {
  readonly id: string;
  readonly containerPath: string;
}

/** What tells two resources of one name apart, besides their value. */
export interface ResourceIdentity {
  readonly role: string;
  readonly reservation: Reservation | undefined;
  readonly persistence: Persistence | undefined;
}

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
interface ScalarEntry {
  readonly key: string;
  readonly name: string;
  readonly role: string;
  readonly reservation: Reservation | undefined;
  readonly persistence: Persistence | undefined;
  readonly milli: number;
}

/**
 * A ranges resource held with one role. `ranges` is a flat list
 * `[begin0, end0, begin1, end1, ...]`, sorted, with overlapping and adjacent
 * ranges coalesced, never empty.
 */
interface RangesEntry {
  readonly key: string;
  readonly name: string;
  readonly role: string;
  readonly reservation: Reservation | undefined;
  readonly persistence: Persistence | undefined;
  readonly ranges: readonly number[];
}

type Kind = "scalar" | "ranges";

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

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const ROLE_COMPONENT_RE = /^[A-Za-z0-9_.-]+$/;
const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const RANGE_RE = /^(\d+)(?:\s*-\s*(\d+))?$/;
/** A reservation's principal: empty (none) or a token without separators. */
const PRINCIPAL_RE = /^[A-Za-z0-9_.@-]*$/;
/** A label's key and value. */
const LABEL_KEY_RE = /^[A-Za-z0-9_./@-]+$/;
const LABEL_VALUE_RE = /^[A-Za-z0-9_./@-]*$/;
/** A persistence id. */
const PERSISTENCE_ID_RE = /^[A-Za-z0-9_.-]+$/;
/** A container path: relative, components of letters, digits, `_`, `.`, `-`. */
const CONTAINER_PATH_RE = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;

/** `cpus:0.01` in thousandths. */
const MIN_ALLOCATABLE_CPUS_MILLI = 10;
/** `mem:32` in thousandths. */
const MIN_ALLOCATABLE_MEM_MILLI = 32_000;

function invalid(message: string): AgoraError {
  return new AgoraError(ErrorCode.InvalidResources, message);
}

function keyOf(
  name: string,
  role: string,
  reservation?: Reservation | undefined,
  persistence?: Persistence | undefined,
): string {
  let key = name;
  if (reservation !== undefined) {
    key += `(${role},${reservation.principal}`;
    for (const [k, v] of reservation.labels) key += `,${k}=${v}`;
    key += ")";
  } else if (role !== UNRESERVED_ROLE) {
    key += `(${role})`;
  }
  if (persistence !== undefined) key += `[${persistence.id}:${persistence.containerPath}]`;
  return key;
}

/** The reason a reservation's parts are invalid, or undefined. */
function reservationProblem(principal: string, labels: readonly (readonly [string, string])[]) {
  if (!PRINCIPAL_RE.test(principal)) return `invalid principal "${principal}"`;
  const seen = new Set<string>();
  for (const [k, v] of labels) {
    if (!LABEL_KEY_RE.test(k)) return `invalid label key "${k}"`;
    if (!LABEL_VALUE_RE.test(v)) return `invalid label value "${v}" of label "${k}"`;
    if (seen.has(k)) return `label "${k}" is given twice`;
    seen.add(k);
  }
  return undefined;
}

/** The reason a persistence is invalid, or undefined. */
function persistenceProblem(id: string, containerPath: string): string | undefined {
  if (!PERSISTENCE_ID_RE.test(id) || id === "." || id === "..") {
    return `invalid persistence id "${id}"`;
  }
  if (
    !CONTAINER_PATH_RE.test(containerPath) ||
    containerPath.split("/").some((c) => c === "." || c === "..")
  ) {
    return `invalid container path "${containerPath}" (relative, without "." or "..")`;
  }
  return undefined;
}

/**
 * A dynamic reservation, validated: labels sorted by key.
 * @throws AgoraError INVALID_RESOURCES naming the bad principal or label
 */
export function reservationOf(
  principal: string | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): Reservation {
  const list = Object.entries(labels ?? {}).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const problem = reservationProblem(principal ?? "", list);
  if (problem !== undefined) throw invalid(`invalid reservation: ${problem}`);
  return { principal: principal ?? "", labels: list };
}

/**
 * A persistence, validated.
 * @throws AgoraError INVALID_RESOURCES naming the bad id or path
 */
export function persistenceOf(id: string, containerPath: string): Persistence {
  const problem = persistenceProblem(id, containerPath);
  if (problem !== undefined) throw invalid(`invalid volume: ${problem}`);
  return { id, containerPath };
}

/** The reason `role` is not a valid role name, or undefined when it is valid. */
function roleProblem(role: string): string | undefined {
  if (role === UNRESERVED_ROLE) return undefined;
  if (role === "") return "role is empty";
  for (const component of role.split("/")) {
    if (component === "") return `role "${role}" has an empty component`;
    if (component === "." || component === "..") {
      return `role "${role}" has a "." or ".." component`;
    }
    if (component.startsWith("-")) return `role "${role}" has a component starting with "-"`;
    if (!ROLE_COMPONENT_RE.test(component)) {
      return `role "${role}" has characters other than letters, digits, "_", "." and "-"`;
    }
  }
  return undefined;
}

function assertRole(role: string): void {
  const problem = roleProblem(role);
  if (problem !== undefined) throw invalid(`invalid role "${role}": ${problem}`);
}

/** A parsed resource key. */
interface ParsedKey extends ResourceIdentity {
  readonly name: string;
}

/**
 * Splits a key: `name`, `name(role)` (static), `name(role,principal,k=v,...)`
 * (dynamic: a comma after the role; the principal may be empty), each
 * optionally followed by `[id:containerPath]` (a persistent volume).
 * Whitespace is tolerated; throws with `part` in the message.
 */
function parseKey(head: string, part: string, where: string): ParsedKey {
  let name = head.trim();
  let role = UNRESERVED_ROLE;
  let reservation: Reservation | undefined;
  let persistence: Persistence | undefined;
  const bracket = name.indexOf("[");
  if (bracket !== -1) {
    if (!name.endsWith("]")) throw invalid(`${where} "${part}": missing "]" after the volume`);
    const inner = name.slice(bracket + 1, -1).trim();
    name = name.slice(0, bracket).trim();
    const colon = inner.indexOf(":");
    if (colon === -1) throw invalid(`${where} "${part}": a volume is [id:containerPath]`);
    const id = inner.slice(0, colon).trim();
    const containerPath = inner.slice(colon + 1).trim();
    const problem = persistenceProblem(id, containerPath);
    if (problem !== undefined) throw invalid(`${where} "${part}": ${problem}`);
    persistence = { id, containerPath };
  } else if (name.includes("]")) {
    throw invalid(`${where} "${part}": unexpected "]"`);
  }
  const open = name.indexOf("(");
  if (open !== -1) {
    if (!name.endsWith(")")) throw invalid(`${where} "${part}": missing ")" after the role`);
    const inner = name.slice(open + 1, -1);
    name = name.slice(0, open).trim();
    const fields = inner.split(",").map((f) => f.trim());
    role = fields[0]!;
    const problem = roleProblem(role);
    if (problem !== undefined) throw invalid(`${where} "${part}": ${problem}`);
    if (fields.length > 1) {
      if (role === UNRESERVED_ROLE) {
        throw invalid(`${where} "${part}": a dynamic reservation needs a role other than "*"`);
      }
      const labels: Array<[string, string]> = [];
      for (const label of fields.slice(2)) {
        const eq = label.indexOf("=");
        if (eq === -1) throw invalid(`${where} "${part}": label "${label}" is not key=value`);
        labels.push([label.slice(0, eq), label.slice(eq + 1)]);
      }
      labels.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      const principal = fields[1]!;
      const bad = reservationProblem(principal, labels);
      if (bad !== undefined) throw invalid(`${where} "${part}": ${bad}`);
      reservation = { principal, labels };
    }
  } else if (name.includes(")")) {
    throw invalid(`${where} "${part}": unexpected ")"`);
  }
  if (name === "") throw invalid(`${where} "${part}": name is empty`);
  if (!NAME_RE.test(name)) throw invalid(`${where} "${part}": invalid name "${name}"`);
  if (persistence !== undefined && role === UNRESERVED_ROLE) {
    throw invalid(`${where} "${part}": a persistent volume must be on reserved disk`);
  }
  return { name, role, reservation, persistence };
}

/** The index of the ":" between a text part's key and value (after any `(...)` and `[...]`). */
function valueColon(part: string): number {
  let depth = 0;
  let inVolume = false;
  for (let i = 0; i < part.length; i++) {
    const c = part[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "[" && depth === 0) {
      // a "[" before the colon opens a volume; after it, the ranges value
      inVolume = true;
    } else if (c === "]" && depth === 0) inVolume = false;
    else if (c === ":" && depth === 0 && !inVolume) return i;
  }
  // unbalanced: split at the first ":" so that the key's own error is reported
  return part.indexOf(":");
}

/** Converts a scalar to thousandths, validating it; throws with `part` in the message. */
function toMilli(value: number, part: string, where: string): number {
  if (Number.isNaN(value)) throw invalid(`${where} "${part}": value is not a number`);
  if (!Number.isFinite(value)) throw invalid(`${where} "${part}": value is not finite`);
  if (value < 0) throw invalid(`${where} "${part}": value is negative`);
  const milli = Math.round(value * 1000);
  if (milli > Number.MAX_SAFE_INTEGER) throw invalid(`${where} "${part}": value is too large`);
  return milli === 0 ? 0 : milli;
}

function formatMilli(milli: number): string {
  return String(milli / 1000);
}

// ---------------------------------------------------------------------------
// Range lists: flat, sorted, coalesced `[b0, e0, b1, e1, ...]`.

/** Sorts and coalesces a flat list of (possibly overlapping) ranges. */
function normalizeRanges(flat: number[]): number[] {
  const n = flat.length / 2;
  if (n <= 1) return flat;
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: number[] = [pairs[0]![0], pairs[0]![1]];
  for (let i = 1; i < pairs.length; i++) {
    const [begin, end] = pairs[i]!;
    const last = out.length - 1;
    if (begin <= out[last]! + 1) {
      if (end > out[last]!) out[last] = end;
    } else {
      out.push(begin, end);
    }
  }
  return out;
}

/** Union of two normalized range lists. */
function unionRanges(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let begin: number;
    let end: number;
    if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) {
      begin = a[i]!;
      end = a[i + 1]!;
      i += 2;
    } else {
      begin = b[j]!;
      end = b[j + 1]!;
      j += 2;
    }
    const last = out.length - 1;
    if (last > 0 && begin <= out[last]! + 1) {
      if (end > out[last]!) out[last] = end;
    } else {
      out.push(begin, end);
    }
  }
  return out;
}

/** `a` minus `b`, both normalized; the result is normalized. */
function subtractRanges(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    let begin = a[i]!;
    const end = a[i + 1]!;
    while (j < b.length && b[j + 1]! < begin) j += 2;
    let k = j;
    while (begin <= end && k < b.length && b[k]! <= end) {
      const bBegin = b[k]!;
      const bEnd = b[k + 1]!;
      if (bBegin > begin) out.push(begin, bBegin - 1);
      begin = bEnd + 1;
      k += 2;
    }
    if (begin <= end) out.push(begin, end);
  }
  return out;
}

/** Whether every range of `b` lies inside `a`; both normalized. Does not allocate. */
function containsRanges(a: readonly number[], b: readonly number[]): boolean {
  let i = 0;
  for (let j = 0; j < b.length; j += 2) {
    const begin = b[j]!;
    const end = b[j + 1]!;
    while (i < a.length && a[i + 1]! < begin) i += 2;
    if (i >= a.length || a[i]! > begin || a[i + 1]! < end) return false;
  }
  return true;
}

function equalRanges(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Entry lists. Resource sets are small (a few names and roles), so a set keeps
// its entries in two arrays in canonical order, and a lookup by key scans
// them; an index is built (once, lazily) only for large lists.

/** Above this many entries a list gets a key index for lookups. */
const LINEAR_LOOKUP_MAX = 16;
const keyIndexes = new WeakMap<readonly { readonly key: string }[], Map<string, number>>();

/** The position of the entry with `key` in `list`, or -1. */
function indexOfKey(list: readonly { readonly key: string }[], key: string): number {
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

function findByKey<E extends { readonly key: string }>(
  list: readonly E[],
  key: string,
): E | undefined {
  const i = indexOfKey(list, key);
  return i === -1 ? undefined : list[i];
}

/** `list` itself when it is in the order of `compare`, else a sorted copy. */
function inOrder<E>(list: readonly E[], compare: (a: E, b: E) => number): readonly E[] {
  for (let i = 1; i < list.length; i++) {
    if (compare(list[i - 1]!, list[i]!) > 0) return list.slice().sort(compare);
  }
  return list;
}

// ---------------------------------------------------------------------------
// Builder: the mutable accumulator behind every constructor and operation.

class Builder {
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

  build(): Resources {
    return makeResources(Array.from(this.scalars.values()), Array.from(this.ranges.values()));
  }
}

/** Tracks the kind of each name while parsing, rejecting a name used with two kinds. */
function checkKind(kinds: Map<string, Kind>, name: string, kind: Kind, fail: () => string): void {
  const expected = KNOWN_KINDS.get(name) ?? kinds.get(name);
  if (expected !== undefined && expected !== kind) {
    throw invalid(
      `${fail()}: "${name}" is a ${expected === "scalar" ? "scalar" : "ranges"} resource`,
    );
  }
  kinds.set(name, kind);
}

function compareRoles(a: string, b: string): number {
  if (a === b) return 0;
  if (a === UNRESERVED_ROLE) return -1;
  if (b === UNRESERVED_ROLE) return 1;
  return a < b ? -1 : 1;
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

function compareScalarEntries(a: ScalarEntry, b: ScalarEntry): number {
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

function compareRangesEntries(a: RangesEntry, b: RangesEntry): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return compareRoles(a.role, b.role) || compareKeys(a.key, b.key);
}

/**
 * Builds a {@link Resources} from entries with unique keys, non-zero scalars and
 * non-empty ranges. Set by the class's static block (the constructor is private).
 */
let makeResources: (scalars: readonly ScalarEntry[], ranges: readonly RangesEntry[]) => Resources;

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
    if (typeof text !== "string") throw invalid("invalid resources: not a string");
    const builder = new Builder();
    const kinds = new Map<string, Kind>();
    for (const raw of text.split(";")) {
      const part = raw.trim();
      if (part === "") continue;
      const where = "invalid resource";
      const colon = valueColon(part);
      if (colon === -1) throw invalid(`${where} "${part}": missing ":" between name and value`);
      const { name, role, reservation, persistence } = parseKey(part.slice(0, colon), part, where);
      const value = part.slice(colon + 1).trim();
      if (value === "") throw invalid(`${where} "${part}": value is empty`);
      if (value.startsWith("[")) {
        checkKind(kinds, name, "ranges", () => `${where} "${part}"`);
        builder.addRanges(name, role, parseRangeList(value, part), reservation, persistence);
      } else if (value.startsWith("{")) {
        throw invalid(`${where} "${part}": set values are not supported`);
      } else {
        checkKind(kinds, name, "scalar", () => `${where} "${part}"`);
        if (!NUMBER_RE.test(value)) throw invalid(`${where} "${part}": value is not a number`);
        builder.addScalar(
          name,
          role,
          toMilli(Number(value), part, where),
          reservation,
          persistence,
        );
      }
    }
    return builder.build();
  }

  /**
   * Builds resources from their JSON form (see {@link Resources.toJSON}):
   * `{"cpus": 2, "cpus(web)": 1, "ports": [[31000, 32000]]}`.
   *
   * @throws AgoraError with code `INVALID_RESOURCES` naming the bad key.
   */
  static fromJSON(obj: unknown): Resources {
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      throw invalid("invalid resources JSON: not an object");
    }
    const where = "invalid resource JSON key";
    const builder = new Builder();
    const kinds = new Map<string, Kind>();
    for (const [key, value] of Object.entries(obj)) {
      const { name, role, reservation, persistence } = parseKey(key, key, where);
      if (typeof value === "number") {
        checkKind(kinds, name, "scalar", () => `${where} "${key}"`);
        builder.addScalar(name, role, toMilli(value, key, where), reservation, persistence);
      } else if (Array.isArray(value)) {
        checkKind(kinds, name, "ranges", () => `${where} "${key}"`);
        const flat: number[] = [];
        for (const range of value) {
          if (!Array.isArray(range) || range.length !== 2) {
            throw invalid(`${where} "${key}": each range must be a [begin, end] pair`);
          }
          const [begin, end] = range as unknown[];
          if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end)) {
            throw invalid(`${where} "${key}": range bounds must be integers`);
          }
          const b = begin as number;
          const e = end as number;
          if (b < 0) throw invalid(`${where} "${key}": range ${b}-${e} is negative`);
          if (b > e) throw invalid(`${where} "${key}": range ${b}-${e} has begin greater than end`);
          flat.push(b, e);
        }
        builder.addRanges(name, role, normalizeRanges(flat), reservation, persistence);
      } else {
        throw invalid(`${where} "${key}": value must be a number or a list of ranges`);
      }
    }
    return builder.build();
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
    return changed ? builder.build() : this;
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
    return builder.build();
  }

  // -------------------------------------------------------------------------
  // Access

  /** The amount of scalar `name` summed over all roles, e.g. `0.3`; 0 when absent. */
  scalar(name: string): number {
    return this.#scalarMilli(name) / 1000;
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

  #scalarMilli(name: string): number {
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

  /**
   * Whether `r` is worth offering, like Mesos's
   * `min_allocatable_resources=cpus:0.01|mem:32`: at least 0.01 cpus or at
   * least 32 MB of mem, over all roles.
   */
  static isAllocatable(r: Resources): boolean {
    return (
      r.#scalarMilli("cpus") >= MIN_ALLOCATABLE_CPUS_MILLI ||
      r.#scalarMilli("mem") >= MIN_ALLOCATABLE_MEM_MILLI
    );
  }

  /**
   * The dominant share of `allocated` in `total`: the largest `allocated / total`
   * over the scalar names of `total` whose total is positive. Ranges are ignored.
   */
  static dominantShare(allocated: Resources, total: Resources): number {
    let share = 0;
    for (const e of total.#scalarList) {
      const t = total.#scalarMilli(e.name);
      if (t <= 0) continue;
      const s = allocated.#scalarMilli(e.name) / t;
      if (s > share) share = s;
    }
    return share;
  }

  // -------------------------------------------------------------------------
  // Formatting

  /**
   * The canonical Mesos string: cpus, mem, disk, gpus, other scalars
   * alphabetically, then ranges alphabetically; within a name `*` first, then
   * roles sorted. `""` when empty. `Resources.parse(r.toString())` equals `r`.
   */
  toString(): string {
    const parts: string[] = [];
    for (const e of this.#sortedScalars()) parts.push(`${e.key}:${formatMilli(e.milli)}`);
    for (const e of this.#sortedRanges()) {
      const items: string[] = [];
      for (let i = 0; i < e.ranges.length; i += 2) items.push(`${e.ranges[i]}-${e.ranges[i + 1]}`);
      parts.push(`${e.key}:[${items.join(",")}]`);
    }
    return parts.join(";");
  }

  /**
   * The JSON form: scalar key → number, ranges key → `[[begin, end], ...]`,
   * with reserved resources under `name(role)`, in canonical order, e.g.
   * `{"cpus": 2, "cpus(web)": 1, "ports": [[31000, 32000]]}`. Zero scalars are omitted.
   */
  toJSON(): ResourcesJson {
    const out: ResourcesJson = {};
    for (const e of this.#sortedScalars()) out[e.key] = e.milli / 1000;
    for (const e of this.#sortedRanges()) {
      const list: Array<[number, number]> = [];
      for (let i = 0; i < e.ranges.length; i += 2) list.push([e.ranges[i]!, e.ranges[i + 1]!]);
      out[e.key] = list;
    }
    return out;
  }
}

/** Parses `[b-e, v, ...]` into a normalized flat range list; throws naming `part`. */
function parseRangeList(value: string, part: string): number[] {
  const where = "invalid resource";
  if (!value.endsWith("]")) throw invalid(`${where} "${part}": missing "]" after the ranges`);
  const inner = value.slice(1, -1).trim();
  if (inner === "") return [];
  const flat: number[] = [];
  for (const raw of inner.split(",")) {
    const item = raw.trim();
    const m = RANGE_RE.exec(item);
    if (m === null) throw invalid(`${where} "${part}": invalid range "${item}"`);
    const begin = Number(m[1]);
    const end = m[2] === undefined ? begin : Number(m[2]);
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end)) {
      throw invalid(`${where} "${part}": range "${item}" is too large`);
    }
    if (begin > end) {
      throw invalid(`${where} "${part}": range "${item}" has begin greater than end`);
    }
    flat.push(begin, end);
  }
  return normalizeRanges(flat);
}

/**
 * The dominant share of `allocated` in `total`: the largest `allocated / total`
 * over the scalar names present in `total` with a positive total. Ranges are ignored.
 */
export function dominantShare(allocated: Resources, total: Resources): number {
  return Resources.dominantShare(allocated, total);
}

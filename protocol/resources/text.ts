/**
 * The two written forms of a resource set: the Mesos text
 * `cpus:4;mem:4096;cpus(web):2;ports:[31000-32000]` and the JSON object
 * `{"cpus": 4, "cpus(web)": 2, "ports": [[31000, 32000]]}`: parsing them into
 * a {@link Builder} with every error naming the offending part, and writing
 * entries back in canonical order.
 */

import type { ResourcesJson } from "../common.ts";
import { Builder, checkKind, type Kind, type RangesEntry, type ScalarEntry } from "./entries.ts";
import {
  invalid,
  type Persistence,
  persistenceProblem,
  type Reservation,
  type ResourceIdentity,
  reservationProblem,
  roleProblem,
  UNRESERVED_ROLE,
} from "./identity.ts";
import { normalizeRanges } from "./ranges.ts";

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const RANGE_RE = /^(\d+)(?:\s*-\s*(\d+))?$/;

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
 * The entries of a Mesos resource string (see {@link Resources.parse}).
 * @throws AgoraError INVALID_RESOURCES naming the offending part
 */
export function parseText(text: string): Builder {
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
      builder.addScalar(name, role, toMilli(Number(value), part, where), reservation, persistence);
    }
  }
  return builder;
}

/**
 * The entries of the JSON form (see {@link Resources.fromJSON}).
 * @throws AgoraError INVALID_RESOURCES naming the bad key
 */
export function parseJson(obj: unknown): Builder {
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
  return builder;
}

/** The canonical Mesos string of entries in canonical order (see {@link Resources.toString}). */
export function formatText(
  scalars: readonly ScalarEntry[],
  ranges: readonly RangesEntry[],
): string {
  const parts: string[] = [];
  for (const e of scalars) parts.push(`${e.key}:${formatMilli(e.milli)}`);
  for (const e of ranges) {
    const items: string[] = [];
    for (let i = 0; i < e.ranges.length; i += 2) items.push(`${e.ranges[i]}-${e.ranges[i + 1]}`);
    parts.push(`${e.key}:[${items.join(",")}]`);
  }
  return parts.join(";");
}

/** The JSON form of entries in canonical order (see {@link Resources.toJSON}). */
export function formatJson(
  scalars: readonly ScalarEntry[],
  ranges: readonly RangesEntry[],
): ResourcesJson {
  const out: ResourcesJson = {};
  for (const e of scalars) out[e.key] = e.milli / 1000;
  for (const e of ranges) {
    const list: Array<[number, number]> = [];
    for (let i = 0; i < e.ranges.length; i += 2) list.push([e.ranges[i]!, e.ranges[i + 1]!]);
    out[e.key] = list;
  }
  return out;
}

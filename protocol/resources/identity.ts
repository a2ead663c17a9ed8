/**
 * What tells two resources of one name apart besides their value: the role
 * (`*` unreserved), a dynamic reservation (principal, labels) and a persistent
 * volume (id, container path); their validation and the JSON key
 * `name(role,principal,labels)[id:path]` built from them.
 */

import { AgoraError, ErrorCode } from "../errors.ts";

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

const ROLE_COMPONENT_RE = /^[A-Za-z0-9_.-]+$/;
/** A reservation's principal: empty (none) or a token without separators. */
const PRINCIPAL_RE = /^[A-Za-z0-9_.@-]*$/;
/** A label's key and value. */
const LABEL_KEY_RE = /^[A-Za-z0-9_./@-]+$/;
const LABEL_VALUE_RE = /^[A-Za-z0-9_./@-]*$/;
/** A persistence id. */
const PERSISTENCE_ID_RE = /^[A-Za-z0-9_.-]+$/;
/** A container path: relative, components of letters, digits, `_`, `.`, `-`. */
const CONTAINER_PATH_RE = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;

/** An `INVALID_RESOURCES` error. */
export function invalid(message: string): AgoraError {
  return new AgoraError(ErrorCode.InvalidResources, message);
}

/** The JSON key of a resource of `name` with this identity. */
export function keyOf(
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
export function reservationProblem(
  principal: string,
  labels: readonly (readonly [string, string])[],
) {
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
export function persistenceProblem(id: string, containerPath: string): string | undefined {
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
export function roleProblem(role: string): string | undefined {
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

/** @throws AgoraError INVALID_RESOURCES when `role` is not a valid role name. */
export function assertRole(role: string): void {
  const problem = roleProblem(role);
  if (problem !== undefined) throw invalid(`invalid role "${role}": ${problem}`);
}

/** `*` first, then the other roles in string order. */
export function compareRoles(a: string, b: string): number {
  if (a === b) return 0;
  if (a === UNRESERVED_ROLE) return -1;
  if (b === UNRESERVED_ROLE) return 1;
  return a < b ? -1 : 1;
}

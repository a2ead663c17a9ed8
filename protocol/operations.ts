/**
 * Mesos's resource operations on an agent's resources — `RESERVE`,
 * `UNRESERVE`, `CREATE` and `DESTROY` — as pure functions of resource sets,
 * shared by the master (offers and agent totals), the agent (its
 * checkpointed resources) and `agora simulate`.
 *
 * - RESERVE: each resource must carry a dynamic reservation (role other than
 *   `*`, principal, labels); its unreserved counterpart is taken and the
 *   reserved one put in its place.
 * - UNRESERVE: each resource must be dynamically reserved and not a volume;
 *   it goes back to `*`.
 * - CREATE: each resource must be reserved `disk` with a persistence id and a
 *   container path; the same disk without persistence is taken. An id may be
 *   used once per role on an agent.
 * - DESTROY: the volumes must be there; their disk stays reserved.
 *
 * Reservation refinement (stacked reservations) is not supported: a dynamic
 * reservation is always made of unreserved resources.
 */
import { AgoraError, ErrorCode } from "./errors.ts";
import { type Resources, UNRESERVED_ROLE } from "./resources.ts";

/** The kinds of resource operation. */
export type ResourceOperationKind = "reserve" | "unreserve" | "create" | "destroy";

/** One resource operation: its kind and the resources it names (the result for RESERVE/CREATE). */
export interface ResourceOperation {
  readonly type: ResourceOperationKind;
  readonly resources: Resources;
}

function invalid(op: ResourceOperation, message: string): AgoraError {
  return new AgoraError(ErrorCode.InvalidResources, `${op.type.toUpperCase()}: ${message}`);
}

/**
 * Checks an operation by itself (before it meets any agent): the shape
 * its kind needs.
 * @throws AgoraError INVALID_RESOURCES naming the first problem
 */
export function validateOperation(op: ResourceOperation): void {
  if (op.resources.isEmpty()) throw invalid(op, "no resources given");
  for (const e of op.resources.entries()) {
    switch (op.type) {
      case "reserve":
      case "unreserve":
        if (e.reservation === undefined) {
          throw invalid(op, `"${e.key}" is not dynamically reserved (use name(role,principal))`);
        }
        if (e.persistence !== undefined) {
          throw invalid(op, `"${e.key}" is a persistent volume (destroy it first)`);
        }
        break;
      case "create":
      case "destroy":
        if (e.name !== "disk" || e.persistence === undefined) {
          throw invalid(op, `"${e.key}" is not a persistent volume (disk(role)[id:path])`);
        }
        if (e.role === UNRESERVED_ROLE) throw invalid(op, `"${e.key}" is not reserved`);
        break;
    }
  }
}

/** What an operation takes from the resources it is applied to. */
function consumedBy(op: ResourceOperation): Resources {
  switch (op.type) {
    case "reserve":
      return op.resources.base();
    case "create":
      return op.resources.withoutPersistence();
    case "unreserve":
    case "destroy":
      return op.resources;
  }
}

/** What an operation puts in place of what it takes. */
function producedBy(op: ResourceOperation): Resources {
  switch (op.type) {
    case "reserve":
    case "create":
      return op.resources;
    case "unreserve":
      return op.resources.base();
    case "destroy":
      return op.resources.withoutPersistence();
  }
}

/**
 * Applies a validated operation to `from` (an offer's resources or an agent's total).
 * @throws AgoraError INVALID_RESOURCES when what it takes is not in `from`, or
 *   when CREATE reuses a persistence id of the same role
 */
export function applyOperation(from: Resources, op: ResourceOperation): Resources {
  const taken = consumedBy(op);
  if (!from.contains(taken)) {
    throw invalid(op, `"${taken.toString()}" is not available in "${from.toString()}"`);
  }
  if (op.type === "create") {
    const existing = new Set(from.volumes().map((v) => `${v.role}\u0000${v.persistence.id}`));
    const created = new Set<string>();
    for (const v of op.resources.volumes()) {
      const id = `${v.role}\u0000${v.persistence.id}`;
      if (existing.has(id) || created.has(id)) {
        throw invalid(op, `volume "${v.persistence.id}" of role ${v.role} exists already`);
      }
      created.add(id);
    }
  }
  return from.subtract(taken).add(producedBy(op));
}

/**
 * An agent's total from its static resources (`--resources`) and its
 * checkpointed ones (dynamic reservations and volumes, as Mesos's
 * `resources/resources.info`): each checkpointed resource replaces what it
 * was made of.
 * @throws AgoraError INVALID_RESOURCES when the static resources do not hold
 *   what the checkpointed ones were made of
 */
export function totalWithCheckpointed(statics: Resources, checkpointed: Resources): Resources {
  if (checkpointed.isEmpty()) return statics;
  const base = checkpointed.base();
  if (!statics.contains(base)) {
    throw new AgoraError(
      ErrorCode.InvalidResources,
      `the checkpointed resources "${checkpointed.toString()}" need "${base.toString()}", which the agent's resources "${statics.toString()}" do not hold`,
    );
  }
  return statics.subtract(base).add(checkpointed);
}

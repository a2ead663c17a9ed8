/**
 * Dynamic reservations and persistent volumes on the master (Mesos's
 * RESERVE, UNRESERVE, CREATE and DESTROY, from an accept or an operator
 * call): checked (shape, principal, ACLs), applied to the agent's total,
 * stored in the agent's registry record (its `resources` hold them), then
 * sent to the agent as its whole set of checkpointed resources
 * (`agent.checkpointResources`).
 *
 * - The principal of a reservation is the caller's: one given must equal it,
 *   an empty one is filled in with it (when the caller has one).
 * - ACLs: `reserve_resources` (object: the role), `unreserve_resources` (the
 *   reservation's principal), `create_volumes` (the role), `destroy_volumes`
 *   (the reservation's principal).
 */
import type { ResourcesJson } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { ResourceOfferOperation } from "../../protocol/frameworks.ts";
import { AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import {
  applyOperation,
  type ResourceOperation,
  type ResourceOperationKind,
  validateOperation,
} from "../../protocol/operations.ts";
import type { Message } from "../../protocol/registry.ts";
import { Resources } from "../../protocol/resources.ts";
import { AgentRegistryState, StoreKeys } from "../../protocol/store.ts";
import { checkAll } from "./authorizer.ts";
import type { AgentEntry, MasterContext } from "./model.ts";
import { rescindAgentOffers } from "./offers.ts";
import { agentRecord } from "./persist.ts";
import { freeOf } from "./pool.ts";
import { storeRecord } from "./registry.ts";

/** An accept's resource operation as a {@link ResourceOperation}. */
export function offerOperation(op: ResourceOfferOperation): ResourceOperation {
  const json: ResourcesJson =
    op.type === "reserve" || op.type === "unreserve" ? op.resources : op.volumes;
  return { type: op.type, resources: Resources.fromJSON(json) };
}

/**
 * The resources of an operation with the caller's principal in their
 * reservations: an empty one is filled in, another one is refused.
 * @throws AgoraError FORBIDDEN when a reservation names another principal
 */
function withCallerPrincipal(
  op: ResourceOperation,
  principal: string | undefined,
): ResourceOperation {
  if (op.type !== "reserve" || principal === undefined) return op;
  let out = Resources.empty();
  for (const e of op.resources.entries()) {
    const one = Resources.fromJSON({ [e.key]: e.scalar ?? e.ranges ?? 0 });
    const reservation = e.reservation;
    if (reservation === undefined || reservation.principal === principal) {
      out = out.add(one);
    } else if (reservation.principal === "") {
      out = out.add(one.withReservation(e.role, { principal, labels: reservation.labels }));
    } else {
      throw new AgoraError(
        ErrorCode.Forbidden,
        `RESERVE by principal "${principal}" names principal "${reservation.principal}" in "${e.key}"`,
      );
    }
  }
  return { type: op.type, resources: out };
}

const ACTION = {
  reserve: "reserve_resources",
  unreserve: "unreserve_resources",
  create: "create_volumes",
  destroy: "destroy_volumes",
} as const satisfies Record<ResourceOperationKind, string>;

/** The ACL objects of an operation: roles for RESERVE/CREATE, reservation principals otherwise. */
function aclObjects(op: ResourceOperation): string[] {
  const objects = new Set<string>();
  for (const e of op.resources.entries()) {
    if (op.type === "reserve" || op.type === "create") objects.add(e.role);
    else objects.add(e.reservation?.principal ?? "");
  }
  return Array.from(objects);
}

/**
 * Checks an operation for a caller: its shape, its principal, its roles
 * (`roles`: those the caller may act for; undefined: any) and the ACLs.
 * Returns the operation with the caller's principal filled in.
 * @throws AgoraError INVALID_RESOURCES, FORBIDDEN or PERMISSION_DENIED
 */
export function checkOperation(
  ctx: MasterContext,
  op: ResourceOperation,
  principal: string | undefined,
  roles: readonly string[] | undefined,
): ResourceOperation {
  validateOperation(op);
  const checked = withCallerPrincipal(op, principal);
  if (roles !== undefined) {
    for (const role of checked.resources.roles()) {
      if (!roles.includes(role)) {
        throw new AgoraError(
          ErrorCode.Forbidden,
          `${op.type.toUpperCase()} names role ${role}, not the role of the offers (${roles.join(", ")})`,
        );
      }
    }
  }
  const objects = aclObjects(checked).map((o) => (o === "" ? undefined : o));
  for (const object of objects) checkAll(ctx.authorizer, ctx, ACTION[op.type], principal, [object]);
  return checked;
}

/** Applies a checked operation to the agent's total (the pool is told). */
export function applyToAgent(ctx: MasterContext, agent: AgentEntry, op: ResourceOperation): void {
  agent.total = applyOperation(agent.total, op);
  ctx.pool.sync(agent);
  ctx.metrics.inc(`operations_${op.type}`);
  ctx.logger.info(
    { agentId: agent.id, operation: op.type, resources: op.resources.toString() },
    "resource operation applied",
  );
}

/** The message that gives the agent its checkpointed resources. */
export function checkpointMessage(agent: AgentEntry): Message {
  return { type: "agent.checkpointResources", resources: agent.total.checkpointed().toJSON() };
}

/**
 * Stores the agent's record (its total holds its reservations and volumes);
 * `undefined` when the write was synchronous.
 */
export function storeAgentTotal(ctx: MasterContext, agent: AgentEntry): Promise<void> | undefined {
  return storeRecord(
    ctx.registry,
    StoreKeys.agent(agent.id),
    agentRecord(agent, AgentRegistryState.Admitted, ctx.clock.now()),
  );
}

/**
 * Sends `messages` to the agent once `write` is done; a failed write is
 * counted and logged and the call fails with it (the master keeps the change:
 * the next write of the agent's record holds it).
 */
export function sendAfterWrite(
  ctx: MasterContext,
  agent: AgentEntry,
  write: Promise<void> | undefined,
  messages: readonly Message[],
): undefined | Promise<undefined> {
  const send = () => {
    for (const msg of messages) ctx.outbox.toAgent(agent.id, msg);
    return undefined;
  };
  if (write === undefined) return send();
  return write.then(send, (err: unknown) => {
    ctx.metrics.inc("registry_writes_failed");
    ctx.logger.error(
      { agentId: agent.id, reason: (err as Error).message },
      "registry write failed",
    );
    send();
    throw err;
  });
}

/** The operator call types of this module and the operation each is. */
export const OPERATOR_OPERATIONS = {
  "operator.reserveResources": "reserve",
  "operator.unreserveResources": "unreserve",
  "operator.createVolumes": "create",
  "operator.destroyVolumes": "destroy",
} as const satisfies Record<string, ResourceOperationKind>;

/**
 * An operator's resource operation on an agent: what it takes must be free
 * there (the agent's outstanding offers are rescinded when they hold it);
 * applied, stored, then the reply `ok` and the agent told.
 * @throws AgoraError NOT_FOUND (agent), INVALID_RESOURCES, FORBIDDEN, PERMISSION_DENIED
 */
export function operatorOperation(
  ctx: MasterContext,
  agentId: string,
  kind: ResourceOperationKind,
  resources: ResourcesJson,
  principal: string | undefined,
): undefined | Promise<undefined> {
  const agent = ctx.agents.get(agentId);
  if (agent === undefined || agent.status !== AgentState.Active) {
    throw new AgoraError(ErrorCode.NotFound, `agent ${agentId} is not active`);
  }
  const op = checkOperation(
    ctx,
    { type: kind, resources: Resources.fromJSON(resources) },
    principal,
    undefined,
  );
  let free = freeOf(agent);
  try {
    applyOperation(free, op);
  } catch {
    rescindAgentOffers(ctx, agent, `${kind} by the operator`);
    free = freeOf(agent);
    try {
      applyOperation(free, op);
    } catch (err) {
      throw new AgoraError(
        ErrorCode.InvalidResources,
        `${(err as Error).message.replace(/ in ".*"$/, "")} free on agent ${agentId} (free: "${free.toString()}")`,
      );
    }
  }
  applyToAgent(ctx, agent, op);
  ctx.requestAllocation();
  return sendAfterWrite(ctx, agent, storeAgentTotal(ctx, agent), [checkpointMessage(agent)]);
}

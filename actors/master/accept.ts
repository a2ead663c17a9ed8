/**
 * `scheduler.accept` and `scheduler.decline`, as Mesos's master:
 *
 * - The offers of an accept must be outstanding, the framework's own, all on
 *   one agent (and, in agora, all of one role). Otherwise the accept is
 *   invalid: each of its tasks is TASK_DROPPED (REASON_INVALID_OFFERS), its
 *   valid offers return to the pool, and the call fails (NOT_FOUND or FORBIDDEN).
 * - Each task is then validated in order against what is left of the offers:
 *   a task id not used by a live task of the framework, the offers' agent,
 *   exactly one of `command` and `executor`, a usable health check, valid
 *   resources contained in the remainder. An invalid task is TASK_ERROR
 *   (REASON_TASK_INVALID). A task whose user (its command's `user`, else the
 *   framework's) the ACLs' `run_tasks` do not allow the framework's principal
 *   is TASK_ERROR (REASON_TASK_UNAUTHORIZED), as Mesos checks it at launch.
 *   The others are sent to the agent in one `agent.runTask`.
 * - A `launchGroup` operation is validated whole (launch-group.ts): any
 *   problem makes every task of the group TASK_ERROR (REASON_TASK_GROUP_INVALID),
 *   and a task the ACLs do not allow makes the whole group TASK_ERROR
 *   (REASON_TASK_UNAUTHORIZED).
 * - What no task uses returns to the pool under a decline filter
 *   (`filters.refuseSeconds`, default 5 s), like a decline.
 * - `reserve`, `unreserve`, `create` and `destroy` operations (Mesos's offer
 *   operations) are applied in order to what is left of the offers and to the
 *   agent (reservations.ts); one that does not apply is dropped, as Mesos
 *   does, and the others go on. When one was applied, the agent's record is
 *   stored before the agent is told (its checkpointed resources first, then
 *   the tasks) and before the accept's reply.
 */
import { DEFAULT_REFUSE_SECONDS, MAX_REFUSE_SECONDS } from "../../infra/defaults.ts";
import { type Filters, type TaskInfo, TaskReason, TaskState } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { ResourceOfferOperation } from "../../protocol/frameworks.ts";
import { OfferEvent } from "../../protocol/lifecycles/offer.machine.ts";
import { applyOperation } from "../../protocol/operations.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import { Resources } from "../../protocol/resources.ts";
import { addFilter } from "./filters.ts";
import {
  capabilitiesOf,
  type LaunchScope,
  reject,
  unauthorized,
  validateTask,
} from "./launch-checks.ts";
import { launchGroup } from "./launch-group.ts";
import { executorKey } from "./ledger.ts";
import type { AgentEntry, FrameworkEntry, MasterContext, OfferEntry } from "./model.ts";
import { endOffer } from "./offers.ts";
import {
  applyToAgent,
  checkOperation,
  checkpointMessage,
  offerOperation,
  sendAfterWrite,
  storeAgentTotal,
} from "./reservations.ts";
import { addTask, completeTask } from "./tasks.ts";

/** The offers of an accept, checked. */
export type OfferCheck =
  | { ok: true; offers: OfferEntry[]; agent: AgentEntry; role: string }
  | { ok: false; code: ErrorCode; message: string; own: OfferEntry[] };

/** Checks the offers named by an accept (no side effects). */
function checkOffers(
  ctx: MasterContext,
  framework: FrameworkEntry,
  offerIds: readonly string[],
): OfferCheck {
  const own: OfferEntry[] = [];
  const problems: string[] = [];
  let code: ErrorCode = ErrorCode.NotFound;
  const seen = new Set<string>();
  for (const offerId of offerIds) {
    if (seen.has(offerId)) {
      problems.push(`offer ${offerId} is named twice`);
      code = ErrorCode.InvalidMessage;
      continue;
    }
    seen.add(offerId);
    const offer = ctx.offers.get(offerId);
    if (offer === undefined) {
      problems.push(`offer ${offerId} is not outstanding (used, declined, rescinded or unknown)`);
    } else if (offer.frameworkId !== framework.id) {
      problems.push(`offer ${offerId} is not an offer of framework ${framework.id}`);
      code = ErrorCode.Forbidden;
    } else {
      own.push(offer);
    }
  }
  const first = own[0];
  if (problems.length === 0 && first !== undefined) {
    if (own.some((o) => o.agentId !== first.agentId)) {
      problems.push("the offers of one accept must all be on one agent");
      code = ErrorCode.InvalidMessage;
    } else if (own.some((o) => o.role !== first.role)) {
      problems.push("the offers of one accept must all be of one role");
      code = ErrorCode.InvalidMessage;
    }
  }
  const agent = first === undefined ? undefined : ctx.agents.get(first.agentId);
  if (problems.length > 0 || first === undefined || agent === undefined) {
    return { ok: false, code, message: problems.join("; ") || "no valid offer", own };
  }
  return { ok: true, offers: own, agent, role: first.role };
}

/**
 * Adds a decline filter for resources of an agent offered to `role` (none when
 * refuseSeconds is 0). As Mesos, a filter lasts at least one allocation
 * interval, so that the declined resources skip at least one batch cycle.
 */
export function addDeclineFilter(
  ctx: MasterContext,
  framework: FrameworkEntry,
  agentId: string,
  role: string,
  resources: Resources,
  filters: Filters | undefined,
): void {
  const seconds = Math.min(filters?.refuseSeconds ?? DEFAULT_REFUSE_SECONDS, MAX_REFUSE_SECONDS);
  if (!(seconds > 0) || resources.isEmpty()) return;
  const ms = Math.max(seconds * 1000, ctx.config.allocationInterval);
  addFilter(framework, { agentId, role, resources, expiresAt: ctx.clock.now() + ms });
}

/** The tasks of one `launch` operation: each validated alone, the valid ones sent in one `agent.runTask`. */
function launchTasks(
  ctx: MasterContext,
  scope: LaunchScope,
  role: string,
  tasks: readonly TaskInfo[],
): void {
  const { framework, agent } = scope;
  const launched: TaskInfo[] = [];
  for (const info of tasks) {
    const valid = validateTask(scope, info);
    if (typeof valid === "string") {
      ctx.metrics.inc("tasks_invalid");
      reject(ctx, framework, info, TaskState.Error, TaskReason.TaskInvalid, valid);
      continue;
    }
    const refused = unauthorized(ctx, framework, info);
    if (refused !== undefined) {
      reject(ctx, framework, info, TaskState.Error, TaskReason.TaskUnauthorized, refused);
      continue;
    }
    const stale = framework.tasks.get(info.taskId);
    if (stale !== undefined) completeTask(ctx, framework, stale);
    scope.available = scope.available.subtract(
      valid.executorResources === undefined
        ? valid.resources
        : valid.resources.add(valid.executorResources),
    );
    scope.taskIds.add(info.taskId);
    if (info.executor !== undefined) {
      scope.executors.add(executorKey(framework.id, info.executor.executorId));
    }
    const task = addTask(ctx, agent, framework, {
      taskId: info.taskId,
      name: info.name,
      role,
      resources: valid.resources,
      executor:
        info.executor === undefined
          ? undefined
          : {
              executorId: info.executor.executorId,
              resources: valid.executorResources ?? Resources.empty(),
            },
    });
    ctx.events.taskUpdated(task, task.state, undefined);
    launched.push(info);
  }
  if (launched.length > 0) {
    scope.send({
      type: "agent.runTask",
      framework: {
        frameworkId: framework.id,
        name: framework.name,
        role,
        ...capabilitiesOf(framework),
      },
      tasks: launched,
    });
    ctx.metrics.inc("tasks_launched", launched.length);
  }
}

/** `scheduler.accept`. */
export function accept(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.accept">,
): undefined | Promise<undefined> {
  const tasks = call.operations.flatMap((op) =>
    op.type === "launch" ? op.tasks : op.type === "launchGroup" ? op.taskGroup.tasks : [],
  );
  const check = checkOffers(ctx, framework, call.offerIds);
  if (!check.ok) {
    for (const offer of check.own) endOffer(ctx, offer, OfferEvent.Decline);
    for (const task of tasks) {
      reject(ctx, framework, task, TaskState.Dropped, TaskReason.InvalidOffers, check.message);
    }
    ctx.metrics.inc("accepts_invalid");
    throw new AgoraError(check.code, check.message);
  }
  const { offers, agent, role } = check;
  let offered = Resources.empty();
  for (const offer of offers) {
    endOffer(ctx, offer, OfferEvent.Accept);
    offered = offered.add(offer.resources);
  }
  const outgoing: Message[] = [];
  const scope: LaunchScope = {
    framework,
    agent,
    available: offered,
    taskIds: new Set(),
    executors: new Set(),
    send: (msg) => outgoing.push(msg),
  };
  let converted = false;
  for (const op of call.operations) {
    if (op.type === "launchGroup") launchGroup(ctx, scope, role, op);
    else if (op.type === "launch") launchTasks(ctx, scope, role, op.tasks);
    else if (resourceOperation(ctx, scope, role, op)) converted = true;
  }
  addDeclineFilter(ctx, framework, agent.id, role, scope.available, call.filters);
  ctx.metrics.inc("accepts");
  if (!converted) {
    for (const msg of outgoing) ctx.outbox.toAgent(agent.id, msg);
    return undefined;
  }
  // the agent learns of its new reservations and volumes before the tasks that use them
  return sendAfterWrite(ctx, agent, storeAgentTotal(ctx, agent), [
    checkpointMessage(agent),
    ...outgoing,
  ]);
}

/**
 * A RESERVE, UNRESERVE, CREATE or DESTROY of an accept, applied to what is
 * left of the offers and to the agent's total. As Mesos's master, an
 * operation that is invalid, not allowed or does not apply is dropped
 * (logged and counted as `operations_dropped`) and the accept goes on.
 * Returns whether it was applied.
 */
function resourceOperation(
  ctx: MasterContext,
  scope: LaunchScope,
  role: string,
  raw: ResourceOfferOperation,
): boolean {
  const { framework, agent } = scope;
  try {
    const op = checkOperation(ctx, offerOperation(raw), framework.info.principal, [role]);
    scope.available = applyOperation(scope.available, op);
    applyToAgent(ctx, agent, op);
    return true;
  } catch (err) {
    ctx.metrics.inc("operations_dropped");
    ctx.logger.warn(
      {
        frameworkId: framework.id,
        agentId: agent.id,
        operation: raw.type,
        reason: (err as Error).message,
      },
      "offer operation dropped",
    );
    return false;
  }
}

/**
 * `scheduler.decline`: the framework's outstanding offers return to the pool
 * under a decline filter. Unknown offers are ignored (as Mesos); offers of
 * another framework are left alone and the call fails with FORBIDDEN.
 */
export function decline(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.decline">,
): void {
  const foreign: string[] = [];
  for (const offerId of new Set(call.offerIds)) {
    const offer = ctx.offers.get(offerId);
    if (offer === undefined) {
      ctx.metrics.inc("declines_unknown_offer");
    } else if (offer.frameworkId !== framework.id) {
      foreign.push(offerId);
    } else if (endOffer(ctx, offer, OfferEvent.Decline)) {
      addDeclineFilter(ctx, framework, offer.agentId, offer.role, offer.resources, call.filters);
      ctx.metrics.inc("offers_declined");
    }
  }
  if (foreign.length > 0) {
    ctx.metrics.inc("declines_foreign_offer", foreign.length);
    throw new AgoraError(
      ErrorCode.Forbidden,
      `offers ${foreign.join(", ")} are not offers of framework ${framework.id}`,
    );
  }
}

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
 * - What no task uses returns to the pool under a decline filter
 *   (`filters.refuseSeconds`, default 5 s), like a decline.
 */
import { DEFAULT_REFUSE_SECONDS, MAX_REFUSE_SECONDS } from "../../infra/defaults.ts";
import { type Filters, type TaskInfo, TaskReason, TaskState } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { healthCheckProblem } from "../../protocol/health.ts";
import { OfferEvent } from "../../protocol/lifecycles/offer.machine.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import { Resources } from "../../protocol/resources.ts";
import { denied } from "./authorizer.ts";
import { addFilter } from "./filters.ts";
import { interned } from "./intern.ts";
import { executorKey } from "./ledger.ts";
import type { AgentEntry, FrameworkEntry, MasterContext, OfferEntry } from "./model.ts";
import { endOffer } from "./offers.ts";
import { addTask, completeTask, isLive, masterStatus, sendUpdate } from "./tasks.ts";

/** The offers of an accept, checked. */
export type OfferCheck =
  | { ok: true; offers: OfferEntry[]; agent: AgentEntry; role: string }
  | { ok: false; code: ErrorCode; message: string; own: OfferEntry[] };

/** Checks the offers named by an accept (no side effects). */
export function checkOffers(
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

/** What one accept has validated so far. */
export interface LaunchScope {
  readonly framework: FrameworkEntry;
  readonly agent: AgentEntry;
  /** What is left of the offers. */
  available: Resources;
  /** Task ids launched by this accept. */
  readonly taskIds: Set<string>;
  /** Custom executors started by this accept (by executor key). */
  readonly executors: Set<string>;
}

/** A validated task: what it takes from the offers. */
export interface ValidTask {
  resources: Resources;
  executorResources: Resources | undefined;
}

/** Validates one task of an accept against the scope; the error message, or what it takes. */
export function validateTask(scope: LaunchScope, task: TaskInfo): ValidTask | string {
  const { framework, agent } = scope;
  const existing = framework.tasks.get(task.taskId);
  if (scope.taskIds.has(task.taskId) || (existing !== undefined && isLive(existing))) {
    return `task id ${task.taskId} is already used by a live task of the framework`;
  }
  if (task.agentId !== agent.id) {
    return `task agentId ${task.agentId} is not the agent ${agent.id} of the offers`;
  }
  if ((task.command === undefined) === (task.executor === undefined)) {
    return "a task needs exactly one of command and executor";
  }
  const unusable = healthCheckProblem(task.healthCheck);
  if (unusable !== undefined) return unusable;
  let resources: Resources;
  let executorResources: Resources | undefined;
  try {
    resources = interned.resources(task.resources);
    if (task.executor !== undefined) {
      const key = executorKey(framework.id, task.executor.executorId);
      if (!agent.executors?.has(key) && !scope.executors.has(key)) {
        executorResources = interned.resources(task.executor.resources ?? {});
      }
    }
  } catch (err) {
    return `invalid resources: ${(err as Error).message}`;
  }
  const needed = executorResources === undefined ? resources : resources.add(executorResources);
  if (!scope.available.contains(needed)) {
    return `task resources ${needed} are not contained in the remaining offered resources ${scope.available}`;
  }
  return { resources, executorResources };
}

/** The user a task runs as: its command's, its executor's, else the framework's (undefined: the agent's). */
export function taskUser(framework: FrameworkEntry, task: TaskInfo): string | undefined {
  const user = task.command?.user ?? task.executor?.command.user ?? framework.info.user;
  return user === "" ? undefined : user;
}

/** Whether the ACLs let the framework's principal run the task as its user (counted and logged when not). */
function unauthorized(
  ctx: MasterContext,
  framework: FrameworkEntry,
  task: TaskInfo,
): string | undefined {
  if (!ctx.authorizer.enabled) return undefined;
  const user = taskUser(framework, task);
  const principal = framework.info.principal;
  if (ctx.authorizer.authorize("run_tasks", principal, user)) return undefined;
  return denied(ctx, "run_tasks", principal, user).message;
}

/** The framework's capabilities and user for its executors, as a FrameworkRef carries them. */
function capabilitiesOf(framework: FrameworkEntry): { capabilities?: string[]; user?: string } {
  const { capabilities, user } = framework.info;
  return {
    ...(capabilities === undefined || capabilities.length === 0 ? {} : { capabilities }),
    ...(user === undefined || user === "" ? {} : { user }),
  };
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

function reject(
  ctx: MasterContext,
  framework: FrameworkEntry,
  task: TaskInfo,
  state: TaskState,
  reason: TaskReason,
  message: string,
): void {
  sendUpdate(ctx, framework, masterStatus(task, state, reason, message, ctx.clock.now()));
  let resources = Resources.empty();
  try {
    resources = Resources.fromJSON(task.resources);
  } catch {
    // reported with no resources
  }
  ctx.events.taskUpdated(
    {
      taskId: task.taskId,
      frameworkId: framework.id,
      agentId: task.agentId,
      name: task.name,
      resources,
    },
    state,
    undefined,
    reason,
    message,
  );
}

/** `scheduler.accept`. */
export function accept(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.accept">,
): void {
  const tasks = call.operations.flatMap((op) => op.tasks);
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
  const scope: LaunchScope = {
    framework,
    agent,
    available: offered,
    taskIds: new Set(),
    executors: new Set(),
  };
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
    ctx.outbox.toAgent(agent.id, {
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
  addDeclineFilter(ctx, framework, agent.id, role, scope.available, call.filters);
  ctx.metrics.inc("accepts");
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

/**
 * The framework registry: subscription (a new id `<masterId>-<nnnn>`) and
 * resubscription (same id, tasks kept), liveness from scheduler calls and
 * heartbeat events, disconnection (offers rescinded, failover timer), removal
 * (tasks killed, agents told to shut the framework down), teardown, and the
 * framework's offer standing: suppress and revive.
 */
import type { Timer } from "../../infra/clock.ts";
import { TaskReason, TaskState } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { FrameworkInfo } from "../../protocol/frameworks.ts";
import { AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import {
  FrameworkEvent,
  FrameworkState,
  frameworkLifecycle,
} from "../../protocol/lifecycles/framework.machine.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import { Resources, UNRESERVED_ROLE } from "../../protocol/resources.ts";
import { type FrameworkRecord, StoreKeys } from "../../protocol/store.ts";
import { checkAll } from "./authorizer.ts";
import { clearFilters, noFilters } from "./filters.ts";
import type { FrameworkEntry, MasterContext } from "./model.ts";
import { FrameworkOffers } from "./offer-book.ts";
import { rescindFrameworkOffers } from "./offers.ts";
import { frameworkRecord, persistRemovedFramework } from "./persist.ts";
import { resendUnacknowledged } from "./reconcile.ts";
import { afterWrite, storeRecord } from "./registry.ts";
import { rememberRemoved } from "./removed.ts";
import { RoleSums } from "./sums.ts";
import { completeTask, isLive, masterTransition } from "./tasks.ts";

/** Longest delay a timer can take (setTimeout's limit, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function advance(ctx: MasterContext, framework: FrameworkEntry, event: FrameworkEvent): boolean {
  const next = frameworkLifecycle.next(framework.status, event);
  if (next === undefined) {
    ctx.logger.warn(
      { frameworkId: framework.id, from: framework.status, event },
      "illegal framework transition",
    );
    return false;
  }
  framework.status = next;
  return true;
}

/** Roles of a subscription: deduplicated, `["*"]` when absent or empty; each must be a valid role. */
function rolesOf(info: FrameworkInfo): string[] {
  const roles = Array.from(new Set(info.roles ?? []));
  for (const role of roles) {
    try {
      Resources.empty().withRole(role);
    } catch (cause) {
      throw new AgoraError(
        ErrorCode.InvalidMessage,
        `invalid role ${JSON.stringify(role)}: ${(cause as Error).message}`,
      );
    }
  }
  return roles.length === 0 ? [UNRESERVED_ROLE] : roles;
}

/** Checks that `roles` are roles of the framework; returns them (all roles when absent). */
function ownRoles(framework: FrameworkEntry, roles: readonly string[] | undefined): string[] {
  if (roles === undefined) return framework.roles;
  for (const role of roles) {
    if (!framework.roles.includes(role)) {
      throw new AgoraError(
        ErrorCode.InvalidMessage,
        `role ${JSON.stringify(role)} is not a role of framework ${framework.id}`,
      );
    }
  }
  return Array.from(roles);
}

function newFramework(ctx: MasterContext, id: string, info: FrameworkInfo): FrameworkEntry {
  const now = ctx.clock.now();
  return {
    id,
    info,
    name: info.name,
    roles: rolesOf(info),
    status: FrameworkState.Subscribed,
    recovered: false,
    contacted: false,
    subscribedAt: now,
    lastSeen: now,
    failoverTimeoutMs: ctx.config.frameworkFailoverTimeout,
    failoverTimer: undefined,
    suppressed: new Set(),
    ...noFilters(ctx.filterBook),
    offered: new RoleSums(),
    used: new RoleSums(),
    tasks: new Map(),
    completed: [],
    offers: new FrameworkOffers(),
    allocations: 0,
    priority: info.priority,
  };
}

/**
 * A framework known only because an agent reported its tasks (e.g. after a
 * master restart): disconnected until its scheduler resubscribes with its id.
 */
export function recoverFramework(ctx: MasterContext, id: string, role: string): FrameworkEntry {
  const framework = newFramework(ctx, id, { frameworkId: id, name: id, roles: [role] });
  advance(ctx, framework, FrameworkEvent.Disconnect);
  framework.recovered = true;
  ctx.frameworks.set(id, framework);
  ctx.metrics.inc("frameworks_recovered");
  return framework;
}

/**
 * A framework of the registry, restored by a new leader: disconnected until
 * its scheduler resubscribes, its failover timer running for at least
 * `graceMs` (the agent reregister timeout: a failover of the master is not
 * the framework's failure).
 */
export function restoreFramework(
  ctx: MasterContext,
  record: FrameworkRecord,
  graceMs: number,
): FrameworkEntry {
  const framework = newFramework(ctx, record.id, record.info);
  ctx.frameworks.set(framework.id, framework);
  framework.failoverTimeoutMs = Math.max(record.failoverTimeoutMs, graceMs);
  disconnectFramework(ctx, framework, "master failover");
  framework.failoverTimeoutMs = record.failoverTimeoutMs;
  return framework;
}

/**
 * `scheduler.subscribe`: a new framework, or the resubscription of a known
 * one; answered once its registry entry is stored (a failed write:
 * UNAVAILABLE, nothing changed).
 */
export function subscribe(
  ctx: MasterContext,
  call: MessageOf<"scheduler.subscribe">,
): MessageOf<"event.subscribed"> | Promise<MessageOf<"event.subscribed">> {
  const info = call.framework;
  const roles = rolesOf(info);
  checkAll(ctx.authorizer, ctx, "register_frameworks", info.principal, roles);
  if (info.frameworkId !== undefined && ctx.removedFrameworks.has(info.frameworkId)) {
    throw new AgoraError(
      ErrorCode.InvalidState,
      `framework ${info.frameworkId} was removed; subscribe without a frameworkId`,
    );
  }
  for (const role of call.suppressedRoles ?? []) {
    if (!roles.includes(role)) {
      throw new AgoraError(
        ErrorCode.InvalidMessage,
        `suppressed role ${JSON.stringify(role)} is not one of the framework's roles`,
      );
    }
  }
  const id =
    info.frameworkId ?? `${ctx.masterId}-${String(ctx.sequence.frameworks++).padStart(4, "0")}`;
  const failoverTimeoutMs =
    info.failoverTimeoutSeconds !== undefined
      ? info.failoverTimeoutSeconds * 1000
      : ctx.config.frameworkFailoverTimeout;
  const record = frameworkRecord(id, info, failoverTimeoutMs);
  return afterWrite(storeRecord(ctx.registry, StoreKeys.framework(id), record), () => {
    if (ctx.removedFrameworks.has(id)) {
      throw new AgoraError(ErrorCode.InvalidState, `framework ${id} was removed meanwhile`);
    }
    return applySubscribe(ctx, call, { ...info, frameworkId: id });
  });
}

function applySubscribe(
  ctx: MasterContext,
  call: MessageOf<"scheduler.subscribe">,
  info: FrameworkInfo & { frameworkId: string },
): MessageOf<"event.subscribed"> {
  const roles = rolesOf(info);
  const suppressed = call.suppressedRoles ?? [];
  const now = ctx.clock.now();
  let framework: FrameworkEntry;
  const existing = ctx.frameworks.get(info.frameworkId);
  if (existing !== undefined) {
    framework = existing;
    if (!advance(ctx, framework, FrameworkEvent.Subscribe)) {
      throw new AgoraError(ErrorCode.InvalidState, `framework ${framework.id} cannot resubscribe`);
    }
    framework.failoverTimer?.cancel();
    framework.failoverTimer = undefined;
    rescindFrameworkOffers(ctx, framework, "framework resubscribed");
    framework.info = info;
    framework.name = info.name;
    framework.roles = roles;
    framework.priority = info.priority;
    framework.recovered = false;
    framework.contacted = false;
    framework.subscribedAt = now;
    framework.lastSeen = now;
    framework.suppressed.clear();
    ctx.metrics.inc("frameworks_resubscribed");
  } else {
    framework = newFramework(ctx, info.frameworkId, info);
    ctx.frameworks.set(framework.id, framework);
    ctx.metrics.inc("frameworks_subscribed");
  }
  framework.failoverTimeoutMs =
    info.failoverTimeoutSeconds !== undefined
      ? info.failoverTimeoutSeconds * 1000
      : ctx.config.frameworkFailoverTimeout;
  for (const role of suppressed) framework.suppressed.add(role);
  ctx.logger.info(
    { frameworkId: framework.id, name: framework.name, roles: framework.roles },
    "framework subscribed",
  );
  ctx.events.frameworkAdded(framework);
  const reply: MessageOf<"event.subscribed"> = {
    type: "event.subscribed",
    frameworkId: framework.id,
    masterId: ctx.masterId,
    heartbeatIntervalSeconds: ctx.config.frameworkHeartbeatInterval / 1000,
  };
  ctx.outbox.toFramework(framework.id, reply);
  resendUnacknowledged(ctx, framework);
  ctx.requestAllocation();
  return reply;
}

/**
 * Liveness from a scheduler call. The first call after (re)subscribing also
 * proves its subscription to its event subject is in place, so offers can go out.
 */
export function touchFramework(ctx: MasterContext, framework: FrameworkEntry): void {
  framework.lastSeen = ctx.clock.now();
  if (!framework.contacted) {
    framework.contacted = true;
    ctx.requestAllocation();
  }
}

/** The framework stopped heartbeating: its offers are rescinded and its failover timer starts. */
function disconnectFramework(ctx: MasterContext, framework: FrameworkEntry, reason: string): void {
  if (!advance(ctx, framework, FrameworkEvent.Disconnect)) return;
  rescindFrameworkOffers(ctx, framework, "framework disconnected");
  ctx.metrics.inc("frameworks_disconnected");
  ctx.logger.warn({ frameworkId: framework.id, reason }, "framework disconnected");
  ctx.events.frameworkDisconnected(framework.id);
  const delay = Math.min(framework.failoverTimeoutMs, MAX_TIMER_MS);
  const timer: Timer = ctx.clock.after(delay, () => {
    if (framework.failoverTimer !== timer) return;
    framework.failoverTimer = undefined;
    if (framework.status === FrameworkState.Disconnected) {
      removeFramework(ctx, framework, "framework failover timeout");
    }
  });
  framework.failoverTimer = timer;
}

/**
 * Removes a framework (stored as removed unless `persist` is false: the
 * caller stored it already): offers rescinded, live tasks TASK_KILLED
 * (REASON_FRAMEWORK_REMOVED), its agents told `agent.shutdownFramework`.
 */
function removeFramework(
  ctx: MasterContext,
  framework: FrameworkEntry,
  reason: string,
  persist = true,
): void {
  if (ctx.frameworks.get(framework.id) !== framework) return;
  const event =
    framework.status === FrameworkState.Disconnected
      ? FrameworkEvent.FailoverTimeout
      : FrameworkEvent.Teardown;
  framework.failoverTimer?.cancel();
  framework.failoverTimer = undefined;
  rescindFrameworkOffers(ctx, framework, "framework removed");
  const agentIds = new Set<string>();
  for (const task of Array.from(framework.tasks.values())) {
    agentIds.add(task.agentId);
    if (isLive(task)) {
      masterTransition(
        ctx,
        framework,
        task,
        TaskState.Killed,
        TaskReason.FrameworkRemoved,
        reason,
        false,
      );
    } else {
      completeTask(ctx, framework, task);
    }
  }
  for (const agentId of agentIds) {
    if (ctx.agents.get(agentId)?.status === AgentState.Active) {
      ctx.outbox.toAgent(agentId, { type: "agent.shutdownFramework", frameworkId: framework.id });
    }
  }
  if (!advance(ctx, framework, event)) framework.status = FrameworkState.Removed;
  ctx.frameworks.delete(framework.id);
  clearFilters(framework, undefined);
  rememberRemoved(ctx.removedFrameworks, framework.id);
  if (persist) persistRemovedFramework(ctx, framework);
  ctx.metrics.inc("frameworks_removed");
  ctx.logger.info({ frameworkId: framework.id, reason }, "framework removed");
  ctx.events.frameworkRemoved(framework.id, reason);
}

/**
 * The periodic scheduler liveness tick (every framework heartbeat interval):
 * frameworks silent for interval × max timeouts are disconnected; the others
 * get `event.heartbeat`.
 */
export function heartbeatFrameworks(ctx: MasterContext): void {
  const now = ctx.clock.now();
  const silence = ctx.config.frameworkHeartbeatInterval * ctx.config.maxFrameworkHeartbeatTimeouts;
  for (const framework of Array.from(ctx.frameworks.values())) {
    if (framework.status !== FrameworkState.Subscribed) continue;
    if (now - framework.lastSeen >= silence) {
      disconnectFramework(ctx, framework, "missed scheduler heartbeats");
    } else {
      ctx.outbox.toFramework(framework.id, { type: "event.heartbeat" });
    }
  }
}

/**
 * `scheduler.revive`: clears the decline filters of the roles (all roles when
 * none are named), unsuppresses them, allocates now.
 */
export function revive(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.revive">,
): void {
  const roles = ownRoles(framework, call.roles);
  clearFilters(framework, call.roles === undefined ? undefined : roles);
  for (const role of roles) framework.suppressed.delete(role);
  ctx.metrics.inc("revives");
  ctx.requestAllocation();
}

/** `scheduler.suppress`: no more offers for the roles until revive. */
export function suppress(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.suppress">,
): void {
  for (const role of ownRoles(framework, call.roles)) framework.suppressed.add(role);
  ctx.metrics.inc("suppresses");
}

/**
 * `scheduler.teardown`: answered once the registry holds the framework as
 * removed (so it stays removed after a failover), then removed.
 */
export function teardownFramework(
  ctx: MasterContext,
  framework: FrameworkEntry,
  reason: string,
): undefined | Promise<undefined> {
  const record = frameworkRecord(
    framework.id,
    framework.info,
    framework.failoverTimeoutMs,
    ctx.clock.now(),
  );
  return afterWrite(storeRecord(ctx.registry, StoreKeys.framework(framework.id), record), () => {
    removeFramework(ctx, framework, reason, false);
    return undefined;
  });
}

/**
 * Maintenance and drain (Mesos 1.9 `DRAIN_AGENT`, `DEACTIVATE_AGENT`,
 * `REACTIVATE_AGENT`, maintenance schedules, inverse offers).
 *
 * - A deactivated agent is not offered (its outstanding offers are
 *   rescinded); its tasks are left alone.
 * - A drained agent is deactivated, every framework with a live task on it
 *   gets an inverse offer, and its live tasks are killed — at once, or at the
 *   drain's deadline — each with its grace period bounded by the drain's
 *   `maxGracePeriodSeconds`. Kill updates carry `REASON_AGENT_DRAINING` and a message
 *   starting "the agent is draining"
 *   (and, with `markGone`, a TASK_KILLED becomes TASK_GONE_BY_OPERATOR, as
 *   Mesos's agent rewrites it). With no live task left it is DRAINED; with
 *   `markGone` it is then removed for good.
 * - A maintenance window makes its agents unavailable from `start` for
 *   `durationMs`: their frameworks get inverse offers as soon as the window
 *   is scheduled, the agents are drained when it starts and reactivated
 *   when it ends (agora's rule; Mesos leaves DOWN/UP to the operator).
 *
 * Changes are stored in the registry before the operator call is answered.
 * One timer (at the next deadline, window start or end) drives the rest.
 */
import { TaskReason, TaskState, type TaskStatus } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import {
  type DrainInfo,
  DrainState,
  InverseOfferStatus,
  type MaintenanceWindow,
  type Unavailability,
} from "../../protocol/maintenance.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import { AgentRegistryState, StoreKeys } from "../../protocol/store.ts";
import { removeAgent } from "./agents.ts";
import { requestKill } from "./kill.ts";
import type { AgentEntry, FrameworkEntry, MasterContext } from "./model.ts";
import { rescindAgentOffers } from "./offers.ts";
import { agentRecord, persist } from "./persist.ts";
import { afterWrite, storeRecord } from "./registry.ts";
import { isLive } from "./tasks.ts";

/** The agent of an operator call, or NOT_FOUND. */
function knownAgent(ctx: MasterContext, agentId: string): AgentEntry {
  const agent = ctx.agents.get(agentId);
  if (agent === undefined) {
    const why = ctx.removedAgents.has(agentId) ? "was removed" : "is not known";
    throw new AgoraError(ErrorCode.NotFound, `agent ${agentId} ${why}`);
  }
  return agent;
}

function registryState(agent: AgentEntry): AgentRegistryState {
  return agent.status === AgentState.Unreachable
    ? AgentRegistryState.Unreachable
    : AgentRegistryState.Admitted;
}

/** Stores the agent as it would be after `change`, then applies `change`; the reply is `ok`. */
function storeAgentThen(
  ctx: MasterContext,
  agent: AgentEntry,
  after: Pick<AgentEntry, "deactivated" | "drain">,
  apply: () => void,
): undefined | Promise<undefined> {
  const record = agentRecord({ ...agent, ...after }, registryState(agent), ctx.clock.now());
  return afterWrite(storeRecord(ctx.registry, StoreKeys.agent(agent.id), record), () => {
    apply();
    return undefined;
  });
}

function liveTasks(agent: AgentEntry) {
  return Array.from(agent.tasks ?? []).filter(isLive);
}

/** `operator.drainAgent`. */
export function drainAgent(
  ctx: MasterContext,
  call: MessageOf<"operator.drainAgent">,
): undefined | Promise<undefined> {
  const agent = knownAgent(ctx, call.agentId);
  const now = ctx.clock.now();
  const drain: DrainInfo = {
    state: DrainState.Draining,
    markGone: call.markGone === true,
    since: now,
    ...(call.maxGracePeriodSeconds === undefined
      ? {}
      : { maxGracePeriodSeconds: call.maxGracePeriodSeconds }),
    ...(call.deadlineSeconds === undefined || call.deadlineSeconds === 0
      ? {}
      : { deadline: now + call.deadlineSeconds * 1000 }),
  };
  return storeAgentThen(ctx, agent, { deactivated: true, drain }, () => {
    startDrain(ctx, agent, drain);
    ctx.metrics.inc("agents_drains");
  });
}

/** Deactivates, sends inverse offers, kills now or arms the deadline. */
function startDrain(ctx: MasterContext, agent: AgentEntry, drain: DrainInfo): void {
  agent.deactivated = true;
  agent.drain = drain;
  ctx.pool.sync(agent);
  rescindAgentOffers(ctx, agent, "agent is draining");
  ctx.logger.warn(
    { agentId: agent.id, deadline: drain.deadline, markGone: drain.markGone },
    "agent draining",
  );
  ctx.events.agentUpdated(agent);
  sendInverseOffers(ctx, agent, { start: drain.deadline ?? drain.since });
  if (drain.deadline === undefined) killDrained(ctx, agent);
  checkDrained(ctx, agent);
  armTimer(ctx);
}

/** Kills the agent's live tasks for its drain. */
function killDrained(ctx: MasterContext, agent: AgentEntry): void {
  const max = agent.drain?.maxGracePeriodSeconds;
  let killed = 0;
  for (const task of liveTasks(agent)) {
    if (task.state === TaskState.Killing && task.kill !== undefined) continue;
    const kill = {
      gracePeriodSeconds: task.kill?.gracePeriodSeconds,
      ...(max === undefined ? {} : { maxGracePeriodSeconds: max }),
    };
    if (requestKill(ctx, task, kill)) killed++;
  }
  if (killed > 0) {
    ctx.metrics.inc("agents_drain_kills", killed);
    ctx.logger.info({ agentId: agent.id, tasks: killed }, "drain kills sent");
  }
}

/**
 * A draining agent reregistered (after its restart or a master failover):
 * its frameworks get inverse offers, and its tasks are killed if the
 * deadline passed.
 */
export function resumeDrain(ctx: MasterContext, agent: AgentEntry): void {
  const drain = agent.drain;
  if (drain?.state !== DrainState.Draining) return;
  sendInverseOffers(ctx, agent, { start: drain.deadline ?? drain.since });
  if (drain.deadline === undefined || drain.deadline <= ctx.clock.now()) killDrained(ctx, agent);
  checkDrained(ctx, agent);
}

/** A draining agent with no live task becomes DRAINED (and, with markGone, is removed). */
export function checkDrained(ctx: MasterContext, agent: AgentEntry): void {
  const drain = agent.drain;
  if (drain?.state !== DrainState.Draining || liveTasks(agent).length > 0) return;
  agent.drain = { ...drain, state: DrainState.Drained };
  rescindInverseOffers(ctx, agent.id);
  ctx.logger.info({ agentId: agent.id }, "agent drained");
  ctx.metrics.inc("agents_drained");
  ctx.events.agentUpdated(agent);
  if (drain.markGone) {
    removeAgent(ctx, agent, "agent drained and marked gone");
    return;
  }
  persist(
    ctx,
    StoreKeys.agent(agent.id),
    agentRecord(agent, registryState(agent), ctx.clock.now()),
  );
}

/**
 * An update from a draining agent, as the framework sees it: kills carry
 * `REASON_AGENT_DRAINING`; with `markGone` a TASK_KILLED is TASK_GONE_BY_OPERATOR.
 */
export function drainStatus(agent: AgentEntry, status: TaskStatus): TaskStatus {
  const drain = agent.drain;
  if (drain === undefined) return status;
  if (status.state !== TaskState.Killed && status.state !== TaskState.Killing) return status;
  const state =
    drain.markGone && status.state === TaskState.Killed ? TaskState.GoneByOperator : status.state;
  const message =
    status.message === undefined
      ? "the agent is draining"
      : `the agent is draining: ${status.message}`;
  return { ...status, state, reason: TaskReason.AgentDraining, message: message.slice(0, 4096) };
}

/** `operator.deactivateAgent`. */
export function deactivateAgent(
  ctx: MasterContext,
  call: MessageOf<"operator.deactivateAgent">,
): undefined | Promise<undefined> {
  const agent = knownAgent(ctx, call.agentId);
  if (agent.deactivated === true) return undefined;
  return storeAgentThen(ctx, agent, { deactivated: true, drain: agent.drain }, () => {
    agent.deactivated = true;
    ctx.pool.sync(agent);
    rescindAgentOffers(ctx, agent, "agent deactivated");
    ctx.events.agentUpdated(agent);
    ctx.logger.warn({ agentId: agent.id }, "agent deactivated");
  });
}

/** `operator.reactivateAgent` (`agora undrain`). */
export function reactivateAgent(
  ctx: MasterContext,
  call: MessageOf<"operator.reactivateAgent">,
): undefined | Promise<undefined> {
  const agent = knownAgent(ctx, call.agentId);
  if (agent.deactivated !== true) {
    throw new AgoraError(ErrorCode.InvalidState, `agent ${agent.id} is not deactivated`);
  }
  return storeAgentThen(ctx, agent, { deactivated: undefined, drain: undefined }, () =>
    reactivate(ctx, agent),
  );
}

function reactivate(ctx: MasterContext, agent: AgentEntry): void {
  agent.deactivated = undefined;
  agent.drain = undefined;
  ctx.pool.sync(agent);
  rescindInverseOffers(ctx, agent.id);
  ctx.events.agentUpdated(agent);
  ctx.logger.info({ agentId: agent.id }, "agent reactivated");
  ctx.requestAllocation();
  armTimer(ctx);
}

// --- inverse offers ---------------------------------------------------------

/** One inverse offer to every subscribed framework with a live task on the agent and none yet. */
function sendInverseOffers(
  ctx: MasterContext,
  agent: AgentEntry,
  unavailability: Unavailability,
): void {
  const frameworks = new Set<string>();
  for (const task of liveTasks(agent)) frameworks.add(task.frameworkId);
  for (const entry of ctx.maintenance.inverseOffers.values()) {
    if (entry.agentId === agent.id) frameworks.delete(entry.frameworkId);
  }
  for (const frameworkId of frameworks) {
    const framework = ctx.frameworks.get(frameworkId);
    if (framework?.status !== FrameworkState.Subscribed) continue;
    const inverseOfferId = `${ctx.masterId}-IO${++ctx.sequence.offers}`;
    ctx.maintenance.inverseOffers.set(inverseOfferId, {
      inverseOfferId,
      agentId: agent.id,
      frameworkId,
      unavailability,
      status: InverseOfferStatus.Outstanding,
    });
    ctx.outbox.toFramework(frameworkId, {
      type: "event.inverseOffers",
      inverseOffers: [
        { inverseOfferId, agentId: agent.id, hostname: agent.hostname, unavailability },
      ],
    });
    ctx.metrics.inc("inverse_offers_sent");
  }
}

/** Withdraws the inverse offers about an agent. */
function rescindInverseOffers(ctx: MasterContext, agentId: string): void {
  for (const [id, entry] of ctx.maintenance.inverseOffers) {
    if (entry.agentId !== agentId) continue;
    ctx.maintenance.inverseOffers.delete(id);
    if (ctx.frameworks.get(entry.frameworkId)?.status === FrameworkState.Subscribed) {
      ctx.outbox.toFramework(entry.frameworkId, {
        type: "event.rescindInverseOffer",
        inverseOfferId: id,
      });
    }
  }
}

/** `scheduler.acceptInverseOffers` / `scheduler.declineInverseOffers`: the answer is recorded. */
export function answerInverseOffers(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.acceptInverseOffers" | "scheduler.declineInverseOffers">,
): void {
  const status =
    call.type === "scheduler.acceptInverseOffers"
      ? InverseOfferStatus.Accepted
      : InverseOfferStatus.Declined;
  const unknown: string[] = [];
  for (const id of call.inverseOfferIds) {
    const entry = ctx.maintenance.inverseOffers.get(id);
    if (entry === undefined || entry.frameworkId !== framework.id) unknown.push(id);
    else entry.status = status;
  }
  if (unknown.length > 0) {
    ctx.metrics.inc("inverse_offers_unknown", unknown.length);
    throw new AgoraError(
      ErrorCode.NotFound,
      `inverse offer${unknown.length === 1 ? "" : "s"} ${unknown.join(", ")} not outstanding for this framework`,
    );
  }
}

/** The inverse offers about an agent, for the state. */
export function inverseOffersOf(ctx: MasterContext, agentId: string) {
  const out: Array<{ inverseOfferId: string; frameworkId: string; status: InverseOfferStatus }> =
    [];
  for (const entry of ctx.maintenance.inverseOffers.values()) {
    if (entry.agentId === agentId) {
      out.push({
        inverseOfferId: entry.inverseOfferId,
        frameworkId: entry.frameworkId,
        status: entry.status,
      });
    }
  }
  return out;
}

// --- maintenance schedule ---------------------------------------------------

function windowEnd(w: MaintenanceWindow): number {
  return w.unavailability.durationMs === undefined
    ? Number.POSITIVE_INFINITY
    : w.unavailability.start + w.unavailability.durationMs;
}

/** The window (not ended yet) that names the agent, earliest first. */
export function windowOf(ctx: MasterContext, agent: AgentEntry): MaintenanceWindow | undefined {
  const now = ctx.clock.now();
  let found: MaintenanceWindow | undefined;
  for (const w of ctx.maintenance.windows) {
    if (windowEnd(w) <= now) continue;
    const named = w.machines.some(
      (m) =>
        (m.agentId !== undefined && m.agentId === agent.id) ||
        (m.hostname !== undefined && m.hostname === agent.hostname),
    );
    if (named && (found === undefined || w.unavailability.start < found.unavailability.start)) {
      found = w;
    }
  }
  return found;
}

/** `operator.updateMaintenanceSchedule`. */
export function updateMaintenanceSchedule(
  ctx: MasterContext,
  call: MessageOf<"operator.updateMaintenanceSchedule">,
): undefined | Promise<undefined> {
  call.windows.forEach((w, i) => {
    w.machines.forEach((m, j) => {
      if (m.agentId === undefined && m.hostname === undefined) {
        throw new AgoraError(
          ErrorCode.InvalidMessage,
          `windows[${i}].machines[${j}] names neither an agentId nor a hostname`,
        );
      }
    });
  });
  const windows = call.windows.map((w) => structuredClone(w));
  return afterWrite(storeRecord(ctx.registry, StoreKeys.maintenance, { windows }), () => {
    ctx.maintenance.windows = windows;
    ctx.metrics.inc("maintenance_schedule_updates");
    ctx.logger.info({ windows: windows.length }, "maintenance schedule updated");
    maintenanceTick(ctx);
    return undefined;
  });
}

/** Restores the schedule a new leader read from the registry. */
export function restoreMaintenance(ctx: MasterContext, windows: MaintenanceWindow[]): void {
  ctx.maintenance.windows = windows;
  maintenanceTick(ctx);
}

/**
 * Brings every agent in line with the schedule and the drain deadlines as
 * of now, then arms the timer for the next boundary.
 */
export function maintenanceTick(ctx: MasterContext): void {
  if (!ctx.isLeading()) return;
  const now = ctx.clock.now();
  for (const agent of Array.from(ctx.agents.values())) {
    const drain = agent.drain;
    if (
      drain?.state === DrainState.Draining &&
      drain.deadline !== undefined &&
      drain.deadline <= now
    ) {
      killDrained(ctx, agent);
    }
    const w = windowOf(ctx, agent);
    if (w === undefined) {
      if (agent.drain?.scheduled === true) {
        persist(
          ctx,
          StoreKeys.agent(agent.id),
          agentRecord(
            { ...agent, deactivated: undefined, drain: undefined },
            registryState(agent),
            now,
          ),
        );
        reactivate(ctx, agent);
      } else {
        rescindScheduledInverseOffers(ctx, agent);
      }
      continue;
    }
    if (w.unavailability.start > now) {
      sendInverseOffers(ctx, agent, w.unavailability);
    } else if (agent.drain === undefined) {
      const scheduled: DrainInfo = {
        state: DrainState.Draining,
        markGone: false,
        since: now,
        scheduled: true,
      };
      persist(
        ctx,
        StoreKeys.agent(agent.id),
        agentRecord({ ...agent, deactivated: true, drain: scheduled }, registryState(agent), now),
      );
      startDrain(ctx, agent, scheduled);
    }
  }
  armTimer(ctx);
}

/** Inverse offers of an agent no window names any more (and that no drain holds). */
function rescindScheduledInverseOffers(ctx: MasterContext, agent: AgentEntry): void {
  if (agent.drain !== undefined) return;
  for (const entry of ctx.maintenance.inverseOffers.values()) {
    if (entry.agentId === agent.id) {
      rescindInverseOffers(ctx, agent.id);
      return;
    }
  }
}

/** The next time something must happen: a drain deadline, a window start or end. */
function nextBoundary(ctx: MasterContext): number | undefined {
  const now = ctx.clock.now();
  let next = Number.POSITIVE_INFINITY;
  for (const agent of ctx.agents.values()) {
    const d = agent.drain;
    if (d?.state === DrainState.Draining && d.deadline !== undefined && d.deadline > now) {
      next = Math.min(next, d.deadline);
    }
  }
  for (const w of ctx.maintenance.windows) {
    if (w.unavailability.start > now) next = Math.min(next, w.unavailability.start);
    const end = windowEnd(w);
    if (end > now) next = Math.min(next, end);
  }
  return Number.isFinite(next) ? next : undefined;
}

function armTimer(ctx: MasterContext): void {
  const m = ctx.maintenance;
  const at = nextBoundary(ctx);
  if (at === m.timerAt) return;
  m.timer?.cancel();
  m.timer = undefined;
  m.timerAt = at;
  if (at === undefined) return;
  m.timer = ctx.clock.after(Math.max(0, at - ctx.clock.now()), () => {
    m.timer = undefined;
    m.timerAt = undefined;
    maintenanceTick(ctx);
  });
}

/** The agent's maintenance fields for the state. */
export function agentMaintenanceState(ctx: MasterContext, agent: AgentEntry) {
  const w = windowOf(ctx, agent);
  const inverseOffers = inverseOffersOf(ctx, agent.id);
  return {
    ...(agent.deactivated === true ? { deactivated: true } : {}),
    ...(agent.drain === undefined ? {} : { drain: { ...agent.drain } }),
    ...(w === undefined ? {} : { unavailability: { ...w.unavailability } }),
    ...(inverseOffers.length === 0 ? {} : { inverseOffers }),
  };
}

/**
 * The agent registry: registration (a new id `<masterId>-S<n>`, stored in
 * the registry before the reply), reregistration (same id, its tasks merged
 * in `reregistration.ts`), agents restored by a new leader (`recovered` until
 * they reregister), liveness from heartbeats, unreachable agents (tasks
 * TASK_UNREACHABLE, offers rescinded, resources out of the pool) and removal
 * (tasks TASK_GONE or TASK_LOST, the agent told to shut down).
 */
import {
  type Attributes,
  type ResourcesJson,
  TaskReason,
  TaskState,
} from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { AgentEvent, AgentState, agentLifecycle } from "../../protocol/lifecycles/agent.machine.ts";
import { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import { totalWithCheckpointed } from "../../protocol/operations.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import { Resources } from "../../protocol/resources.ts";
import { type AgentRecord, AgentRegistryState, StoreKeys } from "../../protocol/store.ts";
import { DEFAULT_PRINCIPAL } from "../../protocol/subjects.ts";
import { isPartitionAware } from "./capabilities.ts";
import { interned } from "./intern.ts";
import type { AgentEntry, MasterContext } from "./model.ts";
import { rescindAgentOffers } from "./offers.ts";
import { agentRecord, persistAgent } from "./persist.ts";
import { afterWrite, storeRecord } from "./registry.ts";
import { rememberRemoved } from "./removed.ts";
import { mergeReportedTasks, reportGoneTasks } from "./reregistration.ts";
import { completeTask, isLive, masterTransition } from "./tasks.ts";

/** Moves an agent along its lifecycle; false (and nothing changes) when the event is illegal. */
function advance(ctx: MasterContext, agent: AgentEntry, event: AgentEvent): boolean {
  const next = agentLifecycle.next(agent.status, event);
  if (next === undefined) {
    ctx.logger.warn({ agentId: agent.id, from: agent.status, event }, "illegal agent transition");
    return false;
  }
  agent.status = next;
  return true;
}

function registeredReply(ctx: MasterContext, agentId: string): MessageOf<"agent.registered"> {
  return {
    type: "agent.registered",
    agentId,
    masterId: ctx.masterId,
    heartbeatIntervalSeconds: ctx.config.agentPingTimeout / 1000,
  };
}

function newAgent(
  ctx: MasterContext,
  id: string,
  msg: MessageOf<"agent.register"> | MessageOf<"agent.reregister">,
  total: Resources,
  principal: string,
): AgentEntry {
  const now = ctx.clock.now();
  return {
    id,
    principal,
    ordinal: ctx.pool.nextOrdinal(),
    hostname: msg.hostname,
    total,
    attributes: interned.attributes(msg.attributes),
    version: interned.text(msg.version),
    status: AgentState.Registering,
    registeredAt: now,
    lastSeen: now,
    contacted: false,
    unreachableSince: undefined,
    offered: Resources.empty(),
    used: Resources.empty(),
    tasks: undefined,
    executors: undefined,
    offers: undefined,
    counted: undefined,
    free: undefined,
    dirty: false,
    candidateAt: -1,
    slot: undefined,
  };
}

/**
 * `agent.register` from agent principal `principal`: admits a new agent under
 * a fresh id, once its registry entry (with the principal) is stored (a failed
 * write: UNAVAILABLE, nothing admitted).
 */
export function registerAgent(
  ctx: MasterContext,
  msg: MessageOf<"agent.register">,
  principal: string = DEFAULT_PRINCIPAL,
): MessageOf<"agent.registered"> | Promise<MessageOf<"agent.registered">> {
  const total = interned.resources(msg.resources);
  const id = `${ctx.masterId}-S${ctx.sequence.agents++}`;
  const record = agentRecord(
    {
      id,
      principal,
      hostname: msg.hostname,
      total,
      attributes: msg.attributes,
      unreachableSince: undefined,
    },
    AgentRegistryState.Admitted,
    ctx.clock.now(),
  );
  return afterWrite(storeRecord(ctx.registry, StoreKeys.agent(id), record), () =>
    admitAgent(ctx, id, msg, total, principal),
  );
}

function admitAgent(
  ctx: MasterContext,
  id: string,
  msg: MessageOf<"agent.register">,
  total: Resources,
  principal: string,
): MessageOf<"agent.registered"> {
  const agent = newAgent(ctx, id, msg, total, principal);
  advance(ctx, agent, AgentEvent.Registered);
  ctx.agents.set(id, agent);
  ctx.pool.add(agent);
  ctx.metrics.inc("agents_registered");
  ctx.logger.info(
    { agentId: id, hostname: agent.hostname, resources: msg.resources },
    "agent registered",
  );
  ctx.events.agentAdded(agent);
  return registeredReply(ctx, id);
}

/**
 * `agent.reregister` on `master.agent.<principal>.<agentId>`: an agent that has an id
 * comes back. Its tasks are merged: reported tasks are (re)added, live tasks
 * the master knew there but the agent did not report are dropped (never
 * launched) or lost.
 */
export function reregisterAgent(
  ctx: MasterContext,
  agentId: string,
  msg: MessageOf<"agent.reregister">,
  principal: string = DEFAULT_PRINCIPAL,
): MessageOf<"agent.registered"> | Promise<MessageOf<"agent.registered">> {
  if (msg.agentId !== agentId) {
    throw new AgoraError(
      ErrorCode.Forbidden,
      `agent.reregister for agent ${msg.agentId} sent on the subject of agent ${agentId}`,
    );
  }
  if (ctx.removedAgents.has(agentId)) {
    ctx.outbox.toAgent(agentId, { type: "agent.shutdown", reason: "agent was removed" }, principal);
    reportGoneTasks(ctx, agentId, msg.tasks);
    throw new AgoraError(
      ErrorCode.InvalidState,
      `agent ${agentId} was removed; it must register anew without its id`,
    );
  }
  const stored = ctx.agents.get(agentId);
  const { total, checkpointed } = reconcileCheckpointed(
    ctx,
    stored,
    interned.resources(msg.resources),
  );
  const reply = reregisterWith(ctx, agentId, msg, principal, stored, total);
  if (checkpointed === undefined) return reply;
  const add = (r: MessageOf<"agent.registered">): MessageOf<"agent.registered"> => ({
    ...r,
    checkpointedResources: checkpointed,
  });
  return reply instanceof Promise ? reply.then(add) : add(reply);
}

/**
 * The agent's total after reregistration: what it reported, except that the
 * master's checkpointed resources (dynamic reservations and volumes, from the
 * registry) win over the agent's when they differ and its own resources hold
 * them; the agent is then sent them in the reply (`checkpointed`).
 */
function reconcileCheckpointed(
  ctx: MasterContext,
  stored: AgentEntry | undefined,
  reported: Resources,
): { total: Resources; checkpointed: ResourcesJson | undefined } {
  if (stored === undefined) return { total: reported, checkpointed: undefined };
  const mine = stored.total.checkpointed();
  const theirs = reported.checkpointed();
  if (mine.equals(theirs)) return { total: reported, checkpointed: undefined };
  try {
    const statics = reported.withoutCheckpointed().add(theirs.base());
    const total = totalWithCheckpointed(statics, mine);
    ctx.metrics.inc("agents_checkpointed_resources_reconciled");
    ctx.logger.info(
      { agentId: stored.id, master: mine.toString(), agent: theirs.toString() },
      "agent's checkpointed resources reconciled with the registry's",
    );
    return { total, checkpointed: mine.toJSON() };
  } catch (err) {
    ctx.logger.warn(
      { agentId: stored.id, reason: (err as Error).message },
      "the registry's checkpointed resources do not fit the agent: its own are taken",
    );
    return { total: reported, checkpointed: undefined };
  }
}

function reregisterWith(
  ctx: MasterContext,
  agentId: string,
  msg: MessageOf<"agent.reregister">,
  principal: string,
  stored: AgentEntry | undefined,
  total: Resources,
): MessageOf<"agent.registered"> | Promise<MessageOf<"agent.registered">> {
  // the registry already holds it as admitted with the same info: nothing to write
  const unchanged =
    stored !== undefined &&
    stored.principal === principal &&
    stored.status !== AgentState.Unreachable &&
    stored.hostname === msg.hostname &&
    (stored.total === total || stored.total.equals(total)) &&
    sameAttributes(stored.attributes, msg.attributes);
  if (unchanged) return readmitAgent(ctx, agentId, msg, total, principal);
  const record = agentRecord(
    {
      id: agentId,
      principal,
      hostname: msg.hostname,
      total,
      attributes: msg.attributes,
      unreachableSince: undefined,
    },
    AgentRegistryState.Admitted,
    ctx.clock.now(),
  );
  return afterWrite(storeRecord(ctx.registry, StoreKeys.agent(agentId), record), () => {
    if (ctx.removedAgents.has(agentId)) {
      throw new AgoraError(ErrorCode.InvalidState, `agent ${agentId} was removed meanwhile`);
    }
    return readmitAgent(ctx, agentId, msg, total, principal);
  });
}

function sameAttributes(a: Attributes, b: Attributes): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function readmitAgent(
  ctx: MasterContext,
  agentId: string,
  msg: MessageOf<"agent.reregister">,
  total: Resources,
  principal: string,
): MessageOf<"agent.registered"> {
  let agent = ctx.agents.get(agentId);
  const known = agent !== undefined;
  const recovered = agent?.status === AgentState.Recovered;
  if (agent === undefined) {
    agent = newAgent(ctx, agentId, msg, total, principal);
    ctx.agents.set(agentId, agent);
    ctx.pool.add(agent);
  } else {
    rescindAgentOffers(ctx, agent, "agent reregistered");
    const now = ctx.clock.now();
    agent.hostname = msg.hostname;
    agent.total = total;
    agent.attributes = interned.attributes(msg.attributes);
    agent.version = interned.text(msg.version);
    agent.registeredAt = now;
    agent.lastSeen = now;
    agent.contacted = false;
    agent.unreachableSince = undefined;
  }
  advance(ctx, agent, AgentEvent.Reregistered);
  ctx.pool.sync(agent);
  mergeReportedTasks(ctx, agent, msg.tasks);
  if (recovered) agentBack(ctx);
  ctx.metrics.inc("agents_reregistered");
  ctx.logger.info({ agentId, tasks: msg.tasks.length }, "agent reregistered");
  if (known) ctx.events.agentReregistered(agent);
  else ctx.events.agentAdded(agent);
  return registeredReply(ctx, agentId);
}

/**
 * An agent of the registry, restored by a new leader: `recovered` (not
 * offered, not counted) until it reregisters, or unreachable as stored.
 */
export function restoreAgent(ctx: MasterContext, record: AgentRecord): AgentEntry {
  const agent = newAgent(
    ctx,
    record.id,
    {
      type: "agent.register",
      hostname: record.hostname,
      resources: record.resources,
      attributes: record.attributes,
    },
    interned.resources(record.resources),
    record.principal ?? DEFAULT_PRINCIPAL,
  );
  advance(ctx, agent, AgentEvent.Recover);
  if (record.state === AgentRegistryState.Unreachable) {
    advance(ctx, agent, AgentEvent.ReregisterTimeout);
    agent.unreachableSince = record.unreachableSince ?? ctx.clock.now();
  }
  ctx.agents.set(agent.id, agent);
  ctx.pool.add(agent);
  return agent;
}

/**
 * A recovered agent reregistered: allocation resumes once the configured
 * share of the registry's agents is back.
 */
function agentBack(ctx: MasterContext): void {
  const recovery = ctx.recovery;
  if (recovery === undefined) return;
  recovery.reregistered++;
  if (
    recovery.paused &&
    recovery.reregistered >= recovery.expected * ctx.config.recoveryAgentFraction
  ) {
    resumeAllocation(ctx, "enough agents reregistered");
  }
  if (recovery.reregistered >= recovery.expected) {
    recovery.timer?.cancel();
    ctx.recovery = undefined;
    ctx.logger.info({ agents: recovery.expected }, "every registry agent reregistered");
  }
}

/** Ends the allocation pause of a recovery. */
export function resumeAllocation(ctx: MasterContext, reason: string): void {
  const recovery = ctx.recovery;
  if (recovery === undefined || !recovery.paused) return;
  recovery.paused = false;
  ctx.metrics.inc("recovery_allocation_resumed");
  ctx.logger.info(
    { reason, reregistered: recovery.reregistered, expected: recovery.expected },
    "allocation resumed after failover",
  );
  ctx.requestAllocation();
}

/**
 * Liveness from an agent (a heartbeat or any other message). An unknown or
 * unreachable agent is asked to reregister; a removed one to shut down.
 * Returns the agent when it is active. `principal`: the agent principal of the
 * subject it spoke on (where an agent the master does not know is answered).
 */
export function touchAgent(
  ctx: MasterContext,
  agentId: string,
  principal?: string,
): AgentEntry | undefined {
  const agent = ctx.agents.get(agentId);
  if (agent === undefined || agent.status !== AgentState.Active) {
    if (ctx.removedAgents.has(agentId)) {
      ctx.metrics.inc("agents_removed_contacts");
      ctx.outbox.toAgent(
        agentId,
        { type: "agent.shutdown", reason: "agent was removed" },
        principal,
      );
    } else {
      ctx.metrics.inc("agents_reregister_requests");
      ctx.outbox.toAgent(agentId, { type: "agent.reregisterRequest" }, principal);
    }
    return undefined;
  }
  agent.lastSeen = ctx.clock.now();
  if (!agent.contacted) {
    agent.contacted = true;
    ctx.pool.sync(agent);
    ctx.requestAllocation();
  }
  return agent;
}

/**
 * The agent missed too many heartbeats (or, recovered after a failover, did
 * not reregister in time): its tasks become TASK_UNREACHABLE; the registry
 * keeps it as unreachable.
 */
export function markUnreachable(
  ctx: MasterContext,
  agent: AgentEntry,
  event: AgentEvent = AgentEvent.PingTimeout,
): void {
  if (!advance(ctx, agent, event)) return;
  ctx.pool.sync(agent);
  agent.unreachableSince = ctx.clock.now();
  persistAgent(ctx, agent, AgentRegistryState.Unreachable);
  ctx.metrics.inc("agents_unreachable");
  ctx.logger.warn({ agentId: agent.id }, "agent unreachable");
  rescindAgentOffers(ctx, agent, "agent unreachable");
  for (const task of Array.from(agent.tasks ?? [])) {
    const framework = ctx.frameworks.get(task.frameworkId);
    if (framework === undefined || !isLive(task)) continue;
    masterTransition(
      ctx,
      framework,
      task,
      TaskState.Unreachable,
      TaskReason.AgentDisconnected,
      "agent is unreachable",
    );
  }
  for (const framework of ctx.frameworks.values()) {
    if (framework.status === FrameworkState.Subscribed) {
      ctx.outbox.toFramework(framework.id, { type: "event.failure", agentId: agent.id });
    }
  }
  ctx.events.agentUnreachable(agent.id);
}

/**
 * Removes an agent for good (the registry keeps it as gone): its live tasks
 * become TASK_GONE for PARTITION_AWARE frameworks, TASK_LOST for the others,
 * and it is told to shut down.
 */
export function removeAgent(ctx: MasterContext, agent: AgentEntry, reason: string): void {
  if (!advance(ctx, agent, AgentEvent.Remove)) return;
  ctx.pool.sync(agent);
  persistAgent(ctx, agent, AgentRegistryState.Gone);
  rescindAgentOffers(ctx, agent, "agent removed");
  for (const task of Array.from(agent.tasks ?? [])) {
    const framework = ctx.frameworks.get(task.frameworkId);
    if (framework === undefined) continue;
    if (isLive(task)) {
      const state = isPartitionAware(framework) ? TaskState.Gone : TaskState.Lost;
      masterTransition(ctx, framework, task, state, TaskReason.AgentRemoved, reason);
    } else {
      completeTask(ctx, framework, task);
    }
  }
  ctx.agents.delete(agent.id);
  ctx.pool.delete(agent);
  rememberRemoved(ctx.removedAgents, agent.id);
  ctx.outbox.toAgent(agent.id, { type: "agent.shutdown", reason });
  ctx.metrics.inc("agents_removed");
  ctx.logger.warn({ agentId: agent.id, reason }, "agent removed");
  ctx.events.agentRemoved(agent.id, reason);
}

/**
 * The periodic liveness check (every agent ping timeout): active agents
 * silent for ping timeout × max ping timeouts become unreachable; unreachable
 * agents are removed after the removal timeout (0 = never).
 */
export function sweepAgents(ctx: MasterContext): void {
  const now = ctx.clock.now();
  const silence = ctx.config.agentPingTimeout * ctx.config.maxAgentPingTimeouts;
  const removal = ctx.config.agentRemovalTimeout;
  for (const agent of Array.from(ctx.agents.values())) {
    if (agent.status === AgentState.Active && now - agent.lastSeen >= silence) {
      markUnreachable(ctx, agent);
    } else if (
      agent.status === AgentState.Unreachable &&
      removal > 0 &&
      now - (agent.unreachableSince ?? now) >= removal
    ) {
      removeAgent(ctx, agent, "agent unreachable for longer than the removal timeout");
    }
  }
}

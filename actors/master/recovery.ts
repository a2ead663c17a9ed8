/**
 * A new leader's recovery from the registry (Mesos high-availability.md):
 * agents come back `recovered` (not offered, not counted) and are asked to
 * reregister; frameworks come back disconnected with their failover timers
 * running and are told to resubscribe (`event.resubscribe`); weights, quota
 * and the policy are restored. Agents that do not reregister within the
 * agent reregister timeout become unreachable. Allocation pauses until the
 * configured share of agents is back, or that timeout.
 */
import { AgentEvent, AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import { AgentRegistryState } from "../../protocol/store.ts";
import { markUnreachable, restoreAgent, resumeAllocation } from "./agents.ts";
import { restoreFramework } from "./frameworks.ts";
import { restoreMaintenance } from "./maintenance.ts";
import type { MasterContext } from "./model.ts";
import { setPreemption } from "./preemption.ts";
import type { RegistrySnapshot } from "./registry.ts";
import { rememberRemoved } from "./removed.ts";
import { setRolePriorities, setRoleQuota, setRoleWeights } from "./roles.ts";

/** What recovery may change besides the records. */
export interface RecoveryControls {
  /** Switches to the stored policy. */
  usePolicy?(name: string): void;
}

/** The numeric suffix of an id this master assigned (`<masterId><sep><n>`), else -1. */
function ownSequence(masterId: string, id: string, separator: string): number {
  const head = `${masterId}${separator}`;
  if (!id.startsWith(head)) return -1;
  const n = Number(id.slice(head.length));
  return Number.isInteger(n) && n >= 0 ? n : -1;
}

/** Restores the registry into a fresh core; returns how many agents were asked to reregister. */
export function recoverFromRegistry(
  ctx: MasterContext,
  snapshot: RegistrySnapshot,
  controls: RecoveryControls = {},
): number {
  const reregisterRequests: string[] = [];
  for (const record of snapshot.agents) {
    ctx.sequence.agents = Math.max(
      ctx.sequence.agents,
      ownSequence(ctx.masterId, record.id, "-S") + 1,
    );
    if (record.state === AgentRegistryState.Gone) {
      rememberRemoved(ctx.removedAgents, record.id);
      continue;
    }
    if (ctx.agents.has(record.id)) continue;
    try {
      const agent = restoreAgent(ctx, record);
      if (record.deactivated === true || record.drain !== undefined) {
        agent.deactivated = true;
        agent.drain = record.drain;
        ctx.pool.sync(agent);
      }
      if (agent.status === AgentState.Recovered) reregisterRequests.push(agent.id);
    } catch (err) {
      // valid in shape, not in meaning (e.g. a port range ending before it starts)
      skipped(ctx, `agents.${record.id}`, err);
    }
  }
  const resubscribeRequests: string[] = [];
  for (const record of snapshot.frameworks) {
    ctx.sequence.frameworks = Math.max(
      ctx.sequence.frameworks,
      ownSequence(ctx.masterId, record.id, "-") + 1,
    );
    if (record.removed) {
      rememberRemoved(ctx.removedFrameworks, record.id);
      continue;
    }
    if (ctx.frameworks.has(record.id)) continue;
    try {
      restoreFramework(ctx, record, ctx.config.agentReregisterTimeout);
      resubscribeRequests.push(record.id);
    } catch (err) {
      skipped(ctx, `frameworks.${record.id}`, err);
    }
  }
  restoreSettings(ctx, snapshot, controls);
  restoreMaintenance(ctx, snapshot.maintenance ?? []);
  const expected = reregisterRequests.length;
  const timer =
    expected === 0
      ? undefined
      : ctx.clock.after(ctx.config.agentReregisterTimeout, () => reregisterTimeout(ctx));
  ctx.recovery =
    expected === 0
      ? undefined
      : {
          expected,
          reregistered: 0,
          paused: ctx.config.recoveryAgentFraction > 0,
          startedAt: ctx.clock.now(),
          timer,
        };
  for (const agentId of reregisterRequests) {
    ctx.outbox.toAgent(agentId, { type: "agent.reregisterRequest" });
  }
  for (const frameworkId of resubscribeRequests) {
    ctx.outbox.toFramework(frameworkId, { type: "event.resubscribe", masterId: ctx.masterId });
  }
  ctx.metrics.inc("recoveries");
  ctx.logger.info(
    {
      agents: snapshot.agents.length,
      recovered: expected,
      frameworks: resubscribeRequests.length,
      invalid: snapshot.invalid,
    },
    "registry recovered",
  );
  return expected;
}

/** A stored record that cannot be restored: logged, counted and skipped, never a crash. */
function skipped(ctx: MasterContext, key: string, err: unknown): void {
  ctx.metrics.inc("registry_entries_invalid");
  ctx.logger.warn({ key, reason: (err as Error).message }, "registry entry skipped");
}

function restoreSettings(
  ctx: MasterContext,
  snapshot: RegistrySnapshot,
  controls: RecoveryControls,
): void {
  try {
    if (snapshot.weights !== undefined) setRoleWeights(ctx, snapshot.weights);
  } catch (err) {
    ctx.metrics.inc("registry_entries_invalid");
    ctx.logger.warn({ reason: (err as Error).message }, "stored weights skipped");
  }
  try {
    if (snapshot.priorities !== undefined) setRolePriorities(ctx, snapshot.priorities);
  } catch (err) {
    ctx.metrics.inc("registry_entries_invalid");
    ctx.logger.warn({ reason: (err as Error).message }, "stored priorities skipped");
  }
  for (const [role, quota] of Object.entries(snapshot.quotas ?? {})) {
    try {
      setRoleQuota(ctx, role, quota);
    } catch (err) {
      ctx.metrics.inc("registry_entries_invalid");
      ctx.logger.warn({ role, reason: (err as Error).message }, "stored quota skipped");
    }
  }
  if (snapshot.preemption !== undefined) setPreemption(ctx, snapshot.preemption);
  if (snapshot.policy !== undefined && controls.usePolicy !== undefined) {
    try {
      controls.usePolicy(snapshot.policy);
    } catch (err) {
      ctx.metrics.inc("registry_entries_invalid");
      ctx.logger.warn({ reason: (err as Error).message }, "stored policy skipped");
    }
  }
}

/** The agent reregister timeout: agents still recovered become unreachable; allocation resumes. */
function reregisterTimeout(ctx: MasterContext): void {
  const recovery = ctx.recovery;
  if (recovery === undefined || !ctx.isLeading()) return;
  recovery.timer = undefined;
  let count = 0;
  for (const agent of Array.from(ctx.agents.values())) {
    if (agent.status !== AgentState.Recovered) continue;
    markUnreachable(ctx, agent, AgentEvent.ReregisterTimeout);
    count++;
  }
  ctx.logger.warn({ agents: count }, "agents did not reregister after the failover");
  resumeAllocation(ctx, "agent reregister timeout");
  ctx.recovery = undefined;
}

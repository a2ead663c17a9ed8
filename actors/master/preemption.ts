/**
 * Preemption in the master (off by default: `--preemption`, `agora
 * preemption on|off`): the frameworks' demands (`scheduler.request`), the
 * plan after each allocation cycle (policies/preempt.ts, the same code in
 * `agora simulate`), and the kills it asks for. A victim is killed with its
 * own kill grace period and its terminal update carries
 * `REASON_TASK_PREEMPTED`. Each demand preempts at most once (one round);
 * while a round's victims are still ending, its agent is not used for
 * another round. See docs/preemption.md for why this cannot loop.
 */

import { type Demand, planPreemptions, type RunningTask } from "../../policies/preempt.ts";
import { isQuantities } from "../../policies/quantities.ts";
import type { AllocationContext } from "../../policies/types.ts";
import { TaskReason } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import { Resources } from "../../protocol/resources.ts";
import type { FrameworkEntry, MasterContext } from "./model.ts";
import type { PreemptionRound } from "./preemption-state.ts";
import { isLive } from "./tasks.ts";

/**
 * Switches preemption on or off; off forgets the rounds under way (their
 * kills were sent and stand).
 */
export function setPreemption(ctx: MasterContext, enabled: boolean): void {
  const state = ctx.preemption;
  if (state.enabled === enabled) return;
  state.enabled = enabled;
  if (!enabled) state.rounds.length = 0;
  ctx.logger.info({ enabled }, "preemption switched");
  ctx.requestAllocation();
}

/**
 * `scheduler.request`: replaces the framework's standing demands.
 * @throws AgoraError NOT_FOUND for a role it has not subscribed with, INVALID_RESOURCES for bad resources
 */
export function setDemands(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.request">,
): void {
  const state = ctx.preemption;
  const demands: Demand[] = [];
  for (const [i, request] of call.requests.entries()) {
    const role = request.role ?? framework.roles[0] ?? "*";
    if (!framework.roles.includes(role)) {
      throw new AgoraError(
        ErrorCode.NotFound,
        `requests[${i}]: framework ${framework.id} has not subscribed with role ${role}`,
      );
    }
    let resources: Resources;
    try {
      resources = Resources.fromJSON(request.resources);
    } catch (cause) {
      throw new AgoraError(
        ErrorCode.InvalidResources,
        `requests[${i}]: ${(cause as Error).message}`,
      );
    }
    if (resources.isEmpty() || !isQuantities(resources)) {
      throw new AgoraError(
        ErrorCode.InvalidResources,
        `requests[${i}]: a demand is unreserved scalar resources, e.g. {"cpus": 1, "mem": 128}`,
      );
    }
    state.sequence += 1;
    demands.push({
      id: `${framework.id}#${state.sequence}`,
      frameworkId: framework.id,
      role,
      resources,
    });
  }
  if (demands.length === 0) state.demands.delete(framework.id);
  else state.demands.set(framework.id, demands);
  ctx.metrics.inc("demands_set");
  ctx.requestAllocation();
}

/** An offer was made: the framework's first demand of the role that it contains is served. */
export function demandServed(
  ctx: MasterContext,
  frameworkId: string,
  role: string,
  resources: Resources,
): void {
  const demands = ctx.preemption.demands.get(frameworkId);
  if (demands === undefined) return;
  const at = demands.findIndex((d) => d.role === role && resources.contains(d.resources));
  if (at === -1) return;
  demands.splice(at, 1);
  if (demands.length === 0) ctx.preemption.demands.delete(frameworkId);
  ctx.metrics.inc("demands_served");
}

function roundEnded(ctx: MasterContext, round: PreemptionRound): boolean {
  return round.victims.every(({ frameworkId, taskId }) => {
    const task = ctx.frameworks.get(frameworkId)?.tasks.get(taskId);
    return task === undefined || !isLive(task);
  });
}

/**
 * After an allocation cycle: plans the preemptions for the demands that may
 * preempt and kills their victims; returns how many tasks it killed.
 */
export function preemptNow(ctx: MasterContext, contextOf: () => AllocationContext): number {
  const state = ctx.preemption;
  if (!state.enabled || state.demands.size === 0) return 0;
  for (let i = state.rounds.length - 1; i >= 0; i--) {
    if (roundEnded(ctx, state.rounds[i]!)) state.rounds.splice(i, 1);
  }
  const waiting = new Set(state.rounds.map((r) => r.demandId));
  const busyAgents = new Set(state.rounds.map((r) => r.agentId));
  const demands: Demand[] = [];
  for (const [frameworkId, list] of state.demands) {
    const framework = ctx.frameworks.get(frameworkId);
    if (framework === undefined) {
      state.demands.delete(frameworkId);
      continue;
    }
    if (framework.status !== FrameworkState.Subscribed) continue;
    for (const d of list) if (!state.spent.has(d.id) && !waiting.has(d.id)) demands.push(d);
  }
  if (demands.length === 0) return 0;
  const agents = [];
  for (const agent of ctx.agents.values()) {
    if (agent.status !== AgentState.Active || busyAgents.has(agent.id)) continue;
    const tasks: RunningTask[] = [];
    for (const task of agent.tasks ?? []) {
      if (!isLive(task) || !task.accounted || task.kill !== undefined) continue;
      tasks.push({
        taskId: task.taskId,
        frameworkId: task.frameworkId,
        role: task.role,
        agentId: agent.id,
        resources: task.resources,
        startedAt: task.status?.timestamp ?? 0,
      });
    }
    agents.push({ agentId: agent.id, free: ctx.pool.freeOf(agent), tasks });
  }
  const context = contextOf();
  const plan = planPreemptions(context, {
    demands,
    agents,
    byPriority: ctx.policy.name === "priority",
  });
  let killed = 0;
  for (const p of plan) {
    state.spent.add(p.demandId);
    state.rounds.push({
      demandId: p.demandId,
      frameworkId: p.frameworkId,
      agentId: p.agentId,
      victims: p.victims.map((v) => ({ frameworkId: v.frameworkId, taskId: v.taskId })),
    });
    for (const victim of p.victims) {
      const task = ctx.frameworks.get(victim.frameworkId)?.tasks.get(victim.taskId);
      if (task === undefined) continue;
      task.kill = { gracePeriodSeconds: undefined, reason: TaskReason.TaskPreempted };
      ctx.outbox.toAgent(task.agentId, {
        type: "agent.killTask",
        frameworkId: task.frameworkId,
        taskId: task.taskId,
      });
      killed += 1;
    }
    ctx.logger.info(
      {
        demand: p.demandId,
        frameworkId: p.frameworkId,
        role: p.role,
        agentId: p.agentId,
        rule: p.rule,
        victims: p.victims.map((v) => `${v.frameworkId}/${v.taskId}`),
      },
      "preempting tasks for a demand",
    );
  }
  if (killed > 0) ctx.metrics.inc("tasks_preempted", killed);
  if (plan.length > 0) ctx.metrics.inc("preemption_rounds", plan.length);
  return killed;
}

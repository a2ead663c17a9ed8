/**
 * The master's state as the JSON of DESIGN §7 (`operator.state`, printed by
 * `agora state`): agents, frameworks with their tasks, the cluster total and
 * the roles' shares.
 */

import { dominantShare } from "../../policies/shares.ts";
import { AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import type { MasterState } from "../../protocol/operator.ts";
import { Resources } from "../../protocol/resources.ts";
import { clusterTotal } from "./allocator.ts";
import { gangsJson } from "./gang.ts";
import { totalAllocationOf } from "./ledger.ts";
import { agentMaintenanceState } from "./maintenance.ts";
import type { FrameworkEntry, LeadershipView, MasterContext, TaskEntry } from "./model.ts";
import { freeOf } from "./pool.ts";
import { roleSummaries } from "./roles.ts";
import { usageOf } from "./usage.ts";

type StateTask = MasterState["frameworks"][number]["tasks"][number];

function sum(values: Iterable<Resources>): Resources {
  let total = Resources.empty();
  for (const r of values) total = total.add(r);
  return total;
}

function taskJson(task: TaskEntry): StateTask {
  return {
    id: task.taskId,
    name: task.name,
    state: task.state,
    agentId: task.agentId,
    resources: task.resources.toJSON(),
    role: task.role,
    executorId: task.executorId,
    ...(task.status?.healthy === undefined ? {} : { healthy: task.status.healthy }),
    ...usageOf(task),
  };
}

function frameworkJson(framework: FrameworkEntry, total: Resources) {
  return {
    id: framework.id,
    name: framework.name,
    roles: framework.roles,
    active: framework.status === FrameworkState.Subscribed,
    used: sum(framework.used.values()).toJSON(),
    offered: sum(framework.offered.values()).toJSON(),
    dominantShare: dominantShare(totalAllocationOf(framework), total),
    tasks: [...framework.tasks.values(), ...framework.completed].map(taskJson),
  };
}

/** The master's state (a snapshot: plain JSON, safe to keep). */
export function masterState(ctx: MasterContext): MasterState {
  const total = clusterTotal(ctx);
  const roles = roleSummaries(ctx, total);
  const leadership = ctx.leadership();
  const recovery = ctx.recovery;
  return {
    masterId: ctx.masterId,
    leader: leadership.leader && ctx.isLeading(),
    ...(leadership.leaderId === undefined ? {} : { leaderId: leadership.leaderId }),
    ...(leadership.masters === undefined ? {} : { masters: leadership.masters }),
    ...(recovery === undefined
      ? {}
      : {
          recovery: {
            paused: recovery.paused,
            expected: recovery.expected,
            reregistered: recovery.reregistered,
          },
        }),
    startTime: ctx.startTime,
    policy: ctx.policy.name,
    ...(ctx.preemption.enabled ? { preemption: true } : {}),
    total: total.toJSON(),
    agents: Array.from(ctx.agents.values(), (agent) => ({
      id: agent.id,
      principal: agent.principal,
      hostname: agent.hostname,
      resources: agent.total.toJSON(),
      used: agent.used.toJSON(),
      offered: agent.offered.toJSON(),
      free: freeOf(agent).toJSON(),
      attributes: agent.attributes,
      active: agent.status === AgentState.Active,
      status: agent.status,
      ...agentMaintenanceState(ctx, agent),
    })),
    frameworks: Array.from(ctx.frameworks.values(), (f) => frameworkJson(f, total)),
    offers: Array.from(ctx.offers.values(), (o) => ({
      offerId: o.offerId,
      frameworkId: o.frameworkId,
      agentId: o.agentId,
      role: o.role,
      resources: o.resources.toJSON(),
      createdAt: o.createdAt,
    })),
    ...(ctx.gangs.gangs.size === 0 ? {} : { gangs: gangsJson(ctx) }),
    roles,
  };
}

/** What a standby answers on its instance subject: who leads, no records. */
export function standbyState(
  masterId: string,
  startTime: number,
  policy: string,
  leadership: LeadershipView,
): MasterState {
  return {
    masterId,
    leader: false,
    ...(leadership.leaderId === undefined ? {} : { leaderId: leadership.leaderId }),
    ...(leadership.masters === undefined ? {} : { masters: leadership.masters }),
    startTime,
    policy,
    total: {},
    agents: [],
    frameworks: [],
    roles: {},
  };
}

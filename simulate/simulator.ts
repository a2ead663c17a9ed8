/**
 * `agora simulate`: replays a scenario through the master itself — the
 * network-free master core (`createMasterCore`) with its allocator, offer
 * book, accept path and task registry — on a virtual clock, with scripted
 * agents and frameworks in place of processes and a zero-latency in-memory
 * outbox in place of NATS. Nothing is re-implemented: the policy, the quota,
 * filters, suppress/revive and rescind are the master's.
 *
 * Time: the initial agents and frameworks join at t=0, then the steps at t=0
 * run, then everything they caused settles (the first allocation cycle).
 * Later, steps due at a time run before the master's timers due at the same
 * time (e.g. the batch allocation). After every step and timer, messages are
 * delivered until the cluster is quiet again, all at the same virtual time:
 * frameworks answer offers at once.
 */

import {
  addDeclineFilter,
  clusterTotal,
  createMasterCore,
  deactivateAgent,
  drainAgent,
  explain,
  isLive,
  type Outbox,
  operatorOperation,
  reactivateAgent,
  removeAgent,
  resolveMasterConfig,
  roleSummaries,
  setPreemption,
  setRolePriority,
  setRoleQuota,
  setRoleWeight,
  totalAllocationOf,
  updateMaintenanceSchedule,
} from "../actors/master/embedded.ts";
import { type Clock, VirtualClock } from "../infra/clock.ts";
import { silentLogger } from "../infra/logger.ts";
import { Metrics } from "../infra/metrics.ts";
import { resolvePolicy } from "../policies/index.ts";
import { dominantShare } from "../policies/shares.ts";
import type { AllocationPolicy } from "../policies/types.ts";
import { type ResourcesJson, TaskReason, TaskState } from "../protocol/common.ts";
import { AgoraError, ErrorCode } from "../protocol/errors.ts";
import type { Message } from "../protocol/registry.ts";
import { Resources } from "../protocol/resources.ts";
import type { RolePlan, Scenario, StepPlan } from "./scenario.ts";
import {
  endsTask,
  SimAgent,
  type SimEvent,
  SimFramework,
  type SimGangTimeout,
  type SimTask,
  type SimWorld,
} from "./scripted.ts";

/** The master's resource operation of each scenario step. */
const OPERATION_OF_STEP = {
  reserve: "reserve",
  unreserve: "unreserve",
  createVolume: "create",
  destroyVolume: "destroy",
} as const;

/** The last line of a simulation. */
export interface SimSummary {
  event: "summary";
  frameworks: Record<string, { tasks: number; allocated: ResourcesJson; dominantShare: number }>;
  roles: Record<string, { allocated: ResourcesJson; dominantShare: number }>;
}

/** An `explain` step's line: per role, the share and `kind: message` of each reason. */
export interface SimExplain {
  t: number;
  event: "explain";
  framework: string;
  roles: Array<{ role: string; share: number; offersOutstanding: number; reasons: string[] }>;
}

/**
 * An agent was deactivated, started draining, is drained or was reactivated
 * (`cluster.agentUpdated`): `state` is `deactivated`, `DRAINING`, `DRAINED` or `active`.
 */
export interface SimAgentUpdate {
  t: number;
  event: "agent";
  agent: string;
  state: string;
}

/** One output line. */
export type SimLine = SimEvent | SimSummary | SimExplain | SimAgentUpdate | SimGangTimeout;

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** A policy (name or object) instead of the scenario's. */
  policy?: string | AllocationPolicy;
  /** Called with every line as it happens (the summary last). */
  onLine?: (line: SimLine) => void;
}

/** Deliveries per settling beyond which the simulation is declared runaway. */
const MAX_DELIVERIES = 1_000_000;

function stepError(step: StepPlan, err: unknown): AgoraError {
  const reason = err instanceof Error ? err.message : String(err);
  return new AgoraError(ErrorCode.InvalidConfig, `${step.path} (${step.do}): ${reason}`, {
    cause: err,
  });
}

function taskNumber(task: SimTask): number {
  const n = Number(task.taskId.slice(task.taskId.lastIndexOf("-") + 1));
  return Number.isFinite(n) ? n : 0;
}

/**
 * Runs a scenario to its end and returns its output lines, the summary last.
 * @throws AgoraError INVALID_CONFIG for an unknown policy or a step the master refuses
 */
export function simulate(scenario: Scenario, options: SimulateOptions = {}): SimLine[] {
  let policy: AllocationPolicy;
  try {
    policy = resolvePolicy(options.policy ?? scenario.policy);
  } catch (err) {
    throw new AgoraError(ErrorCode.InvalidConfig, `policy: ${(err as Error).message}`);
  }
  const lines: SimLine[] = [];
  const push = (line: SimLine) => {
    lines.push(line);
    options.onLine?.(line);
  };

  const virtual = new VirtualClock(0);
  const queue: Array<() => void> = [];
  let settling = false;
  const settle = () => {
    if (settling) return;
    settling = true;
    try {
      for (let n = 0; queue.length > 0; n++) {
        if (n >= MAX_DELIVERIES) {
          throw new AgoraError(
            ErrorCode.Internal,
            `the simulation does not settle at t=${virtual.now()} ms`,
          );
        }
        queue.shift()?.();
      }
    } finally {
      settling = false;
    }
  };
  const clock: Clock = {
    now: () => virtual.now(),
    after: (ms, fn) =>
      virtual.after(ms, () => {
        fn();
        settle();
      }),
    every: (ms, fn) =>
      virtual.every(ms, () => {
        fn();
        settle();
      }),
  };

  const agents = new Map<string, SimAgent>();
  const frameworks = new Map<string, SimFramework>();
  /** Tasks whose end a `decline` step reports itself (as a decline, not a return). */
  const declining = new Set<string>();

  const outbox: Outbox = {
    toAgent: (agentId, msg) => queue.push(() => agents.get(agentId)?.receive(msg)),
    toFramework: (frameworkId, msg) => queue.push(() => frameworks.get(frameworkId)?.receive(msg)),
    cluster: (_kind, msg) => onClusterEvent(msg),
  };

  const config = resolveMasterConfig({
    env: {},
    overrides: {
      masterId: "sim",
      policy: policy.name,
      allocationInterval: scenario.allocationInterval,
      offerTimeout: scenario.offerTimeout,
      preemption: scenario.preemption,
      ...(scenario.gangHoldFraction === undefined
        ? {}
        : { gangHoldFraction: scenario.gangHoldFraction }),
      ...(scenario.gangBackoff === undefined ? {} : { gangBackoff: scenario.gangBackoff }),
    },
  });
  const core = createMasterCore({
    masterId: "sim",
    config,
    clock,
    logger: silentLogger(),
    metrics: new Metrics(),
    outbox,
    policy,
    schedule: (fn) => queue.push(fn),
  });
  const { ctx } = core;
  const world: SimWorld = {
    ctx,
    clock,
    emit: (event) => push({ t: virtual.now(), ...event }),
    emitGangTimeout: (event) => push({ t: virtual.now(), ...event }),
  };

  function onClusterEvent(msg: Message): void {
    if (msg.type === "cluster.agentUpdated") {
      push({
        t: virtual.now(),
        event: "agent",
        agent: msg.agentId,
        state: msg.drain?.state ?? (msg.deactivated ? "deactivated" : "active"),
      });
      return;
    }
    if (msg.type !== "cluster.taskUpdated" || !endsTask(msg.state, msg.previousState)) return;
    const key = `${msg.frameworkId}\u0000${msg.taskId}`;
    if (declining.delete(key)) return;
    const role = ctx.frameworks.get(msg.frameworkId)?.tasks.get(msg.taskId)?.role ?? "*";
    world.emit({
      event: msg.reason === TaskReason.TaskPreempted ? "preempt" : "return",
      framework: msg.frameworkId,
      role,
      agent: msg.agentId,
      resources: msg.resources,
    });
  }

  const applyRole = (role: string, plan: RolePlan) => {
    if (plan.weight !== undefined) setRoleWeight(ctx, role, plan.weight);
    if (plan.priority !== undefined) setRolePriority(ctx, role, plan.priority);
    if (plan.quota !== undefined) setRoleQuota(ctx, role, plan.quota);
  };

  const tasksOf = (frameworkId: string, agentId: string | undefined): SimTask[] => {
    const out: Array<SimTask & { agentId: string }> = [];
    for (const agent of agents.values()) {
      if (agentId !== undefined && agent.id !== agentId) continue;
      for (const task of agent.tasksOf(frameworkId)) out.push({ ...task, agentId: agent.id });
    }
    return out.sort((a, b) => taskNumber(a) - taskNumber(b));
  };

  const finish = (frameworkId: string, agentId: string | undefined, count?: number) => {
    const tasks = tasksOf(frameworkId, agentId).slice(0, count);
    for (const task of tasks) {
      const agent = Array.from(agents.values()).find((a) =>
        a.tasks.has(`${frameworkId}\u0000${task.taskId}`),
      );
      agent?.end(frameworkId, task.taskId, TaskState.Finished);
    }
    return tasks;
  };

  /** An operator call on the simulation's memory registry is applied at once. */
  const applied = (reply: undefined | Promise<undefined>) => {
    if (reply instanceof Promise) throw new Error("the simulation's registry stores at once");
  };

  const runStep = (step: StepPlan) => {
    switch (step.do) {
      case "addAgent":
        agents.set(step.agent.id, new SimAgent(world, step.agent));
        return;
      case "removeAgent": {
        const entry = ctx.agents.get(step.agent);
        if (entry === undefined) throw new Error(`agent ${step.agent} is not in the cluster`);
        removeAgent(ctx, entry, "removed by the scenario");
        agents.get(step.agent)?.stop();
        return;
      }
      case "addFramework":
        frameworks.set(step.framework.id, new SimFramework(world, step.framework));
        return;
      case "removeFramework": {
        const fw = frameworks.get(step.framework);
        fw?.call({ type: "scheduler.teardown", reason: "removed by the scenario" });
        return;
      }
      case "decline": {
        const fw = frameworks.get(step.framework);
        const entry = ctx.frameworks.get(step.framework);
        if (fw === undefined || entry === undefined) {
          throw new Error(`framework ${step.framework} is not subscribed`);
        }
        fw.releaseHeld(step.agent, "decline", step.refuseSeconds);
        const tasks = tasksOf(step.framework, step.agent);
        const byRole = new Map<string, Resources>();
        for (const task of tasks) {
          declining.add(`${step.framework}\u0000${task.taskId}`);
          byRole.set(task.role, (byRole.get(task.role) ?? Resources.empty()).add(task.resources));
        }
        finish(step.framework, step.agent);
        const filters =
          step.refuseSeconds === undefined ? undefined : { refuseSeconds: step.refuseSeconds };
        for (const [role, resources] of byRole) {
          world.emit({
            event: "decline",
            framework: step.framework,
            role,
            agent: step.agent,
            resources: resources.toJSON(),
          });
          addDeclineFilter(ctx, entry, step.agent, role, resources, filters);
        }
        return;
      }
      case "returnResources": {
        const fw = frameworks.get(step.framework);
        fw?.releaseHeld(step.agent, "return", 0);
        finish(step.framework, step.agent);
        return;
      }
      case "finishTasks":
        finish(step.framework, step.agent, step.count);
        return;
      case "suppress":
      case "revive":
        frameworks.get(step.framework)?.call({
          type: step.do === "suppress" ? "scheduler.suppress" : "scheduler.revive",
          ...(step.roles === undefined ? {} : { roles: step.roles }),
        });
        return;
      case "setWeight":
        setRoleWeight(ctx, step.role, step.weight);
        return;
      case "setQuota":
        setRoleQuota(ctx, step.role, step.quota);
        return;
      case "setPriority":
        setRolePriority(ctx, step.role, step.priority);
        return;
      case "reserve":
      case "unreserve":
      case "createVolume":
      case "destroyVolume":
        // the master's own operator path (validation, offers rescinded, registry, agent told)
        void operatorOperation(
          ctx,
          step.agent,
          OPERATION_OF_STEP[step.do],
          step.resources.toJSON(),
          step.principal,
        );
        return;
      case "drainAgent":
        applied(
          drainAgent(ctx, {
            type: "operator.drainAgent",
            agentId: step.agent,
            markGone: step.markGone,
            ...(step.deadline === undefined ? {} : { deadlineSeconds: step.deadline / 1000 }),
            ...(step.maxGracePeriod === undefined
              ? {}
              : { maxGracePeriodSeconds: step.maxGracePeriod / 1000 }),
          }),
        );
        return;
      case "deactivateAgent":
        applied(deactivateAgent(ctx, { type: "operator.deactivateAgent", agentId: step.agent }));
        return;
      case "reactivateAgent":
        applied(reactivateAgent(ctx, { type: "operator.reactivateAgent", agentId: step.agent }));
        return;
      case "scheduleMaintenance":
        applied(
          updateMaintenanceSchedule(ctx, {
            type: "operator.updateMaintenanceSchedule",
            windows: step.windows.map((w) => ({
              machines: w.agents.map((agentId) => ({ agentId })),
              unavailability: {
                start: w.start,
                ...(w.duration === undefined ? {} : { durationMs: w.duration }),
              },
            })),
          }),
        );
        return;
      case "request":
        frameworks.get(step.framework)?.call({
          type: "scheduler.request",
          requests: Array.from({ length: step.count }, () => ({
            ...(step.role === undefined ? {} : { role: step.role }),
            resources: step.resources.toJSON(),
          })),
        });
        return;
      case "setPreemption":
        setPreemption(ctx, step.enabled);
        return;
      case "requestGang":
        frameworks.get(step.framework)?.requestGang(step);
        return;
      case "explain": {
        const reply = explain(ctx, { frameworkId: step.framework, role: step.role });
        push({
          t: virtual.now(),
          event: "explain",
          framework: step.framework,
          roles: reply.roles.map((r) => ({
            role: r.role,
            share: r.share,
            offersOutstanding: r.offersOutstanding,
            reasons: r.reasons.map((reason) => `${reason.kind}: ${reason.message}`),
          })),
        });
        return;
      }
    }
  };

  const guarded = (step: StepPlan) => {
    try {
      runStep(step);
    } catch (err) {
      throw stepError(step, err);
    }
  };

  try {
    for (const [role, plan] of Object.entries(scenario.roles)) {
      try {
        applyRole(role, plan);
      } catch (err) {
        throw new AgoraError(ErrorCode.InvalidConfig, `roles.${role}: ${(err as Error).message}`);
      }
    }
    // Later steps are timers made before the master's: at equal times they run first.
    for (const step of scenario.steps) {
      if (step.at > 0 && step.at <= scenario.until) clock.after(step.at, () => guarded(step));
    }
    core.start();
    for (const plan of scenario.agents) agents.set(plan.id, new SimAgent(world, plan));
    for (const plan of scenario.frameworks) frameworks.set(plan.id, new SimFramework(world, plan));
    for (const step of scenario.steps) if (step.at === 0) guarded(step);
    settle();
    virtual.advanceTo(scenario.until);
    push(summarize());
  } finally {
    core.stop();
    for (const agent of agents.values()) agent.stop();
  }
  return lines;

  function summarize(): SimSummary {
    const total = clusterTotal(ctx);
    const summary: SimSummary = { event: "summary", frameworks: {}, roles: {} };
    for (const framework of ctx.frameworks.values()) {
      const allocated = totalAllocationOf(framework);
      summary.frameworks[framework.id] = {
        tasks: Array.from(framework.tasks.values()).filter(isLive).length,
        allocated: allocated.toJSON(),
        dominantShare: dominantShare(allocated, total),
      };
    }
    for (const [role, r] of Object.entries(roleSummaries(ctx, total))) {
      summary.roles[role] = { allocated: r.allocated, dominantShare: r.dominantShare };
    }
    return summary;
  }
}

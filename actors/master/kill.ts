/**
 * `scheduler.kill` (Mesos `Master::kill`): a kill is remembered on the task
 * (Mesos's `killedTasks`) and sent to its agent when that agent is active;
 * a kill its agent cannot get now (unreachable, or recovered after a
 * failover and not back yet) is delivered when the agent reregisters and
 * reports the task live. Meanwhile the framework is answered as Mesos's
 * reconciliation answers: TASK_UNREACHABLE for a task on an unreachable
 * agent, nothing for one on an agent not back yet after a failover.
 */
import { MAX_PENDING_KILLS } from "../../infra/defaults.ts";
import { TaskReason, TaskState } from "../../protocol/common.ts";
import { AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import type { AgentEntry, FrameworkEntry, KillRequest, MasterContext, TaskEntry } from "./model.ts";
import { findCompleted, isLive, masterStatus, reconcileStatus, sendUpdate } from "./tasks.ts";

function killKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}\u0000${taskId}`;
}

/** Sends `agent.killTask` for a task whose kill was requested. */
function sendKill(ctx: MasterContext, agentId: string, task: TaskEntry, kill: KillRequest): void {
  ctx.outbox.toAgent(agentId, {
    type: "agent.killTask",
    frameworkId: task.frameworkId,
    taskId: task.taskId,
    ...(kill.gracePeriodSeconds === undefined
      ? {}
      : { gracePeriodSeconds: kill.gracePeriodSeconds }),
    ...(kill.maxGracePeriodSeconds === undefined
      ? {}
      : { maxGracePeriodSeconds: kill.maxGracePeriodSeconds }),
  });
}

/**
 * Kills a live task for the master itself (a drain): sent now when its agent
 * is active, else remembered on the task and sent when the agent reregisters
 * and reports it live. False when the task is not live.
 */
export function requestKill(ctx: MasterContext, task: TaskEntry, kill: KillRequest): boolean {
  if (!isLive(task)) return false;
  task.kill = kill;
  const agent = ctx.agents.get(task.agentId);
  if (agent?.status === AgentState.Active) sendKill(ctx, agent.id, task, kill);
  return true;
}

/** Remembers a kill in a bounded map; false (and counted) when the map is full. */
function remember(
  ctx: MasterContext,
  map: Map<string, KillRequest>,
  key: string,
  kill: KillRequest,
): boolean {
  if (!map.has(key) && map.size >= MAX_PENDING_KILLS) {
    ctx.metrics.inc("kills_pending_dropped");
    return false;
  }
  map.set(key, kill);
  ctx.metrics.inc("kills_deferred");
  return true;
}

/** `scheduler.kill`. */
export function killTask(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.kill">,
): void {
  const kill: KillRequest = { gracePeriodSeconds: call.gracePeriodSeconds };
  const task = framework.tasks.get(call.taskId);
  if (task === undefined) {
    killUnknownTask(ctx, framework, call, kill);
    return;
  }
  if (!isLive(task)) return;
  task.kill = kill;
  const agent = ctx.agents.get(task.agentId);
  if (agent?.status === AgentState.Active) {
    sendKill(ctx, agent.id, task, kill);
    ctx.metrics.inc("kills_forwarded");
    return;
  }
  ctx.metrics.inc("kills_deferred");
  ctx.logger.warn(
    { frameworkId: framework.id, taskId: task.taskId, agentId: task.agentId },
    "agent not reachable; the kill is sent when it reregisters",
  );
  sendUpdate(ctx, framework, reconcileStatus(task, ctx.clock.now()));
}

/**
 * A kill for a task the master does not know: a completed task is answered
 * with its last state; one on an agent not back yet (recovered or
 * unreachable) is remembered for that agent (no answer while it is
 * recovered, TASK_UNREACHABLE while it is unreachable); one naming no agent
 * while a recovery waits for agents is remembered for the recovery (no
 * answer); otherwise TASK_LOST.
 */
function killUnknownTask(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.kill">,
  kill: KillRequest,
): void {
  const now = ctx.clock.now();
  const done = findCompleted(framework, call.taskId);
  if (done !== undefined) {
    sendUpdate(ctx, framework, reconcileStatus(done, now));
    return;
  }
  const key = killKey(framework.id, call.taskId);
  const ref = { taskId: call.taskId, agentId: call.agentId };
  const agent = call.agentId === undefined ? undefined : ctx.agents.get(call.agentId);
  if (agent?.status === AgentState.Recovered || agent?.status === AgentState.Unreachable) {
    agent.kills ??= new Map();
    remember(ctx, agent.kills, key, kill);
    if (agent.status === AgentState.Unreachable) {
      sendUpdate(
        ctx,
        framework,
        masterStatus(
          ref,
          TaskState.Unreachable,
          TaskReason.Reconciliation,
          "agent is unreachable",
          now,
        ),
      );
    }
    return;
  }
  const recovery = ctx.recovery;
  if (
    call.agentId === undefined &&
    recovery !== undefined &&
    recovery.reregistered < recovery.expected
  ) {
    recovery.kills ??= new Map();
    remember(ctx, recovery.kills, key, kill);
    return;
  }
  sendUpdate(
    ctx,
    framework,
    masterStatus(
      ref,
      TaskState.Lost,
      TaskReason.Reconciliation,
      "cannot kill an unknown task",
      now,
    ),
  );
}

/**
 * An agent reregistered and reported `task` live: a kill requested for it
 * (on the task, for the agent, or for the recovery) is sent now.
 */
export function deliverPendingKill(ctx: MasterContext, agent: AgentEntry, task: TaskEntry): void {
  if (!isLive(task)) return;
  const key = killKey(task.frameworkId, task.taskId);
  const kill = task.kill ?? agent.kills?.get(key) ?? ctx.recovery?.kills?.get(key);
  if (kill === undefined) return;
  task.kill = kill;
  ctx.recovery?.kills?.delete(key);
  sendKill(ctx, agent.id, task, kill);
  ctx.metrics.inc("kills_redelivered");
}

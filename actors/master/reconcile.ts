/**
 * What a framework learns of its tasks after a failure: reconciliation
 * (Mesos reconciliation.md) and, on resubscription, the status updates it has
 * not acknowledged.
 */
import { TaskReason, TaskState } from "../../protocol/common.ts";
import { AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import type { FrameworkEntry, MasterContext } from "./model.ts";
import { findCompleted, isLive, masterStatus, reconcileStatus, sendUpdate } from "./tasks.ts";

/**
 * A framework (re)subscribed: every status update it has not acknowledged
 * (the latest of each task, with its uuid) is sent again at once.
 */
export function resendUnacknowledged(ctx: MasterContext, framework: FrameworkEntry): number {
  let count = 0;
  for (const task of framework.tasks.values()) {
    const status = task.status;
    if (task.acknowledged || status?.uuid === undefined) continue;
    sendUpdate(ctx, framework, { ...status, agentId: task.agentId, executorId: task.executorId });
    count++;
  }
  if (count > 0) ctx.metrics.inc("status_updates_resent", count);
  return count;
}

/**
 * `scheduler.reconcile` (Mesos reconciliation.md): explicit — the latest
 * state of each task named; a task the master does not know is answered by
 * what it knows of the agent named: recovered after a failover and not back
 * yet → no answer (the framework asks again), unreachable →
 * TASK_UNREACHABLE, removed → TASK_GONE, otherwise TASK_UNKNOWN (without an
 * agent id and while a recovery waits for agents: no answer either).
 * Implicit (empty list) — the latest state of every known non-terminal task.
 */
export function reconcile(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.reconcile">,
): void {
  const now = ctx.clock.now();
  if (call.tasks.length === 0) {
    for (const task of framework.tasks.values()) {
      if (isLive(task)) sendUpdate(ctx, framework, reconcileStatus(task, now));
    }
    return;
  }
  for (const ref of call.tasks) {
    const task = framework.tasks.get(ref.taskId) ?? findCompleted(framework, ref.taskId);
    if (task !== undefined) {
      sendUpdate(ctx, framework, reconcileStatus(task, now));
      continue;
    }
    const state = unknownTaskState(ctx, ref.agentId);
    if (state === undefined) {
      ctx.metrics.inc("reconciliations_deferred");
      continue;
    }
    sendUpdate(
      ctx,
      framework,
      masterStatus(ref, state, TaskReason.Reconciliation, "task is not known to the master", now),
    );
  }
}

/** The answer for a task the master does not know; undefined = no answer yet. */
function unknownTaskState(ctx: MasterContext, agentId: string | undefined): TaskState | undefined {
  if (agentId === undefined) {
    return ctx.recovery !== undefined && ctx.recovery.reregistered < ctx.recovery.expected
      ? undefined
      : TaskState.Unknown;
  }
  if (ctx.removedAgents.has(agentId)) return TaskState.Gone;
  const agent = ctx.agents.get(agentId);
  if (agent?.status === AgentState.Recovered) return undefined;
  if (agent?.status === AgentState.Unreachable) return TaskState.Unreachable;
  return TaskState.Unknown;
}

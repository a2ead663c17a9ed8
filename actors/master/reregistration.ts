/**
 * The tasks an agent reports when it reregisters: merged into the master's
 * records (reported tasks (re)added, live tasks it no longer has dropped or
 * lost; a kill requested meanwhile is sent for each reported live task),
 * or, from a removed agent, reported TASK_GONE / TASK_LOST.
 */
import type { RunningTask } from "../../protocol/agents.ts";
import { isTerminalState, TaskReason, TaskState } from "../../protocol/common.ts";
import { Resources } from "../../protocol/resources.ts";
import { isPartitionAware } from "./capabilities.ts";
import { recoverFramework } from "./frameworks.ts";
import { interned } from "./intern.ts";
import { deliverPendingKill } from "./kill.ts";
import { accountTask } from "./ledger.ts";
import type { AgentEntry, MasterContext } from "./model.ts";
import {
  addTask,
  applyStatus,
  completeTask,
  isLive,
  masterStatus,
  masterTransition,
  sendUpdate,
} from "./tasks.ts";

/** Tasks a removed agent still reports: TASK_GONE (PARTITION_AWARE) or TASK_LOST to their frameworks. */
export function reportGoneTasks(
  ctx: MasterContext,
  agentId: string,
  tasks: readonly RunningTask[],
): void {
  const now = ctx.clock.now();
  for (const { task, frameworkId } of tasks) {
    const framework = ctx.frameworks.get(frameworkId);
    if (framework === undefined) continue;
    const state = isPartitionAware(framework) ? TaskState.Gone : TaskState.Lost;
    sendUpdate(
      ctx,
      framework,
      masterStatus(
        { taskId: task.taskId, agentId },
        state,
        TaskReason.AgentRemoved,
        "the agent was removed",
        now,
      ),
    );
  }
}

function parseOptional(json: Parameters<typeof Resources.fromJSON>[0] | undefined): Resources {
  return json === undefined ? Resources.empty() : Resources.fromJSON(json);
}

export function mergeReportedTasks(
  ctx: MasterContext,
  agent: AgentEntry,
  reported: readonly RunningTask[],
): void {
  const seen = new Set<string>();
  const shutdownSent = new Set<string>();
  const now = ctx.clock.now();
  for (const running of reported) {
    const { task: info, frameworkId } = running;
    let resources: Resources;
    let executorResources: Resources;
    try {
      resources = interned.resources(info.resources);
      executorResources = parseOptional(info.executor?.resources);
    } catch {
      ctx.metrics.inc("reregistered_tasks_invalid");
      continue;
    }
    if (ctx.removedFrameworks.has(frameworkId)) {
      if (!shutdownSent.has(frameworkId)) {
        shutdownSent.add(frameworkId);
        ctx.outbox.toAgent(agent.id, { type: "agent.shutdownFramework", frameworkId });
      }
      continue;
    }
    const framework =
      ctx.frameworks.get(frameworkId) ?? recoverFramework(ctx, frameworkId, running.role);
    const status = { ...running.status, agentId: agent.id };
    const existing = framework.tasks.get(info.taskId);
    if (existing !== undefined && existing.agentId !== agent.id) {
      ctx.metrics.inc("reregistered_tasks_conflicting");
      continue;
    }
    seen.add(`${frameworkId}\u0000${info.taskId}`);
    if (existing === undefined) {
      const task = addTask(ctx, agent, framework, {
        taskId: info.taskId,
        name: info.name,
        role: running.role,
        resources,
        executor:
          info.executor === undefined
            ? undefined
            : { executorId: info.executor.executorId, resources: executorResources },
        executorId: running.executorId,
        state: status.state,
        status,
      });
      ctx.events.taskUpdated(task, task.state, undefined, status.reason, status.message);
      deliverPendingKill(ctx, agent, task);
      continue;
    }
    const previous = existing.state;
    if (
      !existing.accounted &&
      isLive(existing) &&
      !isTerminalState(status.state) &&
      status.state !== TaskState.Unreachable
    ) {
      accountTask(ctx, agent, framework, existing, executorResources);
    }
    if (
      applyStatus(ctx, framework, existing, status) === "applied" &&
      previous !== existing.state
    ) {
      sendUpdate(
        ctx,
        framework,
        masterStatus(
          existing,
          existing.state,
          TaskReason.Reconciliation,
          "agent reregistered",
          now,
        ),
      );
    }
    deliverPendingKill(ctx, agent, existing);
  }
  agent.kills = undefined;
  for (const task of Array.from(agent.tasks ?? [])) {
    const framework = ctx.frameworks.get(task.frameworkId);
    if (framework === undefined || seen.has(`${task.frameworkId}\u0000${task.taskId}`)) continue;
    if (!isLive(task)) {
      completeTask(ctx, framework, task);
      continue;
    }
    const never = task.state === TaskState.Staging;
    masterTransition(
      ctx,
      framework,
      task,
      never ? TaskState.Dropped : TaskState.Lost,
      TaskReason.Reconciliation,
      "the agent reregistered without this task",
    );
  }
}

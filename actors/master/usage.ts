/**
 * `agent.usage`: the latest resource statistics of each task's container,
 * as its agent reported them, shown as `statistics` on the task in the
 * master's state (and by `agora top`). Kept beside the task entry, not in it:
 * the statistics go when the entry goes, and nothing else of the master
 * depends on them. A report for a task the master does not know on that
 * agent is ignored (counted).
 */
import type { ExecutorUsage, ResourceStatistics } from "../../protocol/agents.ts";
import type { MasterContext, TaskEntry } from "./model.ts";

const latest = new WeakMap<TaskEntry, ResourceStatistics>();

/** Stores the statistics of an `agent.usage` from `agentId`. */
export function recordUsage(
  ctx: MasterContext,
  agentId: string,
  executors: readonly ExecutorUsage[],
): void {
  let stored = 0;
  let unknown = 0;
  for (const usage of executors) {
    const framework = ctx.frameworks.get(usage.frameworkId);
    // a task of a default executor has statistics of its own (its nested cgroup)
    const own = new Map((usage.tasks ?? []).map((x) => [x.taskId, x.statistics]));
    for (const taskId of usage.taskIds) {
      const task = framework?.tasks.get(taskId);
      if (task === undefined || task.agentId !== agentId) {
        unknown++;
        continue;
      }
      latest.set(task, own.get(taskId) ?? usage.statistics);
      stored++;
    }
  }
  ctx.metrics.inc("usage_reports_received");
  if (unknown > 0) ctx.metrics.inc("usage_tasks_unknown", unknown);
  if (stored > 0) ctx.metrics.inc("usage_tasks_recorded", stored);
}

/** `{statistics}` of a task for its state JSON, or nothing when none was reported. */
export function usageOf(task: TaskEntry): { statistics?: ResourceStatistics } {
  const statistics = latest.get(task);
  return statistics === undefined ? {} : { statistics };
}

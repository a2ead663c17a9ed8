/**
 * Task states as metric labels. A leaf, so `tasks.ts` (which counts the states
 * reached) need not import `prometheus.ts` (which reads the allocator).
 */
import { TaskState } from "../../protocol/common.ts";

/** `TASK_RUNNING` → `running` (Mesos's `master/tasks_running`). */
export function taskStateLabel(state: string): string {
  return state.startsWith("TASK_") ? state.slice(5).toLowerCase() : state.toLowerCase();
}

/** {@link taskStateLabel} of every task state, computed once (for the per-update counter). */
export const TASK_STATE_LABELS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.values(TaskState).map((state) => [state, taskStateLabel(state)]),
);

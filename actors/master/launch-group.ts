/**
 * The `launchGroup` operation of an accept, as Mesos's master validates
 * `LAUNCH_GROUP`: the group is checked whole before any task of it is added.
 * Its executor must be of type `DEFAULT` with no command; every task must
 * have a `command` and no `executor`, be valid as a task of the accept (id,
 * agent, health check, resources), and the resources of all tasks plus the
 * executor's (when it is not already on the agent) must fit in what is left
 * of the offers. One problem makes the whole group TASK_ERROR with
 * REASON_TASK_GROUP_INVALID (every task, the message naming the problem);
 * otherwise every task is added and the group goes to the agent in one
 * `agent.runTaskGroup`, where all of it starts or none.
 */
import { ExecutorType, TaskReason, TaskState } from "../../protocol/common.ts";
import type { LaunchGroupOperation } from "../../protocol/frameworks.ts";
import type { Resources } from "../../protocol/resources.ts";
import { interned } from "./intern.ts";
import {
  capabilitiesOf,
  type LaunchScope,
  reject,
  unauthorized,
  type ValidTask,
  validateTask,
} from "./launch-checks.ts";
import { executorKey } from "./ledger.ts";
import type { MasterContext } from "./model.ts";
import { addTask, completeTask } from "./tasks.ts";

/** A group checked whole: what each task and the executor take, or the problem. */
export type GroupCheck =
  | { ok: true; tasks: ValidTask[]; executorResources: Resources | undefined; total: Resources }
  | { ok: false; message: string };

/** Validates a task group against the scope (no side effects). */
function validateGroup(scope: LaunchScope, op: LaunchGroupOperation): GroupCheck {
  const { executor, taskGroup } = op;
  const fail = (message: string): GroupCheck => ({ ok: false, message });
  if (executor.type !== ExecutorType.Default) {
    return fail(
      `the executor of a task group must be of type DEFAULT, not ${executor.type ?? "CUSTOM"}`,
    );
  }
  if (executor.command !== undefined) return fail("a DEFAULT executor has no command");
  const key = executorKey(scope.framework.id, executor.executorId);
  let executorResources: Resources | undefined;
  if (!scope.agent.executors?.has(key) && !scope.executors.has(key)) {
    try {
      executorResources = interned.resources(executor.resources ?? {});
    } catch (err) {
      return fail(`invalid executor resources: ${(err as Error).message}`);
    }
  }
  // Each task alone, against a scope that also holds the group's earlier ids.
  const inner: LaunchScope = { ...scope, taskIds: new Set(scope.taskIds) };
  const tasks: ValidTask[] = [];
  let total = executorResources ?? interned.resources({});
  for (const task of taskGroup.tasks) {
    if (task.executor !== undefined) {
      return fail(
        `task ${task.taskId} names an executor: the tasks of a group run in its executor`,
      );
    }
    if (task.command === undefined) return fail(`task ${task.taskId} has no command`);
    const valid = validateTask(inner, task);
    if (typeof valid === "string") return fail(`task ${task.taskId}: ${valid}`);
    inner.taskIds.add(task.taskId);
    tasks.push(valid);
    total = total.add(valid.resources);
  }
  if (!scope.available.contains(total)) {
    return fail(
      `the group's resources ${total} (its tasks and executor) are not contained in the remaining offered resources ${scope.available}`,
    );
  }
  return { ok: true, tasks, executorResources, total };
}

/** Validates and launches one task group of an accept; returns how many tasks it launched. */
export function launchGroup(
  ctx: MasterContext,
  scope: LaunchScope,
  role: string,
  op: LaunchGroupOperation,
): number {
  const { framework, agent } = scope;
  const check = validateGroup(scope, op);
  if (!check.ok) {
    ctx.metrics.inc("task_groups_invalid");
    ctx.metrics.inc("tasks_invalid", op.taskGroup.tasks.length);
    const message = `Task group is invalid: ${check.message}`;
    for (const task of op.taskGroup.tasks) {
      reject(ctx, framework, task, TaskState.Error, TaskReason.TaskGroupInvalid, message);
    }
    return 0;
  }
  for (const task of op.taskGroup.tasks) {
    const refused = unauthorized(ctx, framework, task);
    if (refused === undefined) continue;
    ctx.metrics.inc("tasks_unauthorized", op.taskGroup.tasks.length);
    const message = `Task group is not authorized: ${refused}`;
    for (const each of op.taskGroup.tasks) {
      reject(ctx, framework, each, TaskState.Error, TaskReason.TaskUnauthorized, message);
    }
    return 0;
  }
  const executorId = op.executor.executorId;
  const key = executorKey(framework.id, executorId);
  scope.available = scope.available.subtract(check.total);
  op.taskGroup.tasks.forEach((info, i) => {
    const valid = check.tasks[i]!;
    const stale = framework.tasks.get(info.taskId);
    if (stale !== undefined) completeTask(ctx, framework, stale);
    scope.taskIds.add(info.taskId);
    const task = addTask(ctx, agent, framework, {
      taskId: info.taskId,
      name: info.name,
      role,
      resources: valid.resources,
      executor: {
        executorId,
        // counted once, with the first task of an executor new on the agent
        resources: (i === 0 ? check.executorResources : undefined) ?? interned.resources({}),
      },
    });
    ctx.events.taskUpdated(task, task.state, undefined);
  });
  scope.executors.add(key);
  scope.send({
    type: "agent.runTaskGroup",
    framework: {
      frameworkId: framework.id,
      name: framework.name,
      role,
      ...capabilitiesOf(framework),
    },
    executor: op.executor,
    taskGroup: op.taskGroup,
  });
  ctx.metrics.inc("task_groups_launched");
  ctx.metrics.inc("tasks_launched", op.taskGroup.tasks.length);
  return op.taskGroup.tasks.length;
}

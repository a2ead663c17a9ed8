/**
 * What the launch operations of an accept share (accept.ts, launch-group.ts):
 * the scope of one accept, the check of one task against it, the ACLs'
 * `run_tasks`, the framework fields an agent gets, and the rejection of a task.
 */
import type { TaskInfo, TaskReason, TaskState } from "../../protocol/common.ts";
import { healthCheckProblem } from "../../protocol/health.ts";
import type { Message } from "../../protocol/registry.ts";
import { Resources } from "../../protocol/resources.ts";
import { frameworkPrincipal } from "../../protocol/subjects.ts";
import { denied } from "./authorizer.ts";
import { interned } from "./intern.ts";
import { executorKey } from "./ledger.ts";
import type { AgentEntry, FrameworkEntry, MasterContext } from "./model.ts";
import { isLive, masterStatus, sendUpdate } from "./tasks.ts";

/** What one accept has validated so far. */
export interface LaunchScope {
  readonly framework: FrameworkEntry;
  readonly agent: AgentEntry;
  /** What is left of the offers. */
  available: Resources;
  /** Task ids launched by this accept. */
  readonly taskIds: Set<string>;
  /** Custom executors started by this accept (by executor key). */
  readonly executors: Set<string>;
  /** Sends a message to the agent (after the accept's registry write, when it has one). */
  readonly send: (msg: Message) => void;
}

/** A validated task: what it takes from the offers. */
export interface ValidTask {
  resources: Resources;
  executorResources: Resources | undefined;
}

/** Validates one task of an accept against the scope; the error message, or what it takes. */
export function validateTask(scope: LaunchScope, task: TaskInfo): ValidTask | string {
  const { framework, agent } = scope;
  const existing = framework.tasks.get(task.taskId);
  if (scope.taskIds.has(task.taskId) || (existing !== undefined && isLive(existing))) {
    return `task id ${task.taskId} is already used by a live task of the framework`;
  }
  if (task.agentId !== agent.id) {
    return `task agentId ${task.agentId} is not the agent ${agent.id} of the offers`;
  }
  if ((task.command === undefined) === (task.executor === undefined)) {
    return "a task needs exactly one of command and executor";
  }
  if (
    task.executor !== undefined &&
    (task.executor.type === "DEFAULT" || task.executor.command === undefined)
  ) {
    return "a task's executor must be CUSTOM with a command (DEFAULT executors run task groups: launchGroup)";
  }
  const unusable = healthCheckProblem(task.healthCheck);
  if (unusable !== undefined) return unusable;
  let resources: Resources;
  let executorResources: Resources | undefined;
  try {
    resources = interned.resources(task.resources);
    if (task.executor !== undefined) {
      const key = executorKey(framework.id, task.executor.executorId);
      if (!agent.executors?.has(key) && !scope.executors.has(key)) {
        executorResources = interned.resources(task.executor.resources ?? {});
      }
    }
  } catch (err) {
    return `invalid resources: ${(err as Error).message}`;
  }
  const needed = executorResources === undefined ? resources : resources.add(executorResources);
  if (!scope.available.contains(needed)) {
    return `task resources ${needed} are not contained in the remaining offered resources ${scope.available}`;
  }
  return { resources, executorResources };
}

/** The user a task runs as: its command's, its executor's, else the framework's (undefined: the agent's). */
function taskUser(framework: FrameworkEntry, task: TaskInfo): string | undefined {
  const user = task.command?.user ?? task.executor?.command?.user ?? framework.info.user;
  return user === "" ? undefined : user;
}

/** Whether the ACLs let the framework's principal run the task as its user (counted and logged when not). */
export function unauthorized(
  ctx: MasterContext,
  framework: FrameworkEntry,
  task: TaskInfo,
): string | undefined {
  if (!ctx.authorizer.enabled) return undefined;
  const user = taskUser(framework, task);
  const principal = framework.info.principal;
  if (ctx.authorizer.authorize("run_tasks", principal, user)) return undefined;
  return denied(ctx, "run_tasks", principal, user).message;
}

/**
 * The framework's capabilities, user and principal for its executors, as a
 * FrameworkRef carries them (the agent serves a framework principal's
 * `files.read` only for its own frameworks' tasks).
 */
export function capabilitiesOf(framework: FrameworkEntry): {
  capabilities?: string[];
  user?: string;
  principal: string;
} {
  const { capabilities, user } = framework.info;
  return {
    principal: frameworkPrincipal(framework.info),
    ...(capabilities === undefined || capabilities.length === 0 ? {} : { capabilities }),
    ...(user === undefined || user === "" ? {} : { user }),
  };
}

/** Ends a task of an accept before it starts: the update to the framework and the cluster event. */
export function reject(
  ctx: MasterContext,
  framework: FrameworkEntry,
  task: TaskInfo,
  state: TaskState,
  reason: TaskReason,
  message: string,
): void {
  sendUpdate(ctx, framework, masterStatus(task, state, reason, message, ctx.clock.now()));
  let resources = Resources.empty();
  try {
    resources = Resources.fromJSON(task.resources);
  } catch {
    // reported with no resources
  }
  ctx.events.taskUpdated(
    {
      taskId: task.taskId,
      frameworkId: framework.id,
      agentId: task.agentId,
      name: task.name,
      resources,
    },
    state,
    undefined,
    reason,
    message,
  );
}

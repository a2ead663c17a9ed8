/**
 * Executor ↔ agent messages, as Mesos's executor API.
 * Executor → agent on `agent.<agentId>.executor.<frameworkId>.<executorId>`;
 * agent → executor on `executor.<agentId>.<frameworkId>.<executorId>`.
 */
import { Type } from "@sinclair/typebox";
import { Id, message, TaskGroupInfo, TaskInfo, TaskStatus } from "./common.ts";

/** Executor → agent, request: the executor is up; the reply is `executor.subscribed`. */
export const ExecutorSubscribe = message("executor.subscribe", {
  /** Updates the executor sent that were not acknowledged yet (after an agent restart). */
  unacknowledgedUpdates: Type.Optional(Type.Array(TaskStatus, { maxItems: 10_000 })),
  /** Tasks the executor runs (after an agent restart). */
  tasks: Type.Optional(Type.Array(TaskInfo, { maxItems: 10_000 })),
});

/** Executor → agent: a task status update, with a fresh `uuid`. */
export const ExecutorUpdate = message("executor.update", {
  status: TaskStatus,
});

/** Executor → agent: a message for the framework's scheduler. */
export const ExecutorMessage = message("executor.message", {
  data: Type.Uint8Array({ maxByteLength: 256 * 1024 }),
});

/** Agent → executor: reply to subscribe. */
export const ExecutorSubscribed = message("executor.subscribed", {
  agentId: Id,
  frameworkId: Id,
  executorId: Id,
  /**
   * The framework's capabilities (Mesos's `Subscribed.framework_info`), e.g.
   * `TASK_KILLING_STATE`: the executor then reports TASK_KILLING before TASK_KILLED.
   */
  frameworkCapabilities: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32 }),
  ),
});

/** Agent → executor: launch a task. */
export const ExecutorLaunch = message("executor.launch", {
  task: TaskInfo,
});

/** A task's nested container: the `cgroup.procs` files its process joins before it runs. */
export const TaskContainer = Type.Object({
  taskId: Id,
  cgroupProcs: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 16 }),
});

/**
 * Agent → default executor: launch a task group, all of it. With isolation,
 * `containers` names the nested cgroup of each task (made by the agent).
 */
export const ExecutorLaunchGroup = message("executor.launchGroup", {
  taskGroup: TaskGroupInfo,
  containers: Type.Optional(Type.Array(TaskContainer, { maxItems: 1000 })),
});

/** Agent → executor: kill a task (SIGTERM, then SIGKILL after the grace period). */
export const ExecutorKill = message("executor.kill", {
  taskId: Id,
  gracePeriodSeconds: Type.Optional(Type.Number({ minimum: 0 })),
});

/** Agent → executor: the scheduler acknowledged an update. */
export const ExecutorAcknowledged = message("executor.acknowledged", {
  taskId: Id,
  uuid: Type.String({ minLength: 1, maxLength: 64 }),
});

/** Agent → executor: a message from the framework's scheduler. */
export const ExecutorFrameworkMessage = message("executor.frameworkMessage", {
  data: Type.Uint8Array({ maxByteLength: 256 * 1024 }),
});

/**
 * Agent → executor: a restarted agent asks a live executor to subscribe again
 * (`executor.subscribe` with its tasks and unacknowledged updates), as Mesos's
 * ReconnectExecutorMessage.
 */
export const ExecutorReconnect = message("executor.reconnect", {
  agentId: Id,
});

/**
 * Executor → agent, request: liveness of the agent as the executor sees it; the
 * reply is `ok`, or NOT_FOUND from an agent that does not know the executor.
 * An executor that gets no answer for longer than its recovery timeout
 * (`AGORA_RECOVERY_TIMEOUT`) kills its tasks and exits.
 */
export const ExecutorHeartbeat = message("executor.heartbeat", {});

/** Agent → executor: kill every task and exit. */
export const ExecutorShutdown = message("executor.shutdown", {
  gracePeriodSeconds: Type.Optional(Type.Number({ minimum: 0 })),
});

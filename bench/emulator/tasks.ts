/**
 * Emulated executors and the status update stream of each task, with the
 * agent's semantics (actors/agent/status-updates.ts, after Mesos): updates of
 * a task go to the master one at a time in order, the next only after the
 * previous is acknowledged; an unacknowledged update is re-sent after the
 * retry interval, doubling up to a cap; when the terminal update is
 * acknowledged the task is forgotten. Executors do not fork: a task reports
 * TASK_RUNNING at once and TASK_FINISHED after `taskDurationMs` (or the
 * task's {@link TASK_DURATION_LABEL}).
 *
 * Retries and finishes use the process-wide wheels, never a timer per task.
 */
import { randomUUID } from "node:crypto";
import type { RunningTask } from "../../protocol/agents.ts";
import { isTerminalState, type TaskInfo, TaskSource, TaskState } from "../../protocol/common.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import {
  type EmulatedAgent,
  EmulatedAgentState,
  type EmulatedTask,
  type EmulatorContext,
  taskKey,
} from "./model.ts";

/** Publishes on the agent's connection; a closed connection only counts. */
export function publish(
  ctx: EmulatorContext,
  agent: EmulatedAgent,
  subject: string,
  data: Uint8Array,
  reply?: string,
): boolean {
  try {
    agent.nc.publish(subject, data, reply === undefined ? undefined : { reply });
    return true;
  } catch (err) {
    ctx.metrics.inc("publish_failed");
    ctx.logger.debug({ err, subject }, "publish failed");
    return false;
  }
}

/** Sends the head of the task's stream (when the agent is registered) and schedules its retry. */
function sendHead(ctx: EmulatorContext, task: EmulatedTask): void {
  const head = task.pending[0];
  const agent = task.agent;
  if (head === undefined || agent.state !== EmulatedAgentState.Registered) return;
  if (agent.masterSubject === undefined) return;
  agent.batcher.publish(agent.masterSubject, {
    type: "agent.update",
    frameworkId: task.frameworkId,
    status: head,
  });
  ctx.metrics.inc("updates_sent");
  task.nextRetryAt = ctx.clock.now() + task.retryIntervalMs;
  task.retryIntervalMs = Math.min(task.retryIntervalMs * 2, ctx.settings.statusUpdateRetryMaxMs);
  ctx.retries.schedule(task.nextRetryAt, task);
}

/** Appends a new update to the task's stream; sends it when nothing is in flight. */
function generate(ctx: EmulatorContext, task: EmulatedTask, state: TaskState): void {
  if (task.terminal || task.closed) return;
  const status = {
    taskId: task.info.taskId,
    state,
    agentId: task.agent.id,
    executorId: task.executorId,
    source: TaskSource.Executor,
    uuid: randomUUID(),
    timestamp: ctx.clock.now(),
  };
  task.status = status;
  task.pending.push(status);
  if (isTerminalState(state)) task.terminal = true;
  ctx.metrics.inc("updates_generated");
  if (task.pending.length === 1) sendHead(ctx, task);
}

function close(ctx: EmulatorContext, task: EmulatedTask, counter: string): void {
  if (task.closed) return;
  task.closed = true;
  task.pending.length = 0;
  task.agent.tasks.delete(task.key);
  ctx.activeTasks--;
  ctx.metrics.inc(counter);
}

/** `agent.runTask`: every task starts at once. */
export function runTasks(
  ctx: EmulatorContext,
  agent: EmulatedAgent,
  msg: MessageOf<"agent.runTask">,
): void {
  const now = ctx.clock.now();
  for (const info of msg.tasks) {
    const key = taskKey(msg.framework.frameworkId, info.taskId);
    if (agent.tasks.has(key)) {
      ctx.metrics.inc("tasks_duplicate");
      continue;
    }
    const task: EmulatedTask = {
      agent,
      key,
      frameworkId: msg.framework.frameworkId,
      role: msg.framework.role,
      info,
      executorId: executorIdOf(info),
      status: {
        taskId: info.taskId,
        state: TaskState.Staging,
        agentId: agent.id,
        timestamp: now,
      },
      pending: [],
      terminal: false,
      closed: false,
      nextRetryAt: Number.POSITIVE_INFINITY,
      retryIntervalMs: ctx.settings.statusUpdateRetryMinMs,
      finishAt: Number.POSITIVE_INFINITY,
    };
    agent.tasks.set(key, task);
    ctx.activeTasks++;
    ctx.metrics.inc("tasks_launched");
    if (ctx.settings.reportStarting) generate(ctx, task, TaskState.Starting);
    generate(ctx, task, TaskState.Running);
    const durationMs = taskDurationOf(info, ctx.settings.taskDurationMs);
    if (durationMs <= 0) {
      generate(ctx, task, TaskState.Finished);
    } else {
      task.finishAt = now + durationMs;
      if (Number.isFinite(task.finishAt)) ctx.finishes.schedule(task.finishAt, task);
    }
  }
}

/**
 * Label of a task that sets how long it runs on an emulated agent, in ms
 * (overrides `taskDurationMs`; `Infinity` runs until killed).
 */
export const TASK_DURATION_LABEL = "bench-duration-ms";

function taskDurationOf(info: TaskInfo, fallback: number): number {
  const label = info.labels?.[TASK_DURATION_LABEL];
  if (label === undefined) return fallback;
  const ms = Number(label);
  return Number.isNaN(ms) ? fallback : ms;
}

function executorIdOf(info: TaskInfo): string {
  return info.command !== undefined ? info.taskId : (info.executor?.executorId ?? info.taskId);
}

/** `agent.killTask`: a live task reports TASK_KILLED. */
export function killTask(
  ctx: EmulatorContext,
  agent: EmulatedAgent,
  msg: MessageOf<"agent.killTask">,
): void {
  const task = agent.tasks.get(taskKey(msg.frameworkId, msg.taskId));
  if (task === undefined || task.terminal) {
    ctx.metrics.inc("kills_unknown");
    return;
  }
  ctx.metrics.inc("kills");
  generate(ctx, task, TaskState.Killed);
}

/** `agent.acknowledge`: the head of the stream is done; the next update goes out. */
export function acknowledge(
  ctx: EmulatorContext,
  agent: EmulatedAgent,
  msg: MessageOf<"agent.acknowledge">,
): void {
  const task = agent.tasks.get(taskKey(msg.frameworkId, msg.taskId));
  const head = task?.pending[0];
  if (task === undefined || head === undefined || head.uuid !== msg.uuid) {
    ctx.metrics.inc("acks_unexpected");
    return;
  }
  task.pending.shift();
  ctx.metrics.inc("updates_acked");
  task.retryIntervalMs = ctx.settings.statusUpdateRetryMinMs;
  task.nextRetryAt = Number.POSITIVE_INFINITY;
  if (task.pending.length > 0) {
    sendHead(ctx, task);
  } else if (task.terminal) {
    close(
      ctx,
      task,
      head.state === TaskState.Finished ? "tasks_finished" : "tasks_ended_otherwise",
    );
  }
}

/** `agent.shutdownFramework`: its tasks are killed and their streams dropped (nobody acks). */
export function shutdownFramework(
  ctx: EmulatorContext,
  agent: EmulatedAgent,
  frameworkId: string,
): void {
  for (const task of Array.from(agent.tasks.values())) {
    if (task.frameworkId === frameworkId) close(ctx, task, "tasks_dropped");
  }
  ctx.metrics.inc("frameworks_shut_down");
}

/** Drops every task of the agent (it was shut down or refused). */
export function dropTasks(ctx: EmulatorContext, agent: EmulatedAgent): void {
  for (const task of Array.from(agent.tasks.values())) close(ctx, task, "tasks_dropped");
}

/** Re-sends the head of every stream of the agent (after it reregistered). */
export function resendPending(ctx: EmulatorContext, agent: EmulatedAgent): void {
  for (const task of agent.tasks.values()) {
    task.retryIntervalMs = ctx.settings.statusUpdateRetryMinMs;
    sendHead(ctx, task);
  }
}

/** What the agent reports on reregistration. */
export function runningTasks(agent: EmulatedAgent): RunningTask[] {
  return Array.from(agent.tasks.values(), (task) => ({
    frameworkId: task.frameworkId,
    executorId: task.executorId,
    role: task.role,
    task: task.info,
    status: task.status,
  }));
}

/** Wheel callback: re-send an update that is still unacknowledged. */
export function retryDue(ctx: EmulatorContext, task: EmulatedTask, now: number): void {
  if (task.closed || task.pending.length === 0 || task.nextRetryAt > now) return;
  ctx.metrics.inc("updates_retried");
  sendHead(ctx, task);
}

/** Wheel callback: a task's run time is over. */
export function finishDue(ctx: EmulatorContext, task: EmulatedTask, now: number): void {
  if (task.closed || task.terminal || task.finishAt > now) return;
  generate(ctx, task, TaskState.Finished);
}

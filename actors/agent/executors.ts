/**
 * The agent's executors and tasks, as Mesos's agent keeps them: a task with
 * a `command` runs in its own built-in command executor (executor id = task
 * id); a task with an `executor` runs in that framework executor, started
 * once per (framework, executor id) and reused. An executor is spawned in a
 * fresh sandbox, must subscribe within the registration timeout, then gets
 * the tasks queued for it. When it exits, whatever is left of its session is
 * killed and its tasks that have not ended fail.
 *
 * Every task and executor is checkpointed (state-store.ts) so that a
 * restarted agent can adopt them again (recovery.ts).
 */

import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/nats-core";
import { Batcher } from "../../infra/batch.ts";
import type { Clock, Timer } from "../../infra/clock.ts";
import type { NatsCredentials } from "../../infra/credentials.ts";
import {
  CHECKPOINT_ACK_FLUSH_MS,
  CHECKPOINT_ACKED_UUIDS,
  DEFAULT_DEFAULT_EXECUTOR_IDLE_TIMEOUT_MS,
  EXECUTOR_SHUTDOWN_KILL_MARGIN_MS,
  RECOVERED_EXECUTOR_POLL_MS,
} from "../../infra/defaults.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import type { FrameworkRef, RunningTask } from "../../protocol/agents.ts";
import {
  type ExecutorInfo,
  isTerminalState,
  type TaskGroupInfo,
  type TaskInfo,
  TaskReason,
  TaskSource,
  TaskState,
  type TaskStatus,
} from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { taskLifecycle } from "../../protocol/lifecycles/task.machine.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import { DEFAULT_PRINCIPAL, type Subjects } from "../../protocol/subjects.ts";
import { JOIN_CGROUP_FAILED_EXIT } from "../shared/join-cgroups.ts";
import { unsafeIds } from "../shared/path-safety.ts";
import { isSameProcess, killSession, signalTree } from "../shared/process-tree.ts";
import { commandProgram } from "../shared/programs.ts";
import { taskSandboxDir } from "../shared/sandbox.ts";
import { effectiveUser, userProblem, withUser } from "../shared/task-user.ts";
import { type AgentContainers, containerResources } from "./containers.ts";
import { ExecutorCheckpoints, taskCheckpoint } from "./executor-checkpoints.ts";
import {
  type ExecutorKind,
  type ExecutorRecord,
  newExecutorRecord,
  type QueuedGroup,
  startExecutorProcess,
  type TaskRecord,
} from "./executor-record.ts";
import type { FetchStep } from "./fetch-step.ts";
import type { Container, Limitation } from "./isolation/types.ts";
import { defaultExecutorProgram, type ProgramSource } from "./launcher.ts";
import type { AgentStateStore } from "./state-store.ts";
import type { UpdateOutcome } from "./status-updates.ts";

export type { ExecutorRecord, TaskRecord } from "./executor-record.ts";

/** Dependencies of an {@link ExecutorManager}. */
export interface ExecutorManagerOptions {
  nc: NatsConnection;
  subjects: Subjects;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  agentId(): string;
  workDir: string;
  natsUrl: string;
  /** The executor credential (and the agent's TLS CA) given to every executor. */
  executorCredentials?: NatsCredentials;
  /** The agent principal its executors' subjects carry. @default "default" */
  agentPrincipal?: string;
  logLevel: string;
  shutdownGracePeriodMs: number;
  registrationTimeoutMs: number;
  /** How to start the built-in command executor (resolved at each launch). */
  commandExecutor: ProgramSource;
  /** An idle default executor is shut down after this. @default DEFAULT_DEFAULT_EXECUTOR_IDLE_TIMEOUT_MS */
  defaultExecutorIdleTimeoutMs?: number;
  /** The agent's `--recovery-timeout`, given to executors. */
  recoveryTimeoutMs: number;
  /** Hands a status update to the status update manager. */
  sendStatus(frameworkId: string, status: TaskStatus): UpdateOutcome;
  /** The unacknowledged updates of a task (checkpointed with it). */
  pendingUpdates(frameworkId: string, taskId: string): readonly TaskStatus[];
  /** Where tasks and executors are checkpointed. @default nowhere */
  state?: AgentStateStore;
  /** Fetches an executor's URIs between its sandbox and its spawn. */
  fetchStep: FetchStep;
  /** Whether tasks run as their user (`--switch-user`). @default true */
  switchUser?: boolean;
  /** The executors' containers. @default none: executors run unisolated */
  containers?: AgentContainers;
}

const key = (frameworkId: string, id: string) => `${frameworkId} ${id}`;

/** Executors and tasks of one agent. */
export class ExecutorManager {
  readonly #o: ExecutorManagerOptions;
  readonly #executors = new Map<string, ExecutorRecord>();
  readonly #tasks = new Map<string, TaskRecord>();
  /** Frameworks being shut down: nothing new is launched for them. */
  readonly #terminating = new Set<string>();
  readonly #checkpoints: ExecutorCheckpoints;
  /** Polls recovered executors (no child handle tells when they exit). */
  #poll: Timer | undefined;
  /** The checkpoint is being read back: an executor not known yet may be about to be. */
  recovering = false;
  /** Tasks whose latest change (an acknowledgement) is checkpointed lazily, by key. */
  readonly #lazy = new Set<string>();
  #lazyTimer: Timer | undefined;
  /** Messages to executors leave batched per executor, at the end of the turn (infra/batch.ts). */
  readonly #toExecutors: Batcher;

  constructor(options: ExecutorManagerOptions) {
    this.#o = options;
    this.#checkpoints = new ExecutorCheckpoints(options.state, options.logger, options.metrics);
    this.#toExecutors = new Batcher(options.nc, {
      logger: options.logger,
      metrics: options.metrics,
    });
  }

  /** The task, if known. */
  task(frameworkId: string, taskId: string): TaskRecord | undefined {
    return this.#tasks.get(key(frameworkId, taskId));
  }

  /** Whether the task is known and has not ended. */
  isLive(frameworkId: string, taskId: string): boolean {
    const record = this.#tasks.get(key(frameworkId, taskId));
    return record !== undefined && !isTerminalState(record.status.state);
  }

  /** The executor, if it has not terminated. */
  /**
   * Checks the token of a message on an executor's subject: an executor the
   * agent knows must send its own (another executor of the same agent
   * principal may publish on that subject, but knows not its token).
   * @throws AgoraError FORBIDDEN (counted `executor_messages_bad_token`)
   */
  authenticate(frameworkId: string, executorId: string, token: string | undefined): void {
    const executor = this.executor(frameworkId, executorId);
    if (executor?.token === undefined || executor.token === token) return;
    this.#o.metrics.inc("executor_messages_bad_token");
    this.#o.logger.warn({ frameworkId, executorId }, "executor message rejected: wrong token");
    throw new AgoraError(
      ErrorCode.Forbidden,
      `executor ${executorId} of framework ${frameworkId}: the message does not carry that executor's token`,
      { retryable: false },
    );
  }

  executor(frameworkId: string, executorId: string): ExecutorRecord | undefined {
    return this.#executors.get(key(frameworkId, executorId));
  }

  /** Every executor that has not terminated. */
  executors(): ExecutorRecord[] {
    return [...this.#executors.values()];
  }

  /**
   * Every known task, as reported on reregistration: with its latest status,
   * or, while updates of it are unacknowledged, with the latest acknowledged
   * one (STAGING when none is), since the unacknowledged updates are sent
   * after the reregistration and each must reach the framework once.
   */
  runningTasks(): RunningTask[] {
    return [...this.#tasks.values()].map((r) => {
      const pending = this.#o.pendingUpdates(r.frameworkId, r.task.taskId).length > 0;
      const staging = () => {
        const s = this.#agentStatus(r.task.taskId, TaskState.Staging, r.executorId);
        delete s.uuid;
        return s;
      };
      return {
        frameworkId: r.frameworkId,
        executorId: r.executorId,
        role: r.role,
        task: r.task,
        status: pending ? (r.acknowledged ?? staging()) : r.status,
      };
    });
  }

  /** Starts a task of a framework (`agent.runTask`). */
  runTask(framework: FrameworkRef, given: TaskInfo): void {
    const fid = framework.frameworkId;
    // the user it runs as goes with the task to its executor (none: the agent's user)
    const task = withUser(given, effectiveUser(framework.user, given, this.#o.switchUser ?? true));
    const log = this.#o.logger.child({ frameworkId: fid, taskId: task.taskId });
    const existing = this.#tasks.get(key(fid, task.taskId));
    if (existing !== undefined) {
      this.#o.metrics.inc("tasks_duplicate");
      log.warn({ state: existing.status.state }, "runTask of a known task ignored");
      return;
    }
    const executorId = task.command !== undefined ? task.taskId : task.executor?.executorId;
    const record: TaskRecord = {
      task,
      frameworkId: fid,
      executorId: executorId ?? task.taskId,
      role: framework.role,
      status: this.#agentStatus(task.taskId, TaskState.Staging, executorId),
      launched: false,
      killed: false,
      acked: [],
      acknowledged: undefined,
    };
    delete record.status.uuid;
    this.#tasks.set(key(fid, task.taskId), record);
    this.#checkpoints.framework(framework);
    this.checkpointTask(fid, task.taskId);
    const kind = task.command !== undefined ? "command" : "custom";
    let executor = this.#executors.get(key(fid, record.executorId));
    const rejection = this.#rejection(task, fid, kind, executor);
    if (rejection !== undefined) {
      log.warn({ reason: rejection.reason, message: rejection.message }, "task rejected");
      this.#update(record, rejection.state, rejection.reason, rejection.message);
      return;
    }
    if (executor === undefined) {
      executor = this.#createExecutor(framework, task, kind);
    } else {
      this.#growContainer(executor, task);
    }
    executor.taskIds.add(task.taskId);
    if (executor.phase === "running") this.#launch(executor, record);
    else executor.queued.push(task.taskId);
  }

  /**
   * Starts a task group in a default executor (`agent.runTaskGroup`): all of
   * it or none. The tasks are recorded and checkpointed; a group the agent
   * cannot run (framework shutting down, the executor id taken by another
   * kind, the executor shutting down, a task id known) ends whole. The
   * executor is started for its first group and reused for later ones (its
   * container grows by each group's resources); an idle one is shut down
   * after the idle timeout.
   */
  runTaskGroup(framework: FrameworkRef, info: ExecutorInfo, group: TaskGroupInfo): void {
    const fid = framework.frameworkId;
    const executorId = info.executorId;
    const log = this.#o.logger.child({ frameworkId: fid, executorId });
    if (group.tasks.some((t) => this.#tasks.has(key(fid, t.taskId)))) {
      this.#o.metrics.inc("tasks_duplicate", group.tasks.length);
      log.warn("runTaskGroup with a known task ignored");
      return;
    }
    // the user each task runs as goes with it to the executor (none: the agent's user)
    const switchUser = this.#o.switchUser ?? true;
    group = {
      ...group,
      tasks: group.tasks.map((t) => withUser(t, effectiveUser(framework.user, t, switchUser))),
    };
    const records = group.tasks.map((task): TaskRecord => {
      const record: TaskRecord = {
        task,
        frameworkId: fid,
        executorId,
        role: framework.role,
        status: this.#agentStatus(task.taskId, TaskState.Staging, executorId),
        launched: false,
        killed: false,
        acked: [],
        acknowledged: undefined,
      };
      delete record.status.uuid;
      this.#tasks.set(key(fid, task.taskId), record);
      return record;
    });
    this.#checkpoints.framework(framework);
    let executor = this.#executors.get(key(fid, executorId));
    // To a running executor the group goes out at once, checkpointed as launched then; a
    // group that waits for its executor is checkpointed now.
    if (executor?.phase !== "running") {
      for (const r of records) this.checkpointTask(fid, r.task.taskId);
    }
    const rejection = this.#groupRejection(group, fid, executor);
    if (rejection !== undefined) {
      log.warn({ reason: rejection.reason, message: rejection.message }, "task group rejected");
      for (const r of records)
        this.#update(r, rejection.state, rejection.reason, rejection.message);
      return;
    }
    const whole = groupTask(info, group);
    if (executor === undefined) {
      executor = this.#createExecutor(framework, whole, "default");
    } else {
      executor.idleTimer?.cancel();
      executor.idleTimer = undefined;
      this.#growContainer(executor, whole);
    }
    for (const r of records) executor.taskIds.add(r.task.taskId);
    const queued: QueuedGroup = {
      taskIds: records.map((r) => r.task.taskId),
      failurePolicy: group.failurePolicy,
    };
    if (executor.phase === "running") void this.#launchGroup(executor, queued);
    else executor.queuedGroups.push(queued);
  }

  /** Why a task group cannot run here, or undefined when it can. */
  #groupRejection(
    group: TaskGroupInfo,
    frameworkId: string,
    executor: ExecutorRecord | undefined,
  ): { state: TaskState; reason: TaskReason; message: string } | undefined {
    const invalid = (message: string) => ({
      state: TaskState.Error,
      reason: TaskReason.TaskGroupInvalid,
      message: `Task group is invalid: ${message}`,
    });
    const unsafeExecutor = unsafeIds({
      "framework id": frameworkId,
      "executor id": executor?.executorId,
    });
    if (unsafeExecutor !== undefined) return invalid(unsafeExecutor);
    for (const task of group.tasks) {
      if (task.agentId !== this.#o.agentId()) return invalid(`task is for agent ${task.agentId}`);
      const unsafe = unsafeIds({ "task id": task.taskId });
      if (unsafe !== undefined) return invalid(unsafe);
      if (task.command === undefined || task.executor !== undefined) {
        return invalid(`task ${task.taskId} needs a command and no executor`);
      }
    }
    for (const task of group.tasks) {
      const user = task.command?.user;
      const problem = user === undefined ? undefined : userProblem(user);
      if (problem !== undefined) {
        this.#o.metrics.inc("tasks_user_refused", group.tasks.length);
        return {
          state: TaskState.Failed,
          reason: TaskReason.ContainerLaunchFailed,
          message: `Task group cannot start: ${problem}`,
        };
      }
    }
    if (this.#terminating.has(frameworkId)) {
      return {
        state: TaskState.Lost,
        reason: TaskReason.FrameworkRemoved,
        message: "the framework is shutting down",
      };
    }
    if (executor !== undefined && executor.kind !== "default") {
      return invalid(`executor id ${executor.executorId} is already in use on this agent`);
    }
    if (executor?.phase === "terminating") {
      return {
        state: TaskState.Lost,
        reason: TaskReason.ExecutorTerminated,
        message: "the executor is shutting down",
      };
    }
    return undefined;
  }

  /**
   * Sends a group to its running default executor: with isolation, first a
   * nested cgroup per task (all or none: a group whose cgroups cannot be made
   * fails whole with REASON_CONTAINER_LAUNCH_FAILED).
   */
  async #launchGroup(executor: ExecutorRecord, group: QueuedGroup): Promise<void> {
    const records = group.taskIds
      .map((id) => this.#tasks.get(key(executor.frameworkId, id)))
      .filter((r): r is TaskRecord => r !== undefined && !isTerminalState(r.status.state));
    if (records.length === 0) return;
    const containers: Array<{ taskId: string; cgroupProcs: string[] }> = [];
    const c = executor.container;
    if (c !== undefined && this.#o.containers !== undefined) {
      const isolation = this.#o.containers;
      try {
        // made at once: the group waits for its slowest cgroup, not for their sum
        const made = await Promise.allSettled(
          records.map((r) =>
            isolation
              .taskContainer(c, executor.frameworkId, r.task.taskId, scalars(r.task))
              .then((child) => {
                executor.taskContainers.set(r.task.taskId, child);
                return child;
              }),
          ),
        );
        made.forEach((m, i) => {
          if (m.status === "rejected") throw m.reason;
          containers.push({ taskId: records[i]!.task.taskId, cgroupProcs: procsFiles(m.value) });
        });
      } catch (err) {
        this.#o.logger.warn({ err, executorId: executor.executorId }, "task cgroups not made");
        for (const r of records) {
          const child = executor.taskContainers.get(r.task.taskId);
          executor.taskContainers.delete(r.task.taskId);
          if (child !== undefined)
            void this.#o.containers.removeTaskContainer(child).catch(() => {});
          this.#update(
            r,
            TaskState.Failed,
            TaskReason.ContainerLaunchFailed,
            `Failed to make the task's cgroup: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
        return;
      }
      if (executor.phase !== "running") return;
    }
    // Each task's URIs, into its own sandbox: one failed fetch fails the group (none starts).
    const sandbox = executor.sandbox;
    if (sandbox !== undefined && records.some((r) => (r.task.command?.uris?.length ?? 0) > 0)) {
      try {
        await Promise.all(
          records.map((r) =>
            this.#o.fetchStep.fetchForTask(
              r.task,
              taskSandboxDir(sandbox, r.task.taskId),
              this.#o.agentId(),
            ),
          ),
        );
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.#o.logger.warn(
          { executorId: executor.executorId, message },
          "task group fetch failed",
        );
        for (const r of records) {
          this.#update(r, TaskState.Failed, TaskReason.ContainerLaunchFailed, message);
        }
        return;
      }
      if (executor.phase !== "running") return;
    }
    for (const r of records) {
      r.launched = true;
      this.checkpointTask(r.frameworkId, r.task.taskId);
    }
    this.#o.metrics.inc("tasks_launched", records.length);
    this.#o.metrics.inc("task_groups_launched");
    this.#send(executor, {
      type: "executor.launchGroup",
      taskGroup: {
        tasks: records.map((r) => r.task),
        ...(group.failurePolicy === undefined ? {} : { failurePolicy: group.failurePolicy }),
      },
      ...(containers.length === 0 ? {} : { containers }),
    });
  }

  /**
   * A task of a default executor ended: its nested cgroup is removed, and
   * once the executor has no task left its idle timer starts.
   */
  #taskEnded(record: TaskRecord): void {
    const executor = this.#executors.get(key(record.frameworkId, record.executorId));
    if (executor?.kind !== "default") return;
    const child = executor.taskContainers.get(record.task.taskId);
    if (child !== undefined && this.#o.containers !== undefined) {
      executor.taskContainers.delete(record.task.taskId);
      this.#o.containers
        .removeTaskContainer(child)
        .catch((err: unknown) =>
          this.#o.logger.warn({ err, taskId: record.task.taskId }, "task cgroup not removed"),
        );
    }
    if (executor.phase !== "running" || this.#hasLiveTasks(executor)) return;
    executor.idleTimer?.cancel();
    const idleMs = this.#o.defaultExecutorIdleTimeoutMs ?? DEFAULT_DEFAULT_EXECUTOR_IDLE_TIMEOUT_MS;
    executor.idleTimer = this.#o.clock.after(idleMs, () => {
      executor.idleTimer = undefined;
      if (executor.phase !== "running" || this.#hasLiveTasks(executor)) return;
      this.#o.metrics.inc("default_executors_idle_shutdown");
      this.#o.logger.info(
        { frameworkId: executor.frameworkId, executorId: executor.executorId },
        "default executor idle: shutting it down",
      );
      void this.shutdownExecutor(executor);
    });
  }

  /**
   * A further task of a running custom executor: its container's limits grow
   * by the task's resources (as Mesos updates a container per launch; they do
   * not shrink when a task ends).
   */
  #growContainer(executor: ExecutorRecord, task: TaskInfo): void {
    const c = executor.container;
    const containers = this.#o.containers;
    if (c === undefined || containers === undefined) return;
    const add = (name: "cpus" | "mem" | "disk") => {
      const v = task.resources[name];
      if (typeof v === "number" && v > 0 && c.resources[name] !== undefined) {
        c.resources[name] = (c.resources[name] ?? 0) + v;
      }
    };
    add("cpus");
    add("mem");
    add("disk");
    containers
      .prepare(executor.frameworkId, executor.executorId, c.resources, c.overheadMem)
      .then(() => this.#checkpoints.executor(executor))
      .catch((err: unknown) =>
        this.#o.logger.warn({ err, containerId: c.id }, "container limits not updated"),
      );
  }

  /** Why a task cannot run here, or undefined when it can. */
  #rejection(
    task: TaskInfo,
    frameworkId: string,
    kind: "command" | "custom",
    executor: ExecutorRecord | undefined,
  ): { state: TaskState; reason: TaskReason; message: string } | undefined {
    const invalid = (message: string) => ({
      state: TaskState.Error,
      reason: TaskReason.TaskInvalid,
      message,
    });
    if (task.agentId !== this.#o.agentId()) return invalid(`task is for agent ${task.agentId}`);
    const unsafe = unsafeIds({
      "framework id": frameworkId,
      "task id": task.taskId,
      "executor id": task.executor?.executorId,
    });
    if (unsafe !== undefined) return invalid(unsafe);
    if ((task.command === undefined) === (task.executor === undefined)) {
      return invalid("give exactly one of command or executor");
    }
    if (this.#terminating.has(frameworkId)) {
      return {
        state: TaskState.Lost,
        reason: TaskReason.FrameworkRemoved,
        message: "the framework is shutting down",
      };
    }
    if (executor !== undefined && (executor.kind !== kind || kind === "command")) {
      return invalid(`executor id ${executor.executorId} is already in use on this agent`);
    }
    if (executor?.phase === "terminating") {
      return {
        state: TaskState.Lost,
        reason: TaskReason.ExecutorTerminated,
        message: "the executor is shutting down",
      };
    }
    const user = task.command?.user ?? task.executor?.command?.user;
    const problem = user === undefined ? undefined : userProblem(user);
    if (problem !== undefined) {
      this.#o.metrics.inc("tasks_user_refused");
      return {
        state: TaskState.Failed,
        reason: TaskReason.ContainerLaunchFailed,
        message: problem,
      };
    }
    return undefined;
  }

  /**
   * Kills a task (`agent.killTask`); with `maxGracePeriodSeconds` (a drain)
   * the task gets the smaller of that and its own grace period.
   */
  killTask(
    frameworkId: string,
    taskId: string,
    requestedSeconds: number | undefined,
    maxGracePeriodSeconds?: number,
  ): void {
    const record = this.#tasks.get(key(frameworkId, taskId));
    if (record === undefined) {
      this.#o.metrics.inc("kills_unknown_task");
      const status = this.#agentStatus(taskId, TaskState.Lost, undefined);
      status.reason = TaskReason.TaskUnknown;
      status.message = "the agent does not know this task";
      this.#o.sendStatus(frameworkId, status);
      return;
    }
    if (isTerminalState(record.status.state)) return;
    const gracePeriodSeconds =
      maxGracePeriodSeconds === undefined
        ? requestedSeconds
        : Math.min(
            maxGracePeriodSeconds,
            requestedSeconds ??
              record.task.killPolicy?.gracePeriodSeconds ??
              record.task.killGracePeriodSeconds ??
              this.#o.shutdownGracePeriodMs / 1000,
          );
    record.killed = true;
    this.checkpointTask(frameworkId, taskId);
    const executor = this.#executors.get(key(frameworkId, record.executorId));
    if (executor === undefined) {
      this.#update(record, TaskState.Lost, TaskReason.ExecutorTerminated, "its executor is gone");
      return;
    }
    if (!record.launched) {
      const at = executor.queued.indexOf(taskId);
      if (at !== -1) executor.queued.splice(at, 1);
      // A task of a queued group: the group stays whole (Mesos kills the rest of a group too).
      this.#update(
        record,
        TaskState.Killed,
        TaskReason.TaskKilledDuringLaunch,
        "killed before it was launched",
      );
      if (!this.#hasLiveTasks(executor)) void this.shutdownExecutor(executor);
      return;
    }
    this.#send(executor, { type: "executor.kill", taskId, gracePeriodSeconds });
  }

  /** An executor subscribed: reply, then launch its queued tasks. */
  subscribe(
    frameworkId: string,
    executorId: string,
    msg: MessageOf<"executor.subscribe">,
  ): MessageOf<"executor.subscribed"> {
    const executor = this.#executors.get(key(frameworkId, executorId));
    if (executor === undefined && this.recovering) {
      throw new AgoraError(ErrorCode.Unavailable, "the agent is recovering; subscribe again");
    }
    if (executor === undefined) {
      throw new AgoraError(ErrorCode.NotFound, `unknown executor ${executorId}`);
    }
    if (executor.phase === "terminating" || executor.phase === "terminated") {
      throw new AgoraError(ErrorCode.InvalidState, `executor ${executorId} is shutting down`);
    }
    const first = executor.phase === "launching";
    const recovered = executor.phase === "recovering";
    executor.phase = "running";
    executor.timer?.cancel();
    executor.timer = undefined;
    executor.recovered?.();
    executor.recovered = undefined;
    this.#o.metrics.inc(
      first ? "executors_subscribed" : recovered ? "executors_recovered" : "executors_resubscribed",
    );
    this.#o.logger.info(
      { frameworkId, executorId, pid: executor.pid },
      first ? "executor subscribed" : "executor resubscribed",
    );
    this.#reportedLaunched(executor, msg.tasks ?? []);
    for (const status of msg.unacknowledgedUpdates ?? []) {
      const record = this.#tasks.get(key(frameworkId, status.taskId));
      if (status.uuid !== undefined && record?.acked.includes(status.uuid)) {
        // Acknowledged while the executor was not told (the agent restarted): tell it now.
        queueMicrotask(() =>
          this.#send(executor, {
            type: "executor.acknowledged",
            taskId: status.taskId,
            uuid: status.uuid!,
          }),
        );
        continue;
      }
      this.executorUpdate(frameworkId, executorId, status);
    }
    // The reply goes out when this handler returns; the launches follow it.
    queueMicrotask(() => {
      for (const taskId of executor.queued.splice(0)) {
        const record = this.#tasks.get(key(frameworkId, taskId));
        if (record !== undefined && !isTerminalState(record.status.state)) {
          this.#launch(executor, record);
        }
      }
      for (const group of executor.queuedGroups.splice(0)) void this.#launchGroup(executor, group);
    });
    const capabilities = executor.framework.capabilities;
    return {
      type: "executor.subscribed",
      agentId: this.#o.agentId(),
      frameworkId,
      executorId,
      ...(capabilities === undefined ? {} : { frameworkCapabilities: capabilities }),
    };
  }

  /**
   * The tasks a (re)subscribing executor reports it runs were launched, whatever the
   * checkpoint says (an agent that crashed between sending the launch and checkpointing
   * it): they leave the queued launches and are checkpointed as launched, never sent again.
   */
  #reportedLaunched(executor: ExecutorRecord, tasks: readonly TaskInfo[]): void {
    if (tasks.length === 0) return;
    const reported = new Set(tasks.map((task) => task.taskId));
    // A group goes out whole: one task of it reported means the whole group was launched.
    for (const group of executor.queuedGroups.splice(0)) {
      if (!group.taskIds.some((id) => reported.has(id))) executor.queuedGroups.push(group);
      else for (const id of group.taskIds) reported.add(id);
    }
    const queued = executor.queued.splice(0);
    executor.queued.push(...queued.filter((taskId) => !reported.has(taskId)));
    for (const taskId of reported) {
      const record = this.#tasks.get(key(executor.frameworkId, taskId));
      if (record === undefined || record.executorId !== executor.executorId || record.launched) {
        continue;
      }
      record.launched = true;
      this.checkpointTask(executor.frameworkId, taskId);
    }
  }

  /** A status update from an executor (`executor.update`). */
  executorUpdate(frameworkId: string, executorId: string, status: TaskStatus): void {
    const record = this.#tasks.get(key(frameworkId, status.taskId));
    // made when something is logged: a child logger per update cost more than the update
    let child: Logger | undefined;
    const log = () => {
      child ??= this.#o.logger.child({ frameworkId, executorId, taskId: status.taskId });
      return child;
    };
    if (record === undefined || record.executorId !== executorId) {
      this.#o.metrics.inc("executor_updates_unknown_task");
      log().warn({ state: status.state }, "update for a task this executor does not run dropped");
      return;
    }
    if (status.uuid === undefined) {
      this.#o.metrics.inc("executor_updates_invalid");
      log().warn({ state: status.state }, "executor update without uuid dropped");
      return;
    }
    if (taskLifecycle.next(record.status.state, status.state) === undefined) {
      this.#o.metrics.inc("executor_updates_illegal");
      log().warn(
        { from: record.status.state, to: status.state },
        "illegal task transition dropped",
      );
      return;
    }
    const normalized: TaskStatus = {
      ...status,
      agentId: this.#o.agentId(),
      executorId,
      source: TaskSource.Executor,
    };
    const executor = this.#executors.get(key(frameworkId, executorId));
    const container = executor?.container;
    const containers = this.#o.containers;
    if (executor === undefined || container === undefined || containers === undefined) {
      this.#apply(record, normalized, log);
      return;
    }
    // A task the kernel or the agent ended for a limit fails for that reason, not for
    // the SIGKILL the executor saw: the container's counters are read before it is sent.
    // Other updates go at once (those of one message then leave together), unless one
    // waits for its check: they keep their order behind it.
    if (status.state !== TaskState.Failed && (executor.updatesWaiting ?? 0) === 0) {
      this.#apply(record, normalized, log);
      return;
    }
    executor.updatesWaiting = (executor.updatesWaiting ?? 0) + 1;
    const waiting = async (): Promise<void> => {
      let final = normalized;
      if (status.state === TaskState.Failed) {
        const nested = executor.taskContainers.get(status.taskId);
        const limitation = await (nested === undefined
          ? containers.limitation(container)
          : taskLimitation(nested, record.task)
        ).catch((err: unknown) => {
          log().warn({ err }, "container limitation not read");
          return undefined;
        });
        if (limitation !== undefined) {
          this.#o.metrics.inc("tasks_limited");
          final = { ...normalized, reason: limitation.reason, message: limitation.message };
        }
      }
      if (taskLifecycle.next(record.status.state, final.state) === undefined) {
        this.#o.metrics.inc("executor_updates_illegal");
        return;
      }
      this.#apply(record, final, log);
    };
    executor.updates = (executor.updates ?? Promise.resolve()).then(() =>
      waiting().finally(() => {
        executor.updatesWaiting = (executor.updatesWaiting ?? 1) - 1;
      }),
    );
  }

  #apply(record: TaskRecord, status: TaskStatus, log: () => Logger): void {
    if (this.#o.sendStatus(record.frameworkId, status) === "queued") {
      record.status = status;
      if (this.#o.logger.isLevelEnabled?.("debug") ?? true) {
        log().debug({ state: status.state, uuid: status.uuid }, "task status");
      }
      if (isTerminalState(status.state)) this.#taskEnded(record);
    }
  }

  /** An update of a task was acknowledged: remembered in its checkpoint. */
  noteAcknowledged(frameworkId: string, status: TaskStatus): void {
    const record = this.#tasks.get(key(frameworkId, status.taskId));
    if (record === undefined || status.uuid === undefined) return;
    record.acked.push(status.uuid);
    if (record.acked.length > CHECKPOINT_ACKED_UUIDS) record.acked.shift();
    record.acknowledged = status;
    // nothing waits for it: written with the task's next change, or soon (CHECKPOINT_ACK_FLUSH_MS)
    this.checkpointTaskSoon(frameworkId, status.taskId);
  }

  /**
   * Checkpoints a task with its next change, or within CHECKPOINT_ACK_FLUSH_MS:
   * for changes a crash may lose (an acknowledgement, which only makes the
   * update be sent again; an executor's update, which the executor resends).
   */
  checkpointTaskSoon(frameworkId: string, taskId: string): void {
    this.#lazy.add(key(frameworkId, taskId));
    this.#lazyTimer ??= this.#o.clock.after(CHECKPOINT_ACK_FLUSH_MS, () => {
      this.#lazyTimer = undefined;
      const keys = [...this.#lazy];
      this.#lazy.clear();
      for (const k of keys) {
        const r = this.#tasks.get(k);
        if (r !== undefined) this.checkpointTask(r.frameworkId, r.task.taskId);
      }
    });
  }

  /** Passes an acknowledgement of an executor's update on to it. */
  acknowledged(frameworkId: string, status: TaskStatus): void {
    if (status.source !== TaskSource.Executor || status.uuid === undefined) return;
    const record = this.#tasks.get(key(frameworkId, status.taskId));
    const executor = this.#executors.get(
      key(frameworkId, record?.executorId ?? status.executorId ?? status.taskId),
    );
    if (executor?.phase !== "running") return;
    const uuid = status.uuid;
    const forward = () => {
      if (executor.phase !== "running") return;
      this.#send(executor, { type: "executor.acknowledged", taskId: status.taskId, uuid });
    };
    // The executor stops resending an update once it is acknowledged: the status it
    // acknowledges must be in the task's checkpoint first, or an agent that crashes now
    // would recover an older state that nobody resends.
    const k = key(frameworkId, status.taskId);
    if (record !== undefined && this.#lazy.has(k)) {
      void this.checkpointTask(frameworkId, status.taskId).then(forward);
    } else {
      forward();
    }
  }

  /** The stream of a task is closed (its terminal update was acknowledged): forget it. */
  forgetTask(frameworkId: string, taskId: string): void {
    const record = this.#tasks.get(key(frameworkId, taskId));
    if (record === undefined || !isTerminalState(record.status.state)) return;
    this.#tasks.delete(key(frameworkId, taskId));
    const executor = this.#executors.get(key(frameworkId, record.executorId));
    executor?.taskIds.delete(taskId);
    this.#checkpoints.taskClosed(
      frameworkId,
      record.executorId,
      taskId,
      () => executor === undefined && !this.#hasTasksOf(frameworkId, record.executorId),
    );
  }

  /** Checkpoints a task (coalesced; its state is taken when the write starts). */
  checkpointTask(frameworkId: string, taskId: string): Promise<void> {
    const record = this.#tasks.get(key(frameworkId, taskId));
    if (record === undefined) return Promise.resolve();
    const k = key(frameworkId, taskId);
    this.#lazy.delete(k);
    return this.#checkpoints.task(frameworkId, record.executorId, taskId, () => {
      const r = this.#tasks.get(k);
      return r === undefined
        ? undefined
        : taskCheckpoint(r, this.#o.pendingUpdates(r.frameworkId, r.task.taskId));
    });
  }

  #hasTasksOf(frameworkId: string, executorId: string): boolean {
    for (const r of this.#tasks.values()) {
      if (r.frameworkId === frameworkId && r.executorId === executorId) return true;
    }
    return false;
  }

  /** Passes a scheduler's message to an executor (`agent.frameworkMessage`). */
  frameworkMessage(frameworkId: string, executorId: string, data: Uint8Array): void {
    const executor = this.#executors.get(key(frameworkId, executorId));
    if (executor?.phase !== "running") {
      this.#o.metrics.inc("framework_messages_dropped");
      this.#o.logger.warn({ frameworkId, executorId }, "framework message for no running executor");
      return;
    }
    this.#send(executor, { type: "executor.frameworkMessage", data });
  }

  /**
   * Shuts an executor down: `executor.shutdown`, then SIGKILL to its process
   * tree after the grace period. Resolves when it has exited.
   */
  shutdownExecutor(
    executor: ExecutorRecord,
    graceMs = this.#o.shutdownGracePeriodMs,
  ): Promise<void> {
    if (executor.phase === "terminating" || executor.phase === "terminated") {
      return executor.exited;
    }
    const previous = executor.phase;
    executor.phase = "terminating";
    executor.timer?.cancel();
    executor.timer = undefined;
    executor.failure ??= {
      state: TaskState.Killed,
      reason: TaskReason.ExecutorTerminated,
      message: "the executor was shut down",
    };
    this.#o.logger.info(
      { frameworkId: executor.frameworkId, executorId: executor.executorId, pid: executor.pid },
      "shutting executor down",
    );
    if (previous === "running") {
      this.#send(executor, { type: "executor.shutdown", gracePeriodSeconds: graceMs / 1000 });
      executor.timer = this.#o.clock.after(graceMs + EXECUTOR_SHUTDOWN_KILL_MARGIN_MS, () =>
        this.#kill(executor),
      );
    } else if (executor.pid !== undefined) {
      this.#kill(executor);
    } else if (this.#o.fetchStep.abort(executor)) {
      // Fetching its URIs: the launch sees the phase once the fetch stopped and ends the executor.
    } else if (executor.child === undefined && executor.sandbox !== undefined) {
      this.#terminated(executor, "was never started");
    }
    // Still creating the sandbox: the launch sees the phase and ends the executor.
    return executor.exited;
  }

  /** Shuts down the executors of a framework and forgets its tasks (`agent.shutdownFramework`). */
  async shutdownFramework(frameworkId: string): Promise<void> {
    this.#terminating.add(frameworkId);
    try {
      const executors = this.executors().filter((e) => e.frameworkId === frameworkId);
      await Promise.all(executors.map((e) => this.shutdownExecutor(e)));
      for (const [k, record] of this.#tasks) {
        if (record.frameworkId === frameworkId) this.#tasks.delete(k);
      }
      await this.#checkpoints.frameworkClosed(frameworkId);
    } finally {
      this.#terminating.delete(frameworkId);
    }
  }

  /** Shuts down every executor; resolves when all have exited. */
  async shutdownAll(): Promise<void> {
    await Promise.all(this.executors().map((e) => this.shutdownExecutor(e)));
  }

  /** Forgets every task (after {@link shutdownAll}, when the master refused the agent). */
  forgetAll(): void {
    this.#lazy.clear();
    this.#tasks.clear();
    for (const executor of this.#executors.values()) executor.taskIds.clear();
    this.#checkpoints.clear();
  }

  /** Takes in an executor and its tasks read back from the checkpoint (recovery.ts). */
  restore(executor: ExecutorRecord, tasks: readonly TaskRecord[]): void {
    this.#checkpoints.frameworkKnown(executor.frameworkId);
    for (const record of tasks) {
      this.#tasks.set(key(record.frameworkId, record.task.taskId), record);
      executor.taskIds.add(record.task.taskId);
      if (!record.launched && !isTerminalState(record.status.state)) {
        executor.queued.push(record.task.taskId);
      }
    }
    this.#executors.set(key(executor.frameworkId, executor.executorId), executor);
  }

  /** A recovered executor found gone, or killed: its session is killed and its tasks end. */
  terminate(executor: ExecutorRecord, how: string): void {
    this.#terminated(executor, how);
  }

  /** Sends a message to an executor on its subject. */
  sendTo(executor: ExecutorRecord, msg: Message): void {
    this.#send(executor, msg);
  }

  /** SIGKILLs a recovered executor and its session; resolves when it is gone. */
  killRecovered(executor: ExecutorRecord): Promise<void> {
    executor.phase = "terminating";
    this.#kill(executor);
    this.watchRecovered();
    return executor.exited;
  }

  /** Polls the recovered executors: one that has exited is terminated. */
  watchRecovered(): void {
    if (this.#poll !== undefined) return;
    this.#poll = this.#o.clock.every(RECOVERED_EXECUTOR_POLL_MS, () => {
      let watching = 0;
      for (const executor of [...this.#executors.values()]) {
        if (executor.child !== undefined || executor.pid === undefined) continue;
        if (isSameProcess(executor.pid, executor.startTime)) {
          watching++;
          continue;
        }
        this.#terminated(executor, executor.failure === undefined ? "exited" : "was killed");
      }
      if (watching === 0) {
        this.#poll?.cancel();
        this.#poll = undefined;
      }
    });
  }

  /**
   * Checks the executor's sandbox against its container's disk; over it with
   * `--enforce-container-disk-quota`, everything in the container is killed
   * and its tasks fail with `REASON_CONTAINER_LIMITATION_DISK`.
   */
  watchDisk(executor: ExecutorRecord): void {
    const container = executor.container;
    const sandbox = executor.sandbox;
    if (container === undefined || sandbox === undefined || this.#o.containers === undefined) {
      return;
    }
    const containers = this.#o.containers;
    containers.watchDisk(container, sandbox, (limitation) => {
      this.#o.logger.warn(
        { frameworkId: executor.frameworkId, executorId: executor.executorId },
        limitation.message,
      );
      executor.failure ??= {
        state: TaskState.Failed,
        reason: limitation.reason,
        message: limitation.message,
      };
      containers.kill(container).catch((err: unknown) => {
        this.#o.logger.warn({ err, containerId: container.id }, "container not killed");
      });
    });
  }

  /** Cancels the manager's timers; executors keep running (they outlive the agent). */
  stop(): void {
    this.#toExecutors.flush();
    this.#poll?.cancel();
    this.#poll = undefined;
    // the acknowledgements that wait go to disk now (the executors outlive the agent)
    this.#lazyTimer?.cancel();
    this.#lazyTimer = undefined;
    for (const k of [...this.#lazy]) {
      const r = this.#tasks.get(k);
      if (r !== undefined) this.checkpointTask(r.frameworkId, r.task.taskId);
    }
    for (const executor of this.#executors.values()) {
      executor.timer?.cancel();
      executor.timer = undefined;
      executor.idleTimer?.cancel();
      executor.idleTimer = undefined;
      executor.container?.diskWatch?.cancel();
      if (executor.container !== undefined) executor.container.diskWatch = undefined;
    }
  }

  #hasLiveTasks(executor: ExecutorRecord): boolean {
    for (const taskId of executor.taskIds) {
      const record = this.#tasks.get(key(executor.frameworkId, taskId));
      if (record !== undefined && !isTerminalState(record.status.state)) return true;
    }
    return false;
  }

  #createExecutor(framework: FrameworkRef, task: TaskInfo, kind: ExecutorKind): ExecutorRecord {
    const info = task.executor;
    const command = info?.command;
    const executor = newExecutorRecord({
      framework,
      executorId: kind === "command" ? task.taskId : info!.executorId,
      kind,
      program:
        kind === "command"
          ? this.#o.commandExecutor
          : kind === "default" || command === undefined
            ? defaultExecutorProgram(this.#o.commandExecutor)
            : commandProgram(command),
      extraEnv: kind === "custom" ? { ...(command?.environment ?? {}) } : {},
    });
    this.#executors.set(key(executor.frameworkId, executor.executorId), executor);
    this.#o.metrics.inc("executors_launched");
    void this.#spawn(executor, task);
    return executor;
  }

  async #spawn(executor: ExecutorRecord, task: TaskInfo): Promise<void> {
    const { frameworkId, executorId } = executor;
    const log = this.#o.logger.child({ frameworkId, executorId });
    const launchFailed = (message: string) => {
      executor.failure ??= {
        state: TaskState.Failed,
        reason: TaskReason.ContainerLaunchFailed,
        message: `Failed to launch the executor: ${message}`,
      };
    };
    try {
      const containers = this.#o.containers;
      if (containers?.isolating()) {
        const { resources, overheadMem } = containerResources(task, executor.kind);
        executor.container = await containers.prepare(
          frameworkId,
          executorId,
          resources,
          overheadMem,
        );
      }
      const container = executor.container;
      const started = await startExecutorProcess(executor, {
        ...(container === undefined ? {} : { wrap: (argv) => container.container.wrap(argv) }),
        workDir: this.#o.workDir,
        ...(executor.kind === "custom" && task.executor?.command?.user !== undefined
          ? { user: task.executor.command.user }
          : {}),
        env: {
          natsUrl: this.#o.natsUrl,
          ...(this.#o.executorCredentials === undefined
            ? {}
            : { credentials: this.#o.executorCredentials }),
          subjectPrefix: this.#o.subjects.prefix,
          agentId: this.#o.agentId(),
          agentPrincipal: this.#o.agentPrincipal ?? DEFAULT_PRINCIPAL,
          ...(executor.token === undefined ? {} : { token: executor.token }),
          frameworkId,
          executorId,
          sandbox: "",
          logLevel: this.#o.logLevel,
          shutdownGracePeriodMs: this.#o.shutdownGracePeriodMs,
          recoveryTimeoutMs: this.#o.recoveryTimeoutMs,
        },
        onError: (err) => {
          log.warn({ err }, "executor failed to start");
          launchFailed(err.message);
          this.#terminated(executor, "failed to start");
        },
        onExit: (how, code) => {
          if (
            code === JOIN_CGROUP_FAILED_EXIT &&
            executor.container !== undefined &&
            executor.phase === "launching"
          ) {
            launchFailed("it could not join its container's cgroups");
          }
          this.#terminated(executor, how);
        },
        fetch: (sandbox) =>
          this.#o.fetchStep.fetchForExecutor(
            executor,
            // The task it is started for, queued by now (runTask adds it right after the create).
            this.#tasks.get(key(frameworkId, [...executor.taskIds][0] ?? ""))?.task,
            sandbox,
            this.#o.agentId(),
          ),
      });
      if (!started) {
        this.#terminated(executor, "was shut down before it started");
        return;
      }
    } catch (err) {
      log.warn({ err }, "executor could not be started");
      launchFailed(err instanceof Error ? err.message : String(err));
      this.#terminated(executor, "could not be started");
      return;
    }
    log.info(
      { pid: executor.pid, sandbox: executor.sandbox, containerId: executor.container?.id },
      "executor started",
    );
    this.#checkpoints.executor(executor);
    if (executor.container !== undefined && executor.sandbox !== undefined) {
      this.watchDisk(executor);
    }
    executor.timer = this.#o.clock.after(this.#o.registrationTimeoutMs, () => {
      executor.timer = undefined;
      if (executor.phase !== "launching") return;
      this.#o.metrics.inc("executor_registration_timeouts");
      log.warn({ pid: executor.pid }, "executor did not subscribe in time");
      executor.failure = {
        state: TaskState.Failed,
        reason: TaskReason.ExecutorRegistrationTimeout,
        message: `Executor did not subscribe within ${this.#o.registrationTimeoutMs / 1000}s`,
      };
      executor.phase = "terminating";
      this.#failTasks(executor, "did not subscribe");
      this.#kill(executor);
    });
  }

  #kill(executor: ExecutorRecord): void {
    if (executor.pid === undefined || executor.phase === "terminated") return;
    this.#o.logger.info(
      { frameworkId: executor.frameworkId, executorId: executor.executorId, pid: executor.pid },
      "killing executor",
    );
    signalTree(executor.pid, "SIGKILL");
  }

  /**
   * The executor is gone: whatever is left in its session (its tasks and
   * their children, orphaned by a kill -9) is killed, and every task of it
   * that has not ended ends now.
   */
  #terminated(executor: ExecutorRecord, how: string): void {
    if (executor.phase === "terminated") return;
    executor.phase = "terminated";
    // A recovering executor that died: recovery need not wait for it any longer.
    executor.recovered?.();
    executor.recovered = undefined;
    executor.timer?.cancel();
    executor.timer = undefined;
    executor.idleTimer?.cancel();
    executor.idleTimer = undefined;
    executor.taskContainers.clear();
    const k = key(executor.frameworkId, executor.executorId);
    if (this.#executors.get(k) === executor) this.#executors.delete(k);
    const container = executor.container;
    const containers = this.#o.containers;
    if (container === undefined || containers === undefined) {
      this.#ended(executor, how);
      executor.markExited();
      return;
    }
    const log = this.#o.logger.child({
      frameworkId: executor.frameworkId,
      executorId: executor.executorId,
      containerId: container.id,
    });
    void (async () => {
      // Updates the executor sent before it ended are applied first.
      await executor.updates;
      try {
        const limitation = await containers.limitation(container);
        if (limitation !== undefined && executor.failure === undefined) {
          this.#o.metrics.inc("executors_limited");
          executor.failure = {
            state: TaskState.Failed,
            reason: limitation.reason,
            message: limitation.message,
          };
        }
        // Whatever the executor left (a task that escaped its session with setsid too).
        await containers.kill(container);
      } catch (err) {
        log.warn({ err }, "container not emptied");
      }
      this.#ended(executor, how);
      await containers
        .destroy(container)
        .catch((err: unknown) => log.warn({ err }, "container not destroyed"));
      executor.markExited();
    })();
  }

  /** The executor's end, once its container is empty (or without one). */
  #ended(executor: ExecutorRecord, how: string): void {
    if (executor.session !== undefined) {
      const killed = killSession(executor.session);
      if (killed > 0) {
        this.#o.metrics.inc("executor_orphans_killed", killed);
        this.#o.logger.info(
          { executorId: executor.executorId, session: executor.session, processes: killed },
          "killed what the executor left running",
        );
      }
    }
    this.#o.metrics.inc("executors_terminated");
    this.#o.logger.info(
      { frameworkId: executor.frameworkId, executorId: executor.executorId, pid: executor.pid },
      `executor ${how}`,
    );
    this.#failTasks(executor, how);
    if (!this.#hasTasksOf(executor.frameworkId, executor.executorId)) {
      this.#checkpoints.executorClosed(executor.frameworkId, executor.executorId);
    }
  }

  #failTasks(executor: ExecutorRecord, how: string): void {
    for (const taskId of executor.taskIds) {
      const record = this.#tasks.get(key(executor.frameworkId, taskId));
      if (record === undefined || isTerminalState(record.status.state)) continue;
      const failure = executor.failure;
      if (record.killed) {
        this.#update(record, TaskState.Killed, TaskReason.ExecutorTerminated, `Executor ${how}`);
      } else if (failure !== undefined) {
        this.#update(record, failure.state, failure.reason, failure.message);
      } else {
        this.#update(record, TaskState.Failed, TaskReason.ExecutorTerminated, `Executor ${how}`);
      }
    }
  }

  #launch(executor: ExecutorRecord, record: TaskRecord): void {
    record.launched = true;
    this.checkpointTask(record.frameworkId, record.task.taskId);
    this.#o.metrics.inc("tasks_launched");
    this.#send(executor, { type: "executor.launch", task: record.task });
  }

  #send(executor: ExecutorRecord, msg: Message): void {
    try {
      this.#toExecutors.publish(
        this.#o.subjects.executor(
          this.#o.agentId(),
          executor.frameworkId,
          executor.executorId,
          this.#o.agentPrincipal,
        ),
        msg,
      );
    } catch (err) {
      this.#o.logger.warn({ err, type: msg.type }, "message to executor not sent");
    }
  }

  #agentStatus(taskId: string, state: TaskState, executorId: string | undefined): TaskStatus {
    return {
      taskId,
      state,
      agentId: this.#o.agentId(),
      executorId,
      source: TaskSource.Agent,
      uuid: randomUUID(),
      timestamp: this.#o.clock.now(),
    };
  }

  /** An update generated by the agent itself. */
  #update(record: TaskRecord, state: TaskState, reason: TaskReason, message: string): void {
    const status = this.#agentStatus(record.task.taskId, state, record.executorId);
    status.reason = reason;
    status.message = message;
    if (this.#o.sendStatus(record.frameworkId, status) === "queued") {
      record.status = status;
      if (isTerminalState(state)) this.#taskEnded(record);
    }
  }
}

/** The whole of a group as one task, for its executor's container: its tasks' resources summed. */
function groupTask(info: ExecutorInfo, group: TaskGroupInfo): TaskInfo {
  const sum: Record<string, number> = {};
  for (const task of group.tasks) {
    for (const name of ["cpus", "mem", "disk"]) {
      const v = task.resources[name];
      if (typeof v === "number") sum[name] = (sum[name] ?? 0) + v;
    }
  }
  const first = group.tasks[0]!;
  return { ...first, resources: sum, executor: info };
}

/** A task's cpus and mem (its nested cgroup's limits). */
function scalars(task: TaskInfo): { cpus?: number; mem?: number } {
  const out: { cpus?: number; mem?: number } = {};
  const cpus = task.resources.cpus;
  const mem = task.resources.mem;
  if (typeof cpus === "number" && cpus > 0) out.cpus = cpus;
  if (typeof mem === "number" && mem > 0) out.mem = mem;
  return out;
}

/** The `cgroup.procs` files a process joins to be in `container`. */
function procsFiles(container: Container): string[] {
  return container.procsFiles();
}

/** Why a task of a default executor failed, if its nested cgroup's memory limit did it. */
async function taskLimitation(
  container: Container,
  task: TaskInfo,
): Promise<Limitation | undefined> {
  const oom = await container.oom();
  if (!oom.killed || oom.limitation === undefined) return undefined;
  const mem = task.resources.mem;
  return typeof mem === "number"
    ? {
        ...oom.limitation,
        message: `Memory limit of ${mem} MB exceeded: the task's cgroup was OOM-killed at its limit`,
      }
    : oom.limitation;
}

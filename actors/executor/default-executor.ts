/**
 * The built-in default executor, as Mesos's: a long-lived process the agent
 * starts for a (framework, executor id) of type `DEFAULT`, which runs every
 * task group the agent sends it (`executor.launchGroup`) over its life. Each
 * task runs in its own sandbox `<executor sandbox>/tasks/<taskId>` (its
 * `stdout`, `stderr` and cwd), in its own nested cgroup when the agent
 * isolates (named in the launch), through the same spawn as the command
 * executor's (task-process.ts). A task reports TASK_RUNNING once its process
 * is spawned, then TASK_FINISHED / TASK_FAILED / TASK_KILLED as the command
 * executor does; health checks and kill policy (TASK_KILLING) as well.
 *
 * Group failure policy: when a task of a group ends other than TASK_FINISHED
 * (failed, killed, OOM-killed, killed by its health check), the group's other
 * tasks are killed and end TASK_KILLED with REASON_TASK_GROUP_KILLED, unless
 * the group's `failurePolicy` is `CONTINUE`.
 *
 * The executor does not exit when its tasks end: the agent shuts it down
 * (`executor.shutdown`) after its idle timeout, or with its framework. On
 * shutdown it kills what runs, waits (bounded) for the acknowledgement of
 * its terminal updates, and exits 0.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { systemClock, type Timer } from "../../infra/clock.ts";
import {
  DEFAULT_COMMAND_EXECUTOR_ACK_WAIT_MS,
  DEFAULT_EXECUTOR_SPAWNS_PER_TURN,
  TERMINAL_OUTPUT_TAIL_BYTES,
} from "../../infra/defaults.ts";
import { inheritedEnvironment } from "../../infra/inherited-env.ts";
import {
  type TaskGroupInfo,
  type TaskInfo,
  TaskReason,
  TaskState,
  type TaskStatus,
} from "../../protocol/common.ts";
import { FrameworkCapability } from "../../protocol/frameworks.ts";
import { healthCheckProblem } from "../../protocol/health.ts";
import { signalTree } from "../shared/process-tree.ts";
import { taskSandboxDir } from "../shared/sandbox.ts";
import {
  createExecutorDriver,
  type ExecutorDriverOptions,
  type ExecutorUpdate,
  type TaskContainer,
} from "./driver.ts";
import { HealthChecker, type HealthResult } from "./health/checker.ts";
import { killGracePeriodMs } from "./health/kill-policy.ts";
import {
  commandUser,
  connectExecutor,
  switchedIds,
  tail,
  taskEnvironment,
} from "./task-process.ts";
import { type TaskChild, TaskSpawner } from "./task-spawner.ts";

/** Options of {@link runDefaultExecutor}. */
export interface DefaultExecutorOptions extends ExecutorDriverOptions {
  /** How long a shutdown waits for the acknowledgement of terminal updates. @default 5 s */
  ackWaitMs?: number;
  /** Called to end the process. @default process.exit */
  exit?(code: number): void;
}

/** One group as the executor runs it. */
interface GroupRun {
  readonly taskIds: readonly string[];
  readonly killGroup: boolean;
}

/** One task of the default executor. */
class TaskRun {
  child: TaskChild | undefined;
  spawned = false;
  killing = false;
  killTimer: Timer | undefined;
  ending = false;
  terminal: TaskStatus | undefined;
  checker: HealthChecker | undefined;
  healthy: boolean | undefined;
  unhealthy: string | undefined;
  /** Why the task is being killed for its group, once it is. */
  groupKill: string | undefined;
  constructor(
    readonly task: TaskInfo,
    readonly group: GroupRun,
    readonly sandbox: string,
  ) {}
}

/** Runs the default executor in this process until the agent shuts it down. */
export async function runDefaultExecutor(options: DefaultExecutorOptions = {}): Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const ackWaitMs = options.ackWaitMs ?? DEFAULT_COMMAND_EXECUTOR_ACK_WAIT_MS;
  const clock = options.clock ?? systemClock;
  const runs = new Map<string, TaskRun>();
  let shuttingDown = false;
  let exiting = false;

  /** Tasks' processes start in the spawner's helper process (./task-spawner.ts), made at the first task. */
  let spawner: TaskSpawner | undefined;
  const taskSpawner = (): TaskSpawner => {
    spawner ??= new TaskSpawner({ logger: driver.logger.child({ component: "task-spawner" }) });
    return spawner;
  };

  const live = () => [...runs.values()].filter((r) => r.terminal === undefined);

  /**
   * The executor's environment, copied once at the first task (copying `process.env`, a
   * proxy over the C environment, cost more per task than the rest of its environment).
   * By then the driver is connected and the executor's own variables are scrubbed;
   * {@link taskEnvironment} drops any private one left all the same.
   */
  let envSnapshot: NodeJS.ProcessEnv | undefined;
  const baseEnvironment = (): NodeJS.ProcessEnv => {
    envSnapshot ??= inheritedEnvironment();
    return envSnapshot;
  };

  const finish = async (): Promise<void> => {
    if (exiting) return;
    exiting = true;
    const pending = [...runs.values()]
      .map((r) => r.terminal?.uuid)
      .filter((u): u is string => u !== undefined);
    await Promise.all(pending.map((uuid) => driver.whenAcknowledged(uuid, ackWaitMs)));
    spawner?.close();
    await driver.stop();
    exit(0);
  };

  const report = (run: TaskRun, status: ExecutorUpdate): TaskStatus => {
    const healthy = status.healthy ?? run.healthy;
    return driver.sendUpdate(healthy === undefined ? status : { ...status, healthy });
  };

  /** The terminal update of a task (after its checker stopped); then the group's policy. */
  const ended = (run: TaskRun, status: ExecutorUpdate): void => {
    if (run.ending) return;
    run.ending = true;
    run.killTimer?.cancel();
    const send = () => {
      run.terminal = report(run, status);
      // a task that ended for its group does not take the group down again
      if (status.state !== TaskState.Finished && run.groupKill === undefined) {
        failGroup(run, status.state);
      }
      // once done with the acknowledgement the driver forgets it; the run is kept for the wait
      if (shuttingDown && live().length === 0) void finish();
    };
    if (run.checker === undefined) send();
    else void run.checker.stop().then(send);
  };

  const failGroup = (failed: TaskRun, state: TaskState): void => {
    if (!failed.group.killGroup) return;
    const why = `Killed: task ${failed.task.taskId} of its group ended ${state}`;
    for (const taskId of failed.group.taskIds) {
      const sibling = runs.get(taskId);
      if (sibling === undefined || sibling === failed || sibling.ending) continue;
      sibling.groupKill = why;
      kill(taskId, undefined);
    }
  };

  const onExit = (run: TaskRun, code: number | null, signal: NodeJS.Signals | null) => {
    const taskId = run.task.taskId;
    const outcome = {
      taskId,
      message:
        signal !== null
          ? `Command terminated with signal ${signal}`
          : `Command exited with status ${code}`,
      exitCode: code ?? undefined,
      signal: signal ?? undefined,
      data: tail(path.join(run.sandbox, "stdout"), TERMINAL_OUTPUT_TAIL_BYTES),
    };
    if (run.unhealthy !== undefined) {
      ended(run, { ...outcome, state: TaskState.Killed, healthy: false, message: run.unhealthy });
    } else if (run.groupKill !== undefined) {
      ended(run, {
        ...outcome,
        state: TaskState.Killed,
        reason: TaskReason.TaskGroupKilled,
        message: run.groupKill,
      });
    } else if (run.killing) ended(run, { ...outcome, state: TaskState.Killed });
    else if (code === 0) ended(run, { ...outcome, state: TaskState.Finished });
    else ended(run, { ...outcome, state: TaskState.Failed });
  };

  const startHealthChecks = (
    run: TaskRun,
    as: { env: NodeJS.ProcessEnv; uid?: number; gid?: number },
  ): void => {
    const check = run.task.healthCheck;
    if (check === undefined || run.killing || run.ending) return;
    const taskId = run.task.taskId;
    try {
      run.checker = new HealthChecker({
        check,
        clock,
        command: { cwd: run.sandbox, ...as },
        logger: driver.logger.child({ taskId }),
        metrics: driver.metrics,
        onStatus: (result: HealthResult) => {
          run.healthy = result.healthy;
          if (run.killing || run.ending) return;
          report(run, {
            taskId,
            state: TaskState.Running,
            healthy: result.healthy,
            reason: TaskReason.TaskHealthCheckStatusUpdated,
            ...(result.message === "" ? {} : { message: result.message }),
          });
        },
        onUnhealthy: (message) => {
          if (run.killing || run.ending) return;
          run.unhealthy = message;
          run.healthy = false;
          kill(taskId, undefined);
        },
      });
      run.checker.start();
    } catch (err) {
      driver.logger.error({ err, taskId }, "health checker could not start");
    }
  };

  const start = (run: TaskRun, cgroupProcs: readonly string[] | undefined): void => {
    const { task } = run;
    const command = task.command!;
    // the agent already refused a user it cannot switch to; this names one that vanished since
    const user = commandUser(command);
    // no AGORA_* variable and no credential of this executor reaches the task
    const env = taskEnvironment(baseEnvironment(), {
      sandbox: run.sandbox,
      taskId: task.taskId,
      executorId: driver.env.executorId,
      frameworkId: driver.env.frameworkId,
      agentId: driver.env.agentId,
      user,
      environment: command.environment,
    });
    mkdirSync(run.sandbox, { recursive: true });
    const child = taskSpawner().spawn({
      command,
      sandbox: run.sandbox,
      env,
      user,
      ...(cgroupProcs === undefined ? {} : { cgroupProcs }),
    });
    run.child = child;
    child.once("spawn", () => {
      run.spawned = true;
      if (run.killing) {
        // killed while being spawned: the kill goes out now
        if (child.pid !== undefined) signalTree(child.pid, "SIGKILL");
        return;
      }
      report(run, { taskId: task.taskId, state: TaskState.Running });
      startHealthChecks(run, { env, ...switchedIds(user) });
    });
    child.once("error", (e) => {
      if (run.spawned) return;
      ended(run, {
        taskId: task.taskId,
        state: TaskState.Failed,
        reason: TaskReason.CommandExecutorFailed,
        message: `Failed to launch the command: ${e.message}`,
      });
    });
    child.once("exit", (code, signal) => onExit(run, code, signal));
    child.once("lost", () => {
      // the helper died: this process's exit will never be known, so it is ended here
      if (child.pid !== undefined) signalTree(child.pid, "SIGKILL");
      ended(run, {
        taskId: task.taskId,
        state: TaskState.Failed,
        reason: TaskReason.CommandExecutorFailed,
        message: "Lost the task's process: the executor's task spawner exited",
      });
    });
  };

  const launchGroup = (group: TaskGroupInfo, containers: TaskContainer[]): void => {
    const procs = new Map(containers.map((c) => [c.taskId, c.cgroupProcs]));
    const run: GroupRun = {
      taskIds: group.tasks.map((t) => t.taskId),
      killGroup: group.failurePolicy !== "CONTINUE",
    };
    // all or none: a group with a task this executor cannot run starts no task
    const problem = groupProblem(group, runs, shuttingDown);
    const made = group.tasks.map(
      (task) => new TaskRun(task, run, taskSandboxDir(driver.env.sandbox, task.taskId)),
    );
    if (problem !== undefined) {
      for (const r of made) {
        if (runs.has(r.task.taskId)) continue;
        runs.set(r.task.taskId, r);
        ended(r, {
          taskId: r.task.taskId,
          state: TaskState.Error,
          reason: TaskReason.TaskGroupInvalid,
          message: `Task group is invalid: ${problem}`,
        });
      }
      return;
    }
    for (const r of made) runs.set(r.task.taskId, r);
    for (const r of made) toStart.push({ run: r, cgroupProcs: procs.get(r.task.taskId) });
    pumpSoon();
  };

  /**
   * Tasks are started a few per event-loop turn ({@link DEFAULT_EXECUTOR_SPAWNS_PER_TURN}), in
   * the order their groups came, so that a big group does not hold back every TASK_RUNNING
   * (and every exit) of the tasks before it; the spawner's helper paces its forks the same way.
   * A task killed (or whose group failed) before its turn ends TASK_KILLED without being
   * spawned, as one killed while being launched.
   */
  const toStart: Array<{ run: TaskRun; cgroupProcs: readonly string[] | undefined }> = [];
  let pumping = false;
  const pumpSoon = (): void => {
    if (pumping || toStart.length === 0) return;
    pumping = true;
    setImmediate(pump);
  };
  const pump = (): void => {
    pumping = false;
    for (let n = 0; n < DEFAULT_EXECUTOR_SPAWNS_PER_TURN && toStart.length > 0; ) {
      const { run: r, cgroupProcs } = toStart.shift()!;
      if (r.killing || r.ending) continue;
      n++;
      try {
        start(r, cgroupProcs);
      } catch (e) {
        ended(r, {
          taskId: r.task.taskId,
          state: TaskState.Failed,
          reason: TaskReason.CommandExecutorFailed,
          message: `Failed to launch the command: ${e instanceof Error ? e.message : String(e)}`,
        });
      }
    }
    pumpSoon();
  };

  const kill = (taskId: string, gracePeriodSeconds: number | undefined): void => {
    const run = runs.get(taskId);
    if (run === undefined || run.ending || run.killing) return;
    run.killing = true;
    const pid = run.child?.pid;
    if (pid === undefined || !run.spawned) {
      if (run.child === undefined) {
        ended(
          run,
          run.groupKill === undefined
            ? { taskId, state: TaskState.Killed, message: "Killed before it started" }
            : {
                taskId,
                state: TaskState.Killed,
                reason: TaskReason.TaskGroupKilled,
                message: run.groupKill,
              },
        );
      }
      return;
    }
    void run.checker?.stop();
    if (driver.frameworkCapabilities.includes(FrameworkCapability.TaskKillingState)) {
      report(run, {
        taskId,
        state: TaskState.Killing,
        ...(run.unhealthy === undefined ? {} : { message: run.unhealthy }),
      });
    }
    const graceMs = killGracePeriodMs(
      run.task,
      gracePeriodSeconds,
      driver.env.shutdownGracePeriodMs,
    );
    signalTree(pid, "SIGTERM");
    run.killTimer = clock.after(graceMs, () => signalTree(pid, "SIGKILL"));
  };

  const shutdown = (gracePeriodSeconds: number | undefined): void => {
    shuttingDown = true;
    const running = live();
    if (running.length === 0) {
      void finish();
      return;
    }
    for (const run of running) {
      kill(run.task.taskId, gracePeriodSeconds ?? driver.env.shutdownGracePeriodMs / 1000);
    }
  };

  const driver = createExecutorDriver({
    ...options,
    callbacks: {
      launchGroup,
      launch: (task) => {
        driver.sendUpdate({
          taskId: task.taskId,
          state: TaskState.Error,
          reason: TaskReason.TaskInvalid,
          message: "the default executor runs task groups (executor.launchGroup)",
        });
      },
      kill,
      shutdown,
      acknowledged: (taskId, uuid) => {
        // a task whose terminal update is acknowledged is forgotten (unless a shutdown waits)
        const run = runs.get(taskId);
        if (!shuttingDown && run?.terminal?.uuid === uuid) runs.delete(taskId);
      },
    },
  });

  process.once("exit", () => {
    for (const run of live()) {
      const pid = run.child?.pid;
      if (pid !== undefined) signalTree(pid, "SIGKILL");
    }
  });
  await connectExecutor(driver, {
    scrub: options.env === undefined,
    shutdown: () => shutdown(undefined),
    exit,
  });
}

/** Why a group cannot start in this executor, or undefined. */
function groupProblem(
  group: TaskGroupInfo,
  runs: ReadonlyMap<string, TaskRun>,
  shuttingDown: boolean,
): string | undefined {
  if (shuttingDown) return "the executor is shutting down";
  for (const task of group.tasks) {
    if (runs.has(task.taskId)) return `task ${task.taskId} is already known to the executor`;
    if (task.command === undefined) return `task ${task.taskId} has no command`;
    const unusable = healthCheckProblem(task.healthCheck);
    if (unusable !== undefined) return `task ${task.taskId}: ${unusable}`;
  }
  return undefined;
}

/**
 * The built-in command executor, as Mesos's: a process of its own that the
 * agent starts for one task with a `command`. It runs the command
 * (`/bin/sh -c value`, or the program with its arguments when `shell` is
 * false) in the sandbox with the task's environment, inside the executor's
 * own session, its output appended to the sandbox's `stdout` and `stderr`. It
 * reports TASK_STARTING, TASK_RUNNING, then TASK_FINISHED on exit status 0 or
 * TASK_FAILED ("Command exited with status N" / "Command terminated with
 * signal SIGx"). A kill sends SIGTERM to the task's process tree and SIGKILL after the grace
 * period (the kill's own, else the task's kill policy, else the agent's), then
 * reports TASK_KILLED; a framework with the capability TASK_KILLING_STATE gets
 * TASK_KILLING first. After its terminal update the executor waits (bounded)
 * for the acknowledgement and exits.
 *
 * A task with a `healthCheck` is checked from TASK_RUNNING on (in its sandbox,
 * with its environment): each change of its health is a TASK_RUNNING update
 * with `healthy` and reason REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, and after
 * `consecutiveFailures` failed checks the task is killed and ends TASK_KILLED
 * with `healthy: false`, as Mesos's command executor. The checker is stopped
 * before any terminal update.
 *
 * Run by the agent as `node <work-dir>/cache/command-executor-<hash>.mjs`, a
 * bundle of this file (actors/agent/executor-bundle.ts), from compiled
 * JavaScript as `node command-executor.js`, else through tsx.
 */
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { systemClock, type Timer } from "../../infra/clock.ts";
import {
  DEFAULT_COMMAND_EXECUTOR_ACK_WAIT_MS,
  TERMINAL_OUTPUT_TAIL_BYTES,
} from "../../infra/defaults.ts";
import { inheritedEnvironment } from "../../infra/inherited-env.ts";
import {
  type CommandInfo,
  type TaskInfo,
  TaskReason,
  TaskState,
  type TaskStatus,
} from "../../protocol/common.ts";
import { FrameworkCapability } from "../../protocol/frameworks.ts";
import { healthCheckProblem } from "../../protocol/health.ts";
import { signalTree } from "../shared/process-tree.ts";
import { DEFAULT_EXECUTOR_ARG } from "../shared/programs.ts";
import { runDefaultExecutor } from "./default-executor.ts";
import { createExecutorDriver, type ExecutorDriverOptions, type ExecutorUpdate } from "./driver.ts";
import { HealthChecker, type HealthResult } from "./health/checker.ts";
import { killGracePeriodMs } from "./health/kill-policy.ts";
import {
  commandUser,
  connectExecutor,
  spawnTaskProcess,
  switchedIds,
  tail,
  taskEnvironment,
} from "./task-process.ts";

/** Options of {@link runCommandExecutor}. */
export interface CommandExecutorOptions extends ExecutorDriverOptions {
  /** How long to wait for the terminal update's acknowledgement. @default 5 s */
  ackWaitMs?: number;
  /** Called to end the process. @default process.exit */
  exit?(code: number): void;
}

/** The one task of a command executor. */
class CommandRun {
  task: TaskInfo | undefined;
  child: ChildProcess | undefined;
  spawned = false;
  killing = false;
  killTimer: Timer | undefined;
  /** Set once the terminal update is decided (it goes out once the checker has stopped). */
  ending = false;
  terminal: TaskStatus | undefined;
  checker: HealthChecker | undefined;
  /** The task's health as last reported (undefined until its check judged it). */
  healthy: boolean | undefined;
  /** Why the health check had the task killed, once it did. */
  unhealthy: string | undefined;
}

/** Runs the command executor in this process until its task has ended. */
export async function runCommandExecutor(options: CommandExecutorOptions = {}): Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const ackWaitMs = options.ackWaitMs ?? DEFAULT_COMMAND_EXECUTOR_ACK_WAIT_MS;
  const clock = options.clock ?? systemClock;
  const run = new CommandRun();
  let exiting = false;
  let shuttingDown = false;

  const finish = async (code: number, waitForAck: boolean): Promise<void> => {
    if (exiting) return;
    exiting = true;
    if (waitForAck && run.terminal?.uuid !== undefined) {
      await driver.whenAcknowledged(run.terminal.uuid, ackWaitMs);
    }
    await driver.stop();
    exit(code);
  };

  /** Sends an update; once the task's health is known, every update carries it (as Mesos's). */
  const report = (status: ExecutorUpdate): TaskStatus => {
    const healthy = status.healthy ?? run.healthy;
    const sent = driver.sendUpdate(healthy === undefined ? status : { ...status, healthy });
    driver.logger.info({ taskId: status.taskId, state: status.state }, "task status");
    return sent;
  };

  /** The terminal update, after the health checker has stopped. */
  const ended = (status: ExecutorUpdate): void => {
    if (run.ending) return;
    run.ending = true;
    run.killTimer?.cancel();
    const checker = run.checker;
    const send = () => {
      run.terminal = report(status);
      void finish(0, !shuttingDown);
    };
    if (checker === undefined) send();
    else void checker.stop().then(send);
  };

  const onHealth = (taskId: string, result: HealthResult): void => {
    run.healthy = result.healthy;
    // once the task is being killed it is no longer RUNNING: its health rides on the next update
    if (run.killing || run.ending) return;
    report({
      taskId,
      state: TaskState.Running,
      healthy: result.healthy,
      reason: TaskReason.TaskHealthCheckStatusUpdated,
      ...(result.message === "" ? {} : { message: result.message }),
    });
  };

  const onUnhealthy = (taskId: string, message: string): void => {
    if (run.killing || run.ending) return;
    run.unhealthy = message;
    run.healthy = false;
    driver.logger.warn({ taskId }, "killing the task: health check failed");
    kill(taskId, undefined);
  };

  const onExit = (taskId: string, code: number | null, signal: NodeJS.Signals | null) => {
    const message =
      signal !== null
        ? `Command terminated with signal ${signal}`
        : `Command exited with status ${code}`;
    const outcome = {
      taskId,
      message,
      exitCode: code ?? undefined,
      signal: signal ?? undefined,
      // the tail of the task's stdout travels with its terminal update (`agora run` prints it)
      data: tail(path.join(driver.env.sandbox, "stdout"), TERMINAL_OUTPUT_TAIL_BYTES),
    };
    if (run.unhealthy !== undefined) {
      ended({ ...outcome, state: TaskState.Killed, healthy: false, message: run.unhealthy });
    } else if (run.killing) ended({ ...outcome, state: TaskState.Killed });
    else if (code === 0) ended({ ...outcome, state: TaskState.Finished });
    else ended({ ...outcome, state: TaskState.Failed });
  };

  const launch = (task: TaskInfo): void => {
    if (run.task !== undefined) {
      report({
        taskId: task.taskId,
        state: TaskState.Error,
        reason: TaskReason.TaskInvalid,
        message: "the command executor runs a single task",
      });
      return;
    }
    run.task = task;
    const command = task.command;
    if (command === undefined) {
      ended({
        taskId: task.taskId,
        state: TaskState.Error,
        reason: TaskReason.TaskInvalid,
        message: "the task has no command",
      });
      return;
    }
    const problem = healthCheckProblem(task.healthCheck);
    if (problem !== undefined) {
      ended({
        taskId: task.taskId,
        state: TaskState.Error,
        reason: TaskReason.TaskInvalid,
        message: problem,
      });
      return;
    }
    report({ taskId: task.taskId, state: TaskState.Starting });
    try {
      start(task.taskId, command);
    } catch (e) {
      ended({
        taskId: task.taskId,
        state: TaskState.Failed,
        reason: TaskReason.CommandExecutorFailed,
        message: `Failed to launch the command: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  };

  /**
   * Spawns the command, output appended to the sandbox files. The command is
   * not detached: it stays in the executor's session (the agent spawned the
   * executor as a session leader), so that when the executor dies, even by
   * kill -9, its agent still finds and kills everything the task started by
   * the session id (process-tree.ts `killSession`), without cgroups and
   * without a pid file that a crash could leave stale. (A task that calls
   * setsid itself escapes this; cgroups will close that gap.)
   */
  const start = (taskId: string, command: CommandInfo): void => {
    const sandbox = driver.env.sandbox;
    // the agent already refused a user it cannot switch to; this names one that vanished since
    const user = commandUser(command);
    // no AGORA_* variable and no credential of this executor reaches the task
    const env = taskEnvironment(inheritedEnvironment(), {
      sandbox,
      taskId,
      executorId: driver.env.executorId,
      frameworkId: driver.env.frameworkId,
      agentId: driver.env.agentId,
      user,
      environment: command.environment,
    });
    const child = spawnTaskProcess({ command, sandbox, env, user });
    run.child = child;
    child.once("spawn", () => {
      run.spawned = true;
      driver.logger.info({ taskId, pid: child.pid }, "command started");
      report({ taskId, state: TaskState.Running });
      startHealthChecks(taskId, { env, ...switchedIds(user) });
    });
    child.once("error", (e) => {
      if (run.spawned) return;
      ended({
        taskId,
        state: TaskState.Failed,
        reason: TaskReason.CommandExecutorFailed,
        message: `Failed to launch the command: ${e.message}`,
      });
    });
    child.once("exit", (code, signal) => onExit(taskId, code, signal));
  };

  /** Checks the running task's health, when it has a check (validated at launch). */
  const startHealthChecks = (
    taskId: string,
    as: { env: NodeJS.ProcessEnv; uid?: number; gid?: number },
  ): void => {
    const check = run.task?.healthCheck;
    if (check === undefined || run.killing || run.ending) return;
    try {
      run.checker = new HealthChecker({
        check,
        clock,
        command: { cwd: driver.env.sandbox, ...as },
        logger: driver.logger.child({ taskId }),
        metrics: driver.metrics,
        onStatus: (result) => onHealth(taskId, result),
        onUnhealthy: (message) => onUnhealthy(taskId, message),
      });
      run.checker.start();
    } catch (err) {
      // validated at launch: a check that still cannot run is logged, and the task runs unchecked
      driver.logger.error({ err, taskId }, "health checker could not start");
    }
  };

  const kill = (taskId: string, gracePeriodSeconds: number | undefined): void => {
    const task = run.task;
    if (task === undefined || task.taskId !== taskId || run.ending) return;
    const graceMs = killGracePeriodMs(task, gracePeriodSeconds, driver.env.shutdownGracePeriodMs);
    const pid = run.child?.pid;
    if (run.killing) return;
    run.killing = true;
    if (pid === undefined || !run.spawned) {
      ended({ taskId, state: TaskState.Killed, message: "Killed before the command started" });
      return;
    }
    // no checks while the task is being killed (as Mesos); the terminal update waits for the stop
    void run.checker?.stop();
    if (driver.frameworkCapabilities.includes(FrameworkCapability.TaskKillingState)) {
      report({
        taskId,
        state: TaskState.Killing,
        ...(run.unhealthy === undefined ? {} : { message: run.unhealthy }),
      });
    }
    driver.logger.info({ taskId, pid, graceMs }, "killing command");
    signalTree(pid, "SIGTERM");
    run.killTimer = clock.after(graceMs, () => signalTree(pid, "SIGKILL"));
  };

  const shutdown = (gracePeriodSeconds: number | undefined): void => {
    shuttingDown = true;
    const task = run.task;
    if (task === undefined || run.terminal !== undefined) {
      void finish(0, false);
      return;
    }
    if (run.ending) return;
    kill(task.taskId, gracePeriodSeconds ?? driver.env.shutdownGracePeriodMs / 1000);
  };

  const driver = createExecutorDriver({ ...options, callbacks: { launch, kill, shutdown } });

  // Whatever ends this process, the command's process group does not outlive it by accident.
  process.once("exit", () => {
    const pid = run.child?.pid;
    if (pid !== undefined && run.terminal === undefined) signalTree(pid, "SIGKILL");
  });
  await connectExecutor(driver, {
    scrub: options.env === undefined,
    shutdown: () => shutdown(undefined),
    exit,
  });
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  // The same program (and bundle) is the default executor with DEFAULT_EXECUTOR_ARG.
  const main = process.argv.includes(DEFAULT_EXECUTOR_ARG)
    ? runDefaultExecutor
    : runCommandExecutor;
  main().catch((err) => {
    process.stderr.write(`executor failed: ${err instanceof Error ? err.message : err}\n`);
    process.exit(1);
  });
}

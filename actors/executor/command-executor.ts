/**
 * The built-in command executor, as Mesos's: a process of its own that the
 * agent starts for one task with a `command`. It runs the command
 * (`/bin/sh -c value`, or the program with its arguments when `shell` is
 * false) in the sandbox with the task's environment, inside the executor's
 * own session, its output appended to the sandbox's `stdout` and `stderr`. It
 * reports TASK_STARTING, TASK_RUNNING, then TASK_FINISHED on exit status 0 or
 * TASK_FAILED ("Command exited with status N" / "Command terminated with
 * signal SIGx"). A kill sends SIGTERM to the task's process tree and SIGKILL after the grace
 * period, then reports TASK_KILLED. After its terminal update the executor
 * waits (bounded) for the acknowledgement and exits.
 *
 * Run by the agent as `node <work-dir>/cache/command-executor-<hash>.mjs`, a
 * bundle of this file (actors/agent/executor-bundle.ts), from compiled
 * JavaScript as `node command-executor.js`, else through tsx.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  DEFAULT_COMMAND_EXECUTOR_ACK_WAIT_MS,
  TERMINAL_OUTPUT_TAIL_BYTES,
} from "../../infra/defaults.ts";
import {
  type CommandInfo,
  type TaskInfo,
  TaskReason,
  TaskState,
  type TaskStatus,
} from "../../protocol/common.ts";
import { commandProgram } from "../agent/launcher.ts";
import { signalTree } from "../agent/process-tree.ts";
import { createExecutorDriver, type ExecutorDriver, type ExecutorDriverOptions } from "./driver.ts";

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
  killTimer: NodeJS.Timeout | undefined;
  terminal: TaskStatus | undefined;
}

/** Runs the command executor in this process until its task has ended. */
export async function runCommandExecutor(options: CommandExecutorOptions = {}): Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const ackWaitMs = options.ackWaitMs ?? DEFAULT_COMMAND_EXECUTOR_ACK_WAIT_MS;
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

  const report = (status: Parameters<ExecutorDriver["sendUpdate"]>[0]): TaskStatus => {
    const sent = driver.sendUpdate(status);
    driver.logger.info({ taskId: status.taskId, state: status.state }, "task status");
    return sent;
  };

  const ended = (status: Parameters<ExecutorDriver["sendUpdate"]>[0]): void => {
    if (run.terminal !== undefined) return;
    clearTimeout(run.killTimer);
    run.terminal = report(status);
    void finish(0, !shuttingDown);
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
    if (run.killing) ended({ ...outcome, state: TaskState.Killed });
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
    const program = commandProgram(command);
    const out = openSync(path.join(sandbox, "stdout"), "a");
    const err = openSync(path.join(sandbox, "stderr"), "a");
    try {
      const child = spawn(program.file, program.args, {
        cwd: sandbox,
        env: { ...process.env, ...(command.environment ?? {}) },
        stdio: ["ignore", out, err],
      });
      run.child = child;
      child.once("spawn", () => {
        run.spawned = true;
        driver.logger.info({ taskId, pid: child.pid }, "command started");
        report({ taskId, state: TaskState.Running });
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
    } finally {
      closeSync(out);
      closeSync(err);
    }
  };

  const kill = (taskId: string, gracePeriodSeconds: number | undefined): void => {
    const task = run.task;
    if (task === undefined || task.taskId !== taskId || run.terminal !== undefined) return;
    const graceMs =
      gracePeriodSeconds !== undefined
        ? gracePeriodSeconds * 1000
        : task.killGracePeriodSeconds !== undefined
          ? task.killGracePeriodSeconds * 1000
          : driver.env.shutdownGracePeriodMs;
    const pid = run.child?.pid;
    if (run.killing) return;
    run.killing = true;
    if (pid === undefined || !run.spawned) {
      ended({ taskId, state: TaskState.Killed, message: "Killed before the command started" });
      return;
    }
    driver.logger.info({ taskId, pid, graceMs }, "killing command");
    signalTree(pid, "SIGTERM");
    run.killTimer = setTimeout(() => signalTree(pid, "SIGKILL"), graceMs);
  };

  const shutdown = (gracePeriodSeconds: number | undefined): void => {
    shuttingDown = true;
    const task = run.task;
    if (task === undefined || run.terminal !== undefined) {
      void finish(0, false);
      return;
    }
    kill(task.taskId, gracePeriodSeconds ?? driver.env.shutdownGracePeriodMs / 1000);
  };

  const driver = createExecutorDriver({ ...options, callbacks: { launch, kill, shutdown } });

  // Whatever ends this process, the command's process group does not outlive it by accident.
  process.once("exit", () => {
    const pid = run.child?.pid;
    if (pid !== undefined && run.terminal === undefined) signalTree(pid, "SIGKILL");
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => shutdown(undefined));
  }

  try {
    await driver.start();
  } catch (err) {
    driver.logger.error({ err }, "the agent did not accept the executor");
    await driver.stop();
    exit(1);
  }
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  runCommandExecutor().catch((err) => {
    process.stderr.write(`command executor failed: ${err instanceof Error ? err.message : err}\n`);
    process.exit(1);
  });
}

/** The last `maxBytes` of a file, or undefined when it is empty or unreadable. */
function tail(file: string, maxBytes: number): Uint8Array | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    if (length === 0) return undefined;
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

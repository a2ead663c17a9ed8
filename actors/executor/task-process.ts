/**
 * The one way a built-in executor (command or default) starts a task's
 * process: the command (`/bin/sh -c value`, or the program with its
 * arguments when `shell` is false) in the task's sandbox with its
 * environment, output appended to the sandbox's `stdout` and `stderr`. With
 * `cgroupProcs` (a task of a task group under isolation), the process joins
 * its nested cgroup before the program runs (isolation/launch.ts: no window in
 * which it could fork outside). The process stays in the executor's session
 * (not detached), so the agent finds whatever it leaves by session id.
 *
 * Whatever changes how tasks are spawned (users, environment scrubbing)
 * belongs here, so that both executors get it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import path from "node:path";
import type { CommandInfo } from "../../protocol/common.ts";
import { joinCgroupsArgv } from "../agent/isolation/launch.ts";
import { commandProgram } from "../agent/launcher.ts";

/** What {@link spawnTaskProcess} starts. */
export interface TaskProcessSpec {
  command: CommandInfo;
  /** The task's working directory, holding its `stdout` and `stderr`. */
  sandbox: string;
  /** The task's whole environment. */
  env: NodeJS.ProcessEnv;
  /** `cgroup.procs` files the process joins before the program runs. */
  cgroupProcs?: readonly string[];
}

/** The environment of a task: the executor's own plus the command's variables. */
export function taskEnvironment(command: CommandInfo): NodeJS.ProcessEnv {
  return { ...process.env, ...(command.environment ?? {}) };
}

/** Spawns a task's process; the caller listens for `spawn`, `error` and `exit`. */
export function spawnTaskProcess(spec: TaskProcessSpec): ChildProcess {
  const program = commandProgram(spec.command);
  const argv =
    spec.cgroupProcs === undefined || spec.cgroupProcs.length === 0
      ? [program.file, ...program.args]
      : joinCgroupsArgv(spec.cgroupProcs, [program.file, ...program.args]);
  const out = openSync(path.join(spec.sandbox, "stdout"), "a");
  const err = openSync(path.join(spec.sandbox, "stderr"), "a");
  try {
    return spawn(argv[0]!, argv.slice(1), {
      cwd: spec.sandbox,
      env: spec.env,
      stdio: ["ignore", out, err],
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/** The last `maxBytes` of a file, or undefined when it is empty or unreadable. */
export function tail(file: string, maxBytes: number): Uint8Array | undefined {
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

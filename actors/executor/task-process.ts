/**
 * The one way a built-in executor (command or default) starts a task's
 * process: the command (`/bin/sh -c value`, or the program with its
 * arguments when `shell` is false) in the task's sandbox with its
 * environment, output appended to the sandbox's `stdout` and `stderr`. With
 * `cgroupProcs` (a task of a task group under isolation), the process joins
 * its nested cgroup before the program runs (actors/shared/join-cgroups.ts: no window in
 * which it could fork outside). The process stays in the executor's session
 * (not detached), so the agent finds whatever it leaves by session id.
 *
 * Whatever changes how tasks are spawned (users, environment scrubbing)
 * belongs here, so that both executors get it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import path from "node:path";
import { scrubInheritedEnvironment } from "../../infra/inherited-env.ts";
import type { CommandInfo } from "../../protocol/common.ts";
import { joinCgroupsArgv } from "../shared/join-cgroups.ts";
import { commandProgram } from "../shared/programs.ts";
import {
  chownSandbox,
  isPrivateVariable,
  lookupUser,
  needsSwitch,
  spawnAsUser,
  type TaskUser,
} from "../shared/task-user.ts";

export { taskEnvironment } from "../shared/task-user.ts";

/** What {@link spawnTaskProcess} starts. */
export interface TaskProcessSpec {
  command: CommandInfo;
  /** The task's working directory, holding its `stdout` and `stderr`. */
  sandbox: string;
  /** The task's whole environment. */
  env: NodeJS.ProcessEnv;
  /** `cgroup.procs` files the process joins before the program runs. */
  cgroupProcs?: readonly string[];
  /** The user the task runs as (`CommandInfo.user`, looked up); absent: the executor's. */
  user?: TaskUser | undefined;
}

/**
 * The user a task's command names, looked up on this host.
 * @throws Error naming the user when the host has no such user (the agent
 *   refused it at launch; this one vanished since)
 */
export function commandUser(command: CommandInfo): TaskUser | undefined {
  if (command.user === undefined) return undefined;
  const user = lookupUser(command.user);
  if (user === undefined) throw new Error(`no such user '${command.user}' on this agent`);
  return user;
}

/** The uid and gid a task's health-check commands run with (none when no switch is needed). */
export function switchedIds(user: TaskUser | undefined): { uid?: number; gid?: number } {
  return user !== undefined && needsSwitch(user) ? { uid: user.uid, gid: user.gid } : {};
}

/**
 * Spawns a task's process; the caller listens for `spawn`, `error` and `exit`.
 * With a user to switch to, the sandbox becomes the user's and the program
 * runs as the user; the cgroup join (which needs the executor's privileges)
 * runs first and then drops them through `setpriv` (actors/shared/join-cgroups.ts).
 */
export function spawnTaskProcess(spec: TaskProcessSpec): ChildProcess {
  const program = taskProgram(spec);
  const out = openSync(path.join(spec.sandbox, "stdout"), "a");
  const err = openSync(path.join(spec.sandbox, "stderr"), "a");
  try {
    return spawn(program.argv[0]!, program.argv.slice(1), {
      cwd: spec.sandbox,
      env: spec.env,
      stdio: ["ignore", out, err],
      ...(program.uid === undefined ? {} : { uid: program.uid, gid: program.gid }),
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/** What runs for a task: the argv (with its cgroup joins) and the ids to switch to. */
export interface TaskProgram {
  argv: string[];
  uid?: number | undefined;
  gid?: number | undefined;
}

/**
 * The argv a task's process is spawned with and the ids it switches to; with
 * a user to switch to, the sandbox becomes the user's first.
 */
export function taskProgram(spec: TaskProcessSpec): TaskProgram {
  const joins = spec.cgroupProcs !== undefined && spec.cgroupProcs.length > 0;
  const switching = spec.user !== undefined && needsSwitch(spec.user);
  if (switching) chownSandbox(spec.sandbox, spec.user!);
  const program = spawnAsUser(spec.user, commandProgram(spec.command), undefined, joins);
  const argv = joins
    ? joinCgroupsArgv(spec.cgroupProcs!, [program.file, ...program.args])
    : [program.file, ...program.args];
  return program.uid === undefined ? { argv } : { argv, uid: program.uid, gid: program.gid };
}

/** The last `maxBytes` of a file, or undefined when it is empty or unreadable. */
export function tail(file: string, maxBytes: number): Uint8Array | undefined {
  let fd: number | undefined;
  try {
    // the task owns its sandbox: a stdout it replaced by a symbolic link is not followed
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
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

/**
 * The end of a built-in executor's start: SIGTERM and SIGINT shut it down,
 * then it subscribes to its agent; once connected with its `AGORA_*`
 * environment, that environment is scrubbed so nothing it spawns sees it
 * (`scrub`: false when the environment was given in code). An executor the
 * agent does not accept logs why and exits 1.
 */
export async function connectExecutor(
  driver: {
    start(): Promise<void>;
    stop(): Promise<void>;
    logger: { error(o: object, m: string): void };
  },
  options: { scrub: boolean; shutdown(): void; exit(code: number): void },
): Promise<void> {
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, options.shutdown);
  try {
    await driver.start();
    if (options.scrub) scrubInheritedEnvironment(isPrivateVariable);
  } catch (err) {
    driver.logger.error({ err }, "the agent did not accept the executor");
    await driver.stop();
    options.exit(1);
  }
}

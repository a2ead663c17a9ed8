/**
 * Starting executor processes: the built-in command executor (a Node process
 * running `actors/executor/command-executor.ts`: bundled by the agent when it
 * runs from TypeScript, see executor-bundle.ts) or a framework's executor command. Executors
 * are detached — a process group of their own that outlives the agent
 * (DESIGN §6) — with the sandbox as cwd and `stdout`/`stderr` files in it.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CREDENTIAL_ENV, type NatsCredentials, splitUserInfo } from "../../infra/credentials.ts";
import { inheritedEnvironment } from "../../infra/inherited-env.ts";
import { EXECUTOR_ENV, type ExecutorEnvironment } from "../shared/executor-env.ts";
import { DEFAULT_EXECUTOR_ARG, type ProgramSpec } from "../shared/programs.ts";
import { isPrivateVariable } from "../shared/task-user.ts";

/** A program, or a function resolving to it once it is ready (e.g. bundled). */
export type ProgramSource = ProgramSpec | (() => Promise<ProgramSpec>);

/** The program of a {@link ProgramSource}. */
export async function resolveProgram(source: ProgramSource): Promise<ProgramSpec> {
  return typeof source === "function" ? source() : source;
}

/**
 * The environment of an executor process: the agent's own without its
 * `AGORA_*` and `NATS_*` variables (the agent's credential is never an
 * executor's), plus `extra`, the executor's `AGORA_*` variables and the
 * executor credential of `values.credentials`.
 */
export function executorEnvironment(
  values: ExecutorEnvironment,
  extra: Record<string, string> = {},
  base: NodeJS.ProcessEnv = inheritedEnvironment(),
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined && !isPrivateVariable(key)) env[key] = value;
  }
  Object.assign(env, extra);
  // the agent's own credential never reaches an executor: only the executor credential does
  for (const name of Object.values(CREDENTIAL_ENV)) delete env[name];
  for (const [key, name] of Object.entries(CREDENTIAL_ENV) as [keyof NatsCredentials, string][]) {
    const value = values.credentials?.[key];
    if (value !== undefined) env[name] = value;
  }
  // with an executor credential, the user info of the agent's URLs stays with the agent
  env[EXECUTOR_ENV.natsUrl] =
    values.credentials === undefined
      ? values.natsUrl
      : values.natsUrl
          .split(",")
          .map((u) => splitUserInfo(u.trim()).url)
          .join(",");
  env[EXECUTOR_ENV.subjectPrefix] = values.subjectPrefix;
  env[EXECUTOR_ENV.agentId] = values.agentId;
  env[EXECUTOR_ENV.agentPrincipal] = values.agentPrincipal;
  if (values.token !== undefined) env[EXECUTOR_ENV.token] = values.token;
  env[EXECUTOR_ENV.frameworkId] = values.frameworkId;
  env[EXECUTOR_ENV.executorId] = values.executorId;
  env[EXECUTOR_ENV.sandbox] = values.sandbox;
  env[EXECUTOR_ENV.logLevel] = values.logLevel;
  env[EXECUTOR_ENV.shutdownGracePeriod] = `${values.shutdownGracePeriodMs}ms`;
  env[EXECUTOR_ENV.recoveryTimeout] = `${values.recoveryTimeoutMs}ms`;
  return env;
}

/**
 * How to start the built-in command executor without a bundle: this Node with
 * tsx's loader (resolved from here, since the sandbox is the cwd) when the
 * agent runs from TypeScript sources, else the compiled file. The agent
 * prefers a bundle from sources (executor-bundle.ts) and falls back to this.
 */
export function commandExecutorProgram(): ProgramSpec {
  const fromTs = import.meta.url.endsWith(".ts");
  const entry = fileURLToPath(
    new URL(`../executor/command-executor.${fromTs ? "ts" : "js"}`, import.meta.url),
  );
  const args = fromTs ? ["--import", import.meta.resolve("tsx"), entry] : [entry];
  return { file: process.execPath, args };
}

/** The built-in default executor: the command executor's program (the same bundle) with {@link DEFAULT_EXECUTOR_ARG}. */
export function defaultExecutorProgram(commandExecutor: ProgramSource): ProgramSource {
  return async () => {
    const spec = await resolveProgram(commandExecutor);
    return { file: spec.file, args: [...spec.args, DEFAULT_EXECUTOR_ARG] };
  };
}

/**
 * Spawns a detached executor in `sandbox`, its output appended to the
 * sandbox's `stdout` and `stderr`. The caller listens for `error` and `exit`.
 */
export function spawnDetached(
  program: ProgramSpec,
  sandbox: string,
  env: Record<string, string>,
  as?: { uid: number; gid: number },
): ChildProcess {
  const out = openSync(path.join(sandbox, "stdout"), "a");
  const err = openSync(path.join(sandbox, "stderr"), "a");
  try {
    const child = spawn(program.file, program.args, {
      cwd: sandbox,
      env,
      detached: true,
      stdio: ["ignore", out, err],
      ...(as === undefined ? {} : as),
    });
    child.unref();
    return child;
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

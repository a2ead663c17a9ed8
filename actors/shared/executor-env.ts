/**
 * The environment contract between an agent and the executors it starts:
 * every executor finds its NATS URL, subject prefix, ids and sandbox in
 * `AGORA_*` variables.
 */

import { credentialsFromEnv, type NatsCredentials } from "../../infra/credentials.ts";
import {
  DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD_MS,
  DEFAULT_RECOVERY_TIMEOUT_MS,
} from "../../infra/defaults.ts";
import { parseDuration } from "../../infra/durations.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { DEFAULT_SUBJECT_PREFIX, isValidId } from "../../protocol/subjects.ts";

/** Names of the environment variables the agent gives an executor. */
export const EXECUTOR_ENV = {
  natsUrl: "AGORA_NATS_URL",
  subjectPrefix: "AGORA_SUBJECT_PREFIX",
  agentId: "AGORA_AGENT_ID",
  frameworkId: "AGORA_FRAMEWORK_ID",
  executorId: "AGORA_EXECUTOR_ID",
  sandbox: "AGORA_SANDBOX",
  logLevel: "AGORA_LOG_LEVEL",
  /** The agent's executor shutdown grace period, e.g. `5000ms`. */
  shutdownGracePeriod: "AGORA_SHUTDOWN_GRACE_PERIOD",
  /** The agent's `--recovery-timeout`, e.g. `900000ms`: how long the executor waits for a lost agent. */
  recoveryTimeout: "AGORA_RECOVERY_TIMEOUT",
} as const;

/** What an executor learns from its environment. */
export interface ExecutorEnvironment {
  natsUrl: string;
  /**
   * The executor's own NATS credential (`AGORA_NKEY`/`AGORA_CREDS`, `AGORA_PRINCIPAL`,
   * `AGORA_TLS_*`), never the agent's: the agent replaces its own in the
   * executor's environment (agent `--executor-nkey`).
   */
  credentials?: NatsCredentials;
  subjectPrefix: string;
  agentId: string;
  frameworkId: string;
  executorId: string;
  sandbox: string;
  logLevel: string;
  /** Milliseconds between SIGTERM and SIGKILL when tasks are stopped. */
  shutdownGracePeriodMs: number;
  /** Milliseconds without its agent after which the executor kills its tasks and exits. */
  recoveryTimeoutMs: number;
}

/**
 * Reads the executor's environment.
 * @throws AgoraError INVALID_CONFIG naming a missing or malformed variable
 */
export function readExecutorEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ExecutorEnvironment {
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === "") {
      throw new AgoraError(
        ErrorCode.InvalidConfig,
        `${name} is not set: an executor is started by an agora agent`,
      );
    }
    return value;
  };
  const id = (name: string): string => {
    const value = required(name);
    if (!isValidId(value)) {
      throw new AgoraError(ErrorCode.InvalidConfig, `${name} is not a valid id: ${value}`);
    }
    return value;
  };
  const grace = env[EXECUTOR_ENV.shutdownGracePeriod];
  const recovery = env[EXECUTOR_ENV.recoveryTimeout];
  return {
    natsUrl: required(EXECUTOR_ENV.natsUrl),
    credentials: credentialsFromEnv(env),
    subjectPrefix: env[EXECUTOR_ENV.subjectPrefix] || DEFAULT_SUBJECT_PREFIX,
    agentId: id(EXECUTOR_ENV.agentId),
    frameworkId: id(EXECUTOR_ENV.frameworkId),
    executorId: id(EXECUTOR_ENV.executorId),
    sandbox: env[EXECUTOR_ENV.sandbox] || process.cwd(),
    logLevel: env[EXECUTOR_ENV.logLevel] || "info",
    shutdownGracePeriodMs:
      grace === undefined || grace === ""
        ? DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD_MS
        : parseDuration(grace, EXECUTOR_ENV.shutdownGracePeriod),
    recoveryTimeoutMs:
      recovery === undefined || recovery === ""
        ? DEFAULT_RECOVERY_TIMEOUT_MS
        : parseDuration(recovery, EXECUTOR_ENV.recoveryTimeout),
  };
}

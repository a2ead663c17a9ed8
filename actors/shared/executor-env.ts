/**
 * The environment contract between an agent and the executors it starts:
 * every executor finds its NATS URL, subject prefix, ids and sandbox in
 * `AGORA_*` variables, read once by config.ts.
 */

import type { NatsCredentials } from "../../infra/credentials.ts";

/** Names of the environment variables the agent gives an executor. */
export const EXECUTOR_ENV = {
  natsUrl: "AGORA_NATS_URL",
  subjectPrefix: "AGORA_SUBJECT_PREFIX",
  agentId: "AGORA_AGENT_ID",
  /** The agent principal its subjects carry (`executor.<principal>.<agentId>…`). */
  agentPrincipal: "AGORA_AGENT_PRINCIPAL",
  /**
   * The executor's own secret: sent with every message to the agent (header
   * `Agora-Executor-Token`); the executor removes it from its environment at
   * start and a task never inherits it.
   */
  token: "AGORA_EXECUTOR_TOKEN",
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
  /** The agent principal of its agent. @default "default" */
  agentPrincipal: string;
  /** Its own token, given by the agent; undefined from an agent of before tokens. */
  token?: string;
  frameworkId: string;
  executorId: string;
  sandbox: string;
  logLevel: string;
  /** Milliseconds between SIGTERM and SIGKILL when tasks are stopped. */
  shutdownGracePeriodMs: number;
  /** Milliseconds without its agent after which the executor kills its tasks and exits. */
  recoveryTimeoutMs: number;
}

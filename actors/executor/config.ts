/**
 * The executor's configuration, read once: the `AGORA_*` variables its agent
 * sets (env.ts `EXECUTOR_ENV`), through the staged resolver and validated
 * against the table's TypeBox schema. An executor has no flags of its own;
 * only the agent starts it. The task's environment is built elsewhere
 * (task-process.ts) and never carries these variables.
 */
import { CREDENTIAL_OPTIONS, LOG_LEVELS, type OptionSpecs } from "../../infra/config.ts";
import { resolveConfig } from "../../infra/config-schema.ts";
import { credentialsOf } from "../../infra/credentials.ts";
import {
  DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD_MS,
  DEFAULT_RECOVERY_TIMEOUT_MS,
} from "../../infra/defaults.ts";
import { DEFAULT_LOG_LEVEL } from "../../infra/logger.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { DEFAULT_PRINCIPAL, DEFAULT_SUBJECT_PREFIX, isValidId } from "../../protocol/subjects.ts";
import { EXECUTOR_ENV, type ExecutorEnvironment } from "../shared/executor-env.ts";

/** The executor's option table: every option is a variable its agent sets. */
const EXECUTOR_OPTIONS = {
  natsUrl: {
    kind: "string",
    flag: "nats",
    env: EXECUTOR_ENV.natsUrl,
    placeholder: "URL",
    help: "the agent's NATS server URL(s)",
  },
  subjectPrefix: {
    kind: "string",
    flag: "prefix",
    env: EXECUTOR_ENV.subjectPrefix,
    default: DEFAULT_SUBJECT_PREFIX,
    placeholder: "PREFIX",
    help: "subject prefix of the cluster",
  },
  agentId: {
    kind: "string",
    flag: "agent-id",
    env: EXECUTOR_ENV.agentId,
    placeholder: "ID",
    help: "the agent that started the executor",
  },
  agentPrincipal: {
    kind: "string",
    flag: "agent-principal",
    env: EXECUTOR_ENV.agentPrincipal,
    default: DEFAULT_PRINCIPAL,
    placeholder: "NAME",
    help: "the agent principal its subjects carry",
  },
  executorToken: {
    kind: "string",
    flag: "executor-token",
    env: EXECUTOR_ENV.token,
    placeholder: "SECRET",
    help: "the executor's own token, sent with every message to the agent (never printed)",
  },
  frameworkId: {
    kind: "string",
    flag: "framework-id",
    env: EXECUTOR_ENV.frameworkId,
    placeholder: "ID",
    help: "the framework the executor runs tasks of",
  },
  executorId: {
    kind: "string",
    flag: "executor-id",
    env: EXECUTOR_ENV.executorId,
    placeholder: "ID",
    help: "the executor's id",
  },
  sandbox: {
    kind: "string",
    flag: "sandbox",
    env: EXECUTOR_ENV.sandbox,
    placeholder: "DIR",
    help: "the executor's sandbox (default: the working directory)",
  },
  logLevel: {
    kind: "string",
    flag: "log-level",
    env: EXECUTOR_ENV.logLevel,
    default: DEFAULT_LOG_LEVEL,
    choices: LOG_LEVELS,
    placeholder: "LEVEL",
    help: "log level of the executor (its sandbox's stderr)",
  },
  shutdownGracePeriod: {
    kind: "duration",
    flag: "shutdown-grace-period",
    env: EXECUTOR_ENV.shutdownGracePeriod,
    default: DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD_MS,
    placeholder: "DURATION",
    help: "time between SIGTERM and SIGKILL when tasks are stopped (the agent's --executor-shutdown-grace-period)",
  },
  recoveryTimeout: {
    kind: "duration",
    flag: "recovery-timeout",
    env: EXECUTOR_ENV.recoveryTimeout,
    default: DEFAULT_RECOVERY_TIMEOUT_MS,
    min: 1,
    placeholder: "DURATION",
    help: "without its agent for this long the executor kills its tasks and exits (the agent's --recovery-timeout)",
  },
  ...CREDENTIAL_OPTIONS,
} as const satisfies OptionSpecs;

/**
 * Reads the executor's configuration from its environment.
 * @throws AgoraError INVALID_CONFIG naming a missing or malformed variable
 */
export function resolveExecutorConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ExecutorEnvironment {
  const { values } = resolveConfig(EXECUTOR_OPTIONS, { env, argv: [] });
  const required = (value: string | undefined, name: string): string => {
    if (value === undefined || value === "") {
      throw new AgoraError(
        ErrorCode.InvalidConfig,
        `${name} is not set: an executor is started by an agora agent`,
      );
    }
    return value;
  };
  const id = (value: string | undefined, name: string): string => {
    const given = required(value, name);
    if (!isValidId(given)) {
      throw new AgoraError(ErrorCode.InvalidConfig, `${name} is not a valid id: ${given}`);
    }
    return given;
  };
  return {
    natsUrl: required(values.natsUrl, EXECUTOR_ENV.natsUrl),
    credentials: credentialsOf(values),
    subjectPrefix: values.subjectPrefix,
    agentId: id(values.agentId, EXECUTOR_ENV.agentId),
    agentPrincipal: id(values.agentPrincipal, EXECUTOR_ENV.agentPrincipal),
    ...(values.executorToken === undefined || values.executorToken === ""
      ? {}
      : { token: values.executorToken }),
    frameworkId: id(values.frameworkId, EXECUTOR_ENV.frameworkId),
    executorId: id(values.executorId, EXECUTOR_ENV.executorId),
    sandbox: values.sandbox ?? process.cwd(),
    logLevel: values.logLevel,
    shutdownGracePeriodMs: values.shutdownGracePeriod,
    recoveryTimeoutMs: values.recoveryTimeout,
  };
}

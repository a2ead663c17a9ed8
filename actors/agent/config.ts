/**
 * The agent's options, as Mesos's agent flags (`--resources`, `--attributes`,
 * `--work_dir`, `--hostname`, `--executor_shutdown_grace_period`,
 * `--executor_registration_timeout`, `--registration_backoff_factor`,
 * `--fetcher_cache_dir|size`, `--fetcher_stall_timeout`) plus the status update
 * retry bounds. Each is also an `AGORA_*` environment variable.
 */
import os from "node:os";
import path from "node:path";
import {
  COMMON_OPTIONS,
  HTTP_OPTIONS,
  LOG_OPTIONS,
  type OptionSpecs,
  type Resolved,
  type ResolveInput,
} from "../../infra/config.ts";
import { resolveConfig } from "../../infra/config-schema.ts";
import {
  DEFAULT_CGROUPS_ENABLE_CFS,
  DEFAULT_CGROUPS_HIERARCHY,
  DEFAULT_CGROUPS_ROOT,
  DEFAULT_CONTAINER_DISK_WATCH_INTERVAL_MS,
  DEFAULT_DEFAULT_EXECUTOR_IDLE_TIMEOUT_MS,
  DEFAULT_ENFORCE_CONTAINER_DISK_QUOTA,
  DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
  DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS,
  DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD_MS,
  DEFAULT_FETCHER_CACHE_DIR,
  DEFAULT_FETCHER_CACHE_SIZE_BYTES,
  DEFAULT_FETCHER_STALL_TIMEOUT_MS,
  DEFAULT_ISOLATION,
  DEFAULT_RECONFIGURATION_POLICY,
  DEFAULT_RECOVER,
  DEFAULT_RECOVERY_TIMEOUT_MS,
  DEFAULT_REGISTRATION_BACKOFF_MS,
  DEFAULT_STATUS_UPDATE_RETRY_MAX_MS,
  DEFAULT_STATUS_UPDATE_RETRY_MIN_MS,
  DEFAULT_SWITCH_USER,
  DEFAULT_USAGE_INTERVAL_MS,
  DEFAULT_WORK_DIR,
  MAX_EXECUTOR_REREGISTRATION_TIMEOUT_MS,
} from "../../infra/defaults.ts";
import { parseByteSize } from "../../infra/durations.ts";
import type { Attributes } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { IsolationMode } from "./isolation/types.ts";
import { RECONFIGURATION_POLICIES, type ReconfigurationPolicy } from "./reconfiguration.ts";

/** `--recover` values, as Mesos's. */
export const RECOVER_MODES = ["reconnect", "cleanup"] as const;
export type RecoverMode = (typeof RECOVER_MODES)[number];

/** `--isolation` values, as Mesos's (`auto`: cgroups where usable, else none). */
const ISOLATION_MODES = ["cgroups", "none", "auto"] as const satisfies readonly IsolationMode[];

/** The option table of `agora agent`. */
export const AGENT_OPTIONS = {
  ...COMMON_OPTIONS,
  ...HTTP_OPTIONS,
  ...LOG_OPTIONS,
  executorNkey: {
    kind: "string",
    flag: "executor-nkey",
    env: "AGORA_EXECUTOR_NKEY",
    placeholder: "FILE",
    help: "nkey seed file of the executor principal given to executors (never the agent's own)",
  },
  executorPrincipal: {
    kind: "string",
    flag: "executor-principal",
    env: "AGORA_EXECUTOR_PRINCIPAL",
    default: "executor",
    placeholder: "NAME",
    help: "principal of that executor credential (its reply inbox prefix)",
  },
  resources: {
    kind: "string",
    flag: "resources",
    env: "AGORA_RESOURCES",
    placeholder: "RESOURCES",
    help: "total resources, e.g. 'cpus:4;mem:4096;ports:[31000-32000]'; names not given are detected",
  },
  attributes: {
    kind: "string",
    flag: "attributes",
    env: "AGORA_ATTRIBUTES",
    placeholder: "ATTRIBUTES",
    help: "attributes of this node, e.g. 'rack:r1;zone:a' (numeric values become numbers)",
  },
  workDir: {
    kind: "string",
    flag: "work-dir",
    env: "AGORA_WORK_DIR",
    default: DEFAULT_WORK_DIR,
    placeholder: "DIR",
    help: "directory for checkpoints and executor sandboxes",
  },
  hostname: {
    kind: "string",
    flag: "hostname",
    env: "AGORA_HOSTNAME",
    default: os.hostname(),
    placeholder: "NAME",
    help: "hostname reported to the master",
  },
  executorShutdownGracePeriod: {
    kind: "duration",
    flag: "executor-shutdown-grace-period",
    env: "AGORA_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
    default: DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD_MS,
    placeholder: "DURATION",
    help: "time between SIGTERM and SIGKILL when tasks and executors are stopped",
  },
  statusUpdateRetryMin: {
    kind: "duration",
    flag: "status-update-retry-min",
    env: "AGORA_STATUS_UPDATE_RETRY_MIN",
    default: DEFAULT_STATUS_UPDATE_RETRY_MIN_MS,
    placeholder: "DURATION",
    min: 1,
    help: "first retry of an unacknowledged status update; doubles on each retry",
  },
  statusUpdateRetryMax: {
    kind: "duration",
    flag: "status-update-retry-max",
    env: "AGORA_STATUS_UPDATE_RETRY_MAX",
    default: DEFAULT_STATUS_UPDATE_RETRY_MAX_MS,
    placeholder: "DURATION",
    help: "cap of the status update retry interval",
  },
  registrationBackoff: {
    kind: "duration",
    flag: "registration-backoff",
    env: "AGORA_REGISTRATION_BACKOFF",
    default: DEFAULT_REGISTRATION_BACKOFF_MS,
    placeholder: "DURATION",
    help: "first (re)registration retry; doubles with jitter up to 1 minute (4 s after a lost master)",
  },
  executorRegistrationTimeout: {
    kind: "duration",
    flag: "executor-registration-timeout",
    env: "AGORA_EXECUTOR_REGISTRATION_TIMEOUT",
    default: DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
    placeholder: "DURATION",
    help: "an executor that has not subscribed within this is killed and its tasks fail",
  },
  defaultExecutorIdleTimeout: {
    kind: "duration",
    flag: "default-executor-idle-timeout",
    env: "AGORA_DEFAULT_EXECUTOR_IDLE_TIMEOUT",
    default: DEFAULT_DEFAULT_EXECUTOR_IDLE_TIMEOUT_MS,
    placeholder: "DURATION",
    help: "a default executor (task groups) with no task left is shut down after this",
  },
  recover: {
    kind: "string",
    flag: "recover",
    env: "AGORA_RECOVER",
    default: DEFAULT_RECOVER,
    placeholder: "reconnect|cleanup",
    choices: RECOVER_MODES,
    help: "on restart, reconnect to the checkpointed live executors, or kill them all (cleanup)",
  },
  executorReregistrationTimeout: {
    kind: "duration",
    flag: "executor-reregistration-timeout",
    env: "AGORA_EXECUTOR_REREGISTRATION_TIMEOUT",
    default: DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS,
    placeholder: "DURATION",
    max: MAX_EXECUTOR_REREGISTRATION_TIMEOUT_MS,
    help: "on restart, how long live executors get to resubscribe before they are killed (max 15s)",
  },
  recoveryTimeout: {
    kind: "duration",
    flag: "recovery-timeout",
    env: "AGORA_RECOVERY_TIMEOUT",
    default: DEFAULT_RECOVERY_TIMEOUT_MS,
    placeholder: "DURATION",
    min: 1,
    help: "an executor whose agent is away for longer kills its tasks and exits",
  },
  reconfigurationPolicy: {
    kind: "string",
    flag: "reconfiguration-policy",
    env: "AGORA_RECONFIGURATION_POLICY",
    default: DEFAULT_RECONFIGURATION_POLICY,
    placeholder: "equal|additive",
    choices: RECONFIGURATION_POLICIES,
    help: "what a restart may change of --resources and --attributes: nothing, or only add",
  },
  fetcherCacheDir: {
    kind: "string",
    flag: "fetcher-cache-dir",
    env: "AGORA_FETCHER_CACHE_DIR",
    default: path.join(os.tmpdir(), DEFAULT_FETCHER_CACHE_DIR),
    placeholder: "DIR",
    help: "parent of the agent's fetcher cache DIR/<agentId>, emptied before its first fetch",
  },
  fetcherCacheSize: {
    kind: "string",
    flag: "fetcher-cache-size",
    env: "AGORA_FETCHER_CACHE_SIZE",
    default: `${DEFAULT_FETCHER_CACHE_SIZE_BYTES / 1024 ** 3}GB`,
    placeholder: "BYTES",
    help: "capacity of the fetcher cache (least recently used entries are evicted; 0B disables it)",
  },
  fetcherStallTimeout: {
    kind: "duration",
    flag: "fetcher-stall-timeout",
    env: "AGORA_FETCHER_STALL_TIMEOUT",
    default: DEFAULT_FETCHER_STALL_TIMEOUT_MS,
    placeholder: "DURATION",
    min: 1,
    help: "a download of a task's URI that receives nothing for this long is aborted",
  },
  isolation: {
    kind: "string",
    flag: "isolation",
    env: "AGORA_ISOLATION",
    default: DEFAULT_ISOLATION,
    placeholder: "cgroups|none|auto",
    choices: ISOLATION_MODES,
    help: "container isolation: cgroups (v2, else v1; fails where neither is usable), none, or auto",
  },
  cgroupsHierarchy: {
    kind: "string",
    flag: "cgroups-hierarchy",
    env: "AGORA_CGROUPS_HIERARCHY",
    default: DEFAULT_CGROUPS_HIERARCHY,
    placeholder: "DIR",
    help: "where the cgroup hierarchies are mounted",
  },
  cgroupsRoot: {
    kind: "string",
    flag: "cgroups-root",
    env: "AGORA_CGROUPS_ROOT",
    default: DEFAULT_CGROUPS_ROOT,
    placeholder: "PATH",
    help: "relative cgroup under which the agent's containers live (as <root>/<agent id>/<container>)",
  },
  cgroupsEnableCfs: {
    kind: "boolean",
    flag: "cgroups-enable-cfs",
    env: "AGORA_CGROUPS_ENABLE_CFS",
    default: DEFAULT_CGROUPS_ENABLE_CFS,
    help: "hard CFS cpu limit equal to a container's cpus (else cpu shares only)",
  },
  cgroupsMaxPids: {
    kind: "integer",
    flag: "cgroups-max-pids",
    env: "AGORA_CGROUPS_MAX_PIDS",
    placeholder: "N",
    min: 1,
    help: "most processes and threads per container (pids.max); unlimited when not given",
  },
  switchUser: {
    kind: "boolean",
    flag: "switch-user",
    env: "AGORA_SWITCH_USER",
    default: DEFAULT_SWITCH_USER,
    help: "run each task as its user (CommandInfo.user, else FrameworkInfo.user): an agent running as root starts it as that user and gives it the sandbox; an unknown user fails the task; false runs every task as the agent's user",
  },
  enforceContainerDiskQuota: {
    kind: "boolean",
    flag: "enforce-container-disk-quota",
    env: "AGORA_ENFORCE_CONTAINER_DISK_QUOTA",
    default: DEFAULT_ENFORCE_CONTAINER_DISK_QUOTA,
    help: "kill a container whose sandbox uses more than its disk (TASK_FAILED, disk limitation)",
  },
  containerDiskWatchInterval: {
    kind: "duration",
    flag: "container-disk-watch-interval",
    env: "AGORA_CONTAINER_DISK_WATCH_INTERVAL",
    default: DEFAULT_CONTAINER_DISK_WATCH_INTERVAL_MS,
    placeholder: "DURATION",
    min: 1,
    help: "how often a sandbox's disk usage is checked against its disk resource",
  },
  usageInterval: {
    kind: "duration",
    flag: "usage-interval",
    env: "AGORA_USAGE_INTERVAL",
    default: DEFAULT_USAGE_INTERVAL_MS,
    placeholder: "DURATION",
    min: 1,
    help: "how often the executors' resource statistics are sent to the master (agent.usage)",
  },
} as const satisfies OptionSpecs;

/** The agent's resolved configuration (durations in milliseconds). */
export type AgentConfig = Resolved<typeof AGENT_OPTIONS>;

/** The `--recover` mode of a resolved configuration. */
export function recoverMode(config: AgentConfig): RecoverMode {
  return config.recover === "cleanup" ? "cleanup" : "reconnect";
}

/** The `--isolation` mode of a resolved configuration. */
export function isolationMode(config: AgentConfig): IsolationMode {
  return (ISOLATION_MODES as readonly string[]).includes(config.isolation)
    ? (config.isolation as IsolationMode)
    : "auto";
}

/** The `--reconfiguration-policy` of a resolved configuration. */
export function reconfigurationPolicy(config: AgentConfig): ReconfigurationPolicy {
  return config.reconfigurationPolicy === "additive" ? "additive" : "equal";
}

/**
 * Resolves the agent's configuration: defaults → environment → flags → overrides.
 * @throws AgoraError INVALID_CONFIG with a one-line message
 */
export function resolveAgentConfig(input: ResolveInput<typeof AGENT_OPTIONS> = {}): AgentConfig {
  const config = resolveConfig(AGENT_OPTIONS, input).values;
  if (config.statusUpdateRetryMax < config.statusUpdateRetryMin) {
    throw new AgoraError(
      ErrorCode.InvalidConfig,
      "--status-update-retry-max must not be smaller than --status-update-retry-min",
    );
  }
  if (config.attributes !== undefined) parseAttributes(config.attributes);
  const root = config.cgroupsRoot;
  if (root === "" || root.startsWith("/") || root.split("/").includes("..")) {
    throw new AgoraError(
      ErrorCode.InvalidConfig,
      `--cgroups-root must be a relative path, got ${JSON.stringify(root)}`,
    );
  }
  parseByteSize(config.fetcherCacheSize, "--fetcher-cache-size");
  return config;
}

const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses Mesos attributes, `rack:r1;zone:a;generation:3`: `;`-separated
 * `name:value` pairs; a numeric value becomes a number, anything else (also
 * ranges and sets) stays text.
 * @throws AgoraError INVALID_CONFIG naming the bad part
 */
export function parseAttributes(text: string | undefined): Attributes {
  const out: Attributes = {};
  if (text === undefined) return out;
  for (const raw of text.split(";")) {
    const part = raw.trim();
    if (part === "") continue;
    const colon = part.indexOf(":");
    const name = colon === -1 ? "" : part.slice(0, colon).trim();
    const value = colon === -1 ? "" : part.slice(colon + 1).trim();
    if (name === "" || value === "") {
      throw new AgoraError(
        ErrorCode.InvalidConfig,
        `invalid attribute ${JSON.stringify(part)}: expected name:value`,
      );
    }
    if (name.length > 256 || value.length > 256) {
      throw new AgoraError(
        ErrorCode.InvalidConfig,
        `invalid attribute ${JSON.stringify(part.slice(0, 64))}: longer than 256 characters`,
      );
    }
    out[name] = NUMERIC.test(value) && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return out;
}

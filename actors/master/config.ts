/**
 * The master's options. Mesos's master flags and defaults are the reference
 * (`--allocation_interval`, `--agent_ping_timeout`, `--max_agent_ping_timeouts`,
 * `--offer_timeout`, ...). Durations resolve to milliseconds.
 */
import {
  COMMON_OPTIONS,
  HTTP_OPTIONS,
  LOG_OPTIONS,
  type OptionSpecs,
  type Origins,
  type Resolved,
  type ResolveInput,
} from "../../infra/config.ts";
import { checkConfig, resolveConfig } from "../../infra/config-schema.ts";
import {
  DEFAULT_AGENT_PING_TIMEOUT_MS,
  DEFAULT_AGENT_REMOVAL_TIMEOUT_MS,
  DEFAULT_AGENT_REREGISTER_TIMEOUT_MS,
  DEFAULT_ALLOCATION_INTERVAL_MS,
  DEFAULT_EVENTS_KINDS,
  DEFAULT_EVENTS_MAX_AGE_MS,
  DEFAULT_EVENTS_MAX_BYTES,
  DEFAULT_EVENTS_REPLICAS,
  DEFAULT_EVENTS_STREAM,
  DEFAULT_FRAMEWORK_FAILOVER_TIMEOUT_MS,
  DEFAULT_FRAMEWORK_HEARTBEAT_INTERVAL_MS,
  DEFAULT_GANG_BACKOFF_MS,
  DEFAULT_GANG_HOLD_FRACTION,
  DEFAULT_LEADER_LEASE_MS,
  DEFAULT_MAX_AGENT_PING_TIMEOUTS,
  DEFAULT_MAX_FRAMEWORK_HEARTBEAT_TIMEOUTS,
  DEFAULT_MIN_ALLOCATABLE_RESOURCES,
  DEFAULT_OFFER_TIMEOUT_MS,
  DEFAULT_POLICY,
  DEFAULT_POLICY_TIMEOUT_MS,
  DEFAULT_PREEMPTION,
  DEFAULT_RECOVERY_AGENT_FRACTION,
  DEFAULT_REGISTRY,
  DEFAULT_REGISTRY_REPLICAS,
} from "../../infra/defaults.ts";
import { parseMinAllocatable } from "../../policies/allocatable.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { isEventKindPattern, isValidId } from "../../protocol/subjects.ts";

/** The master's option table. */
export const MASTER_OPTIONS = {
  ...COMMON_OPTIONS,
  ...HTTP_OPTIONS,
  ...LOG_OPTIONS,
  masterId: {
    kind: "string",
    flag: "master-id",
    env: "AGORA_MASTER_ID",
    placeholder: "ID",
    help: "id of this master, the prefix of the agent, framework and offer ids it assigns (default: generated)",
  },
  hostname: {
    kind: "string",
    flag: "hostname",
    env: "AGORA_HOSTNAME",
    placeholder: "NAME",
    help: "hostname the master reports (default: the machine's hostname)",
  },
  policy: {
    kind: "string",
    flag: "policy",
    env: "AGORA_POLICY",
    default: DEFAULT_POLICY,
    placeholder: "NAME",
    help: "allocation policy: a built-in (drf, ...) or the name of an `agora policy serve` actor",
  },
  preemption: {
    kind: "boolean",
    flag: "preemption",
    env: "AGORA_PREEMPTION",
    default: DEFAULT_PREEMPTION,
    help: "let a demand (scheduler.request) of higher priority or below its quota guarantee preempt tasks; switchable at run time with agora preemption on|off",
  },
  gangHoldFraction: {
    kind: "number",
    flag: "gang-hold-fraction",
    env: "AGORA_GANG_HOLD_FRACTION",
    default: DEFAULT_GANG_HOLD_FRACTION,
    placeholder: "F",
    min: 0,
    max: 1,
    help: "share of each resource of the cluster that waiting gangs (scheduler.requestGang) may hold, all gangs together",
  },
  gangBackoff: {
    kind: "duration",
    flag: "gang-backoff",
    env: "AGORA_GANG_BACKOFF",
    default: DEFAULT_GANG_BACKOFF_MS,
    placeholder: "DURATION",
    min: 0,
    help: "after a gang times out, its framework's gangs hold nothing for this long",
  },
  policyTimeout: {
    kind: "duration",
    flag: "policy-timeout",
    env: "AGORA_POLICY_TIMEOUT",
    default: DEFAULT_POLICY_TIMEOUT_MS,
    placeholder: "DURATION",
    min: 1,
    help: "deadline of a policy actor's decision; without an answer the cycle falls back to drf",
  },
  allocationInterval: {
    kind: "duration",
    flag: "allocation-interval",
    env: "AGORA_ALLOCATION_INTERVAL",
    default: DEFAULT_ALLOCATION_INTERVAL_MS,
    placeholder: "DURATION",
    min: 1,
    help: "time between batch allocations",
  },
  minAllocatableResources: {
    kind: "string",
    flag: "min-allocatable-resources",
    env: "AGORA_MIN_ALLOCATABLE_RESOURCES",
    default: DEFAULT_MIN_ALLOCATABLE_RESOURCES,
    placeholder: "SETS",
    help: "free resources are offered only when they hold one of these sets of quantities: sets separated by |, each name:quantity;... (ranges count their values, e.g. disk:1|cpus:1;mem:32;ports:1)",
  },
  agentPingTimeout: {
    kind: "duration",
    flag: "agent-ping-timeout",
    env: "AGORA_AGENT_PING_TIMEOUT",
    default: DEFAULT_AGENT_PING_TIMEOUT_MS,
    placeholder: "DURATION",
    min: 1,
    help: "agents heartbeat this often; each interval without one is a missed ping",
  },
  maxAgentPingTimeouts: {
    kind: "integer",
    flag: "max-agent-ping-timeouts",
    env: "AGORA_MAX_AGENT_PING_TIMEOUTS",
    default: DEFAULT_MAX_AGENT_PING_TIMEOUTS,
    placeholder: "N",
    min: 1,
    help: "missed pings after which an agent is unreachable",
  },
  agentRemovalTimeout: {
    kind: "duration",
    flag: "agent-removal-timeout",
    env: "AGORA_AGENT_REMOVAL_TIMEOUT",
    default: DEFAULT_AGENT_REMOVAL_TIMEOUT_MS,
    placeholder: "DURATION",
    help: "an unreachable agent is removed after this (its tasks become TASK_GONE, TASK_LOST for frameworks that are not PARTITION_AWARE); 0 = never",
  },
  offerTimeout: {
    kind: "duration",
    flag: "offer-timeout",
    env: "AGORA_OFFER_TIMEOUT",
    default: DEFAULT_OFFER_TIMEOUT_MS,
    placeholder: "DURATION",
    help: "outstanding offers are rescinded after this; 0 = never",
  },
  frameworkHeartbeatInterval: {
    kind: "duration",
    flag: "framework-heartbeat-interval",
    env: "AGORA_FRAMEWORK_HEARTBEAT_INTERVAL",
    default: DEFAULT_FRAMEWORK_HEARTBEAT_INTERVAL_MS,
    placeholder: "DURATION",
    min: 1,
    help: "heartbeat events to schedulers, and the interval schedulers must heartbeat at",
  },
  maxFrameworkHeartbeatTimeouts: {
    kind: "integer",
    flag: "max-framework-heartbeat-timeouts",
    env: "AGORA_MAX_FRAMEWORK_HEARTBEAT_TIMEOUTS",
    default: DEFAULT_MAX_FRAMEWORK_HEARTBEAT_TIMEOUTS,
    placeholder: "N",
    min: 1,
    help: "missed scheduler heartbeats after which a framework is disconnected",
  },
  frameworkFailoverTimeout: {
    kind: "duration",
    flag: "framework-failover-timeout",
    env: "AGORA_FRAMEWORK_FAILOVER_TIMEOUT",
    default: DEFAULT_FRAMEWORK_FAILOVER_TIMEOUT_MS,
    placeholder: "DURATION",
    help: "failover timeout of frameworks that do not set failoverTimeoutSeconds",
  },
  leaderLease: {
    kind: "duration",
    flag: "leader-lease",
    env: "AGORA_LEADER_LEASE",
    default: DEFAULT_LEADER_LEASE_MS,
    placeholder: "DURATION",
    min: 1,
    help: "leader lease in the registry: renewed every lease/5; a leader that went lease×0.8 without renewing stops serving; a standby takes over after a whole lease without renewal",
  },
  agentReregisterTimeout: {
    kind: "duration",
    flag: "agent-reregister-timeout",
    env: "AGORA_AGENT_REREGISTER_TIMEOUT",
    default: DEFAULT_AGENT_REREGISTER_TIMEOUT_MS,
    placeholder: "DURATION",
    min: 1,
    help: "after a failover, registry agents that have not reregistered within this become unreachable",
  },
  recoveryAgentFraction: {
    kind: "number",
    flag: "recovery-agent-fraction",
    env: "AGORA_RECOVERY_AGENT_FRACTION",
    default: DEFAULT_RECOVERY_AGENT_FRACTION,
    placeholder: "F",
    min: 0,
    max: 1,
    help: "after a failover, allocation resumes once this share of the registry's agents reregistered (or after the agent reregister timeout)",
  },
  registry: {
    kind: "string",
    flag: "registry",
    env: "AGORA_REGISTRY",
    default: DEFAULT_REGISTRY,
    placeholder: "kv|memory",
    choices: ["kv", "memory"],
    help: "where the registry and the leader lease live: kv (JetStream KV, any number of masters) or memory (one master, nothing survives it)",
  },
  acls: {
    kind: "string",
    flag: "acls",
    env: "AGORA_ACLS",
    placeholder: "FILE",
    help: 'Mesos ACLs as JSON: which principals may register in which roles, run tasks as which users, tear down frameworks, update weights and quota, switch the policy (e.g. {"permissive": false, "register_frameworks": [{"principals": {"values": ["web"]}, "roles": {"values": ["web"]}}]}); re-read on SIGHUP (default: allow everything)',
  },
  registryReplicas: {
    kind: "integer",
    flag: "registry-replicas",
    env: "AGORA_REGISTRY_REPLICAS",
    default: DEFAULT_REGISTRY_REPLICAS,
    placeholder: "N",
    min: 1,
    help: "replicas of the registry's KV bucket (3 on a 3-node NATS cluster)",
  },
  eventsStream: {
    kind: "boolean",
    flag: "events-stream",
    env: "AGORA_EVENTS_STREAM",
    default: DEFAULT_EVENTS_STREAM,
    help: "keep the cluster events in the JetStream stream <prefix>_events, the history `agora events --since` replays (--events-stream=false: live only)",
  },
  eventsMaxAge: {
    kind: "duration",
    flag: "events-max-age",
    env: "AGORA_EVENTS_MAX_AGE",
    default: DEFAULT_EVENTS_MAX_AGE_MS,
    placeholder: "DURATION",
    help: "events older than this leave the history stream (0: kept until --events-max-bytes)",
  },
  eventsMaxBytes: {
    kind: "bytes",
    flag: "events-max-bytes",
    env: "AGORA_EVENTS_MAX_BYTES",
    default: DEFAULT_EVENTS_MAX_BYTES,
    placeholder: "SIZE",
    min: 1,
    help: "most bytes the history stream keeps (512MB, 1GiB...); the oldest events go first",
  },
  eventsReplicas: {
    kind: "integer",
    flag: "events-replicas",
    env: "AGORA_EVENTS_REPLICAS",
    default: DEFAULT_EVENTS_REPLICAS,
    placeholder: "N",
    min: 1,
    help: "replicas of the history stream (3 on a 3-node NATS cluster)",
  },
  eventsKinds: {
    kind: "strings",
    flag: "events-kinds",
    env: "AGORA_EVENTS_KINDS",
    default: [...DEFAULT_EVENTS_KINDS],
    placeholder: "KIND",
    help: "event kinds the history keeps, comma-separated or repeated (task.updated, agent.>, ...; all: every kind, offer.sent included)",
  },
} as const satisfies OptionSpecs;

/** The master's resolved options (durations in milliseconds). */
export type MasterConfig = Resolved<typeof MASTER_OPTIONS>;

/**
 * Resolves the master's options (defaults → `AGORA_*` environment → flags →
 * overrides) and validates them.
 * @throws AgoraError INVALID_CONFIG
 */
export function resolveMasterConfig(input: ResolveInput<typeof MASTER_OPTIONS> = {}): MasterConfig {
  const { values, origins } = resolveConfig(MASTER_OPTIONS, input);
  validateMasterConfig(values, origins);
  return values;
}

/**
 * Validates a resolved configuration (also one built in code): the TypeBox
 * schema of {@link MASTER_OPTIONS} (types, ranges, choices), then the rules
 * across values.
 * @throws AgoraError INVALID_CONFIG naming the flag
 */
export function validateMasterConfig(config: MasterConfig, origins?: Origins): void {
  checkConfig(MASTER_OPTIONS, config, origins);
  const fail = (flag: string, expected: string, value: unknown) => {
    throw new AgoraError(
      ErrorCode.InvalidConfig,
      `--${flag}: expected ${expected}, got ${JSON.stringify(value)}`,
    );
  };
  if (config.eventsKinds.length === 0) fail("events-kinds", "at least one kind, or all", []);
  for (const kind of config.eventsKinds) {
    if (kind !== "all" && !isEventKindPattern(kind)) {
      fail("events-kinds", "event kinds such as task.updated, agent.> or all", kind);
    }
  }
  try {
    parseMinAllocatable(config.minAllocatableResources);
  } catch (err) {
    fail(
      "min-allocatable-resources",
      `sets of name:quantity separated by | (${AgoraError.from(err).message})`,
      config.minAllocatableResources,
    );
  }
  if (!isValidId(config.policy)) {
    fail("policy", "a policy name without '.', '*', '>' or whitespace", config.policy);
  }
  if (config.masterId !== undefined && !isValidId(config.masterId)) {
    fail("master-id", "an identifier without '.', '*', '>' or whitespace", config.masterId);
  }
}

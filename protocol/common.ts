/**
 * Schemas shared by several message families: identifiers, resources,
 * attributes, commands, tasks, statuses, offers and filters. The static
 * TypeScript types are derived from the schemas, so the two never disagree.
 */
import {
  type Static,
  type TLiteral,
  type TObject,
  type TProperties,
  Type,
} from "@sinclair/typebox";
import { CommandInfo, Id, MAX_ID, Text } from "./base.ts";
import { HealthCheck, KillPolicy } from "./health.ts";

export { CommandInfo, Id, Text } from "./base.ts";

/**
 * A role name as Mesos allows it: `*` for unreserved, else components of
 * letters, digits, `_`, `.` and `-` joined by `/` (nested roles, `eng/web`),
 * where no component is `.` or `..` or starts with `-`. protocol/resources.ts
 * says which rule a bad role in a resource string breaks.
 */
const ROLE_COMPONENT = "(?!\\.\\.?(?:/|$))(?!-)[A-Za-z0-9_.-]+";
const ROLE_PATTERN = `^\\*$|^${ROLE_COMPONENT}(?:/${ROLE_COMPONENT})*$`;
const ROLE_RE = new RegExp(ROLE_PATTERN);

/** A role name, `*` for unreserved; nested roles as `eng/web` ({@link ROLE_PATTERN}). */
export const Role = Type.String({ minLength: 1, maxLength: MAX_ID, pattern: ROLE_PATTERN });

/** Whether `role` is a valid role name ({@link ROLE_PATTERN}, at most 256 characters). */
export function isValidRole(role: unknown): role is string {
  return typeof role === "string" && role.length <= MAX_ID && ROLE_RE.test(role);
}

/**
 * A resource name, optionally with its reservation and volume: `cpus`,
 * `cpus(web)` (static), `cpus(web,alice,team=a)` (dynamic: role, principal,
 * labels), `disk(web,alice)[vol1:data]` (a persistent volume).
 */
const ResourceKey = Type.String({
  maxLength: MAX_ID,
  pattern: "^[A-Za-z_][A-Za-z0-9_.-]*(\\([^()\\s]+\\))?(\\[[^\\[\\]\\s]+\\])?$",
});
/** An attribute name. */
const AttributeKey = Type.String({ maxLength: MAX_ID, pattern: "^[^\\s;:]{1,256}$" });

/**
 * A resource set in JSON: scalar name → number (mem and disk in MB), ranges as
 * `[[begin, end], ...]`; reserved resources as `name(role)`.
 */
export const ResourcesJson = Type.Record(
  ResourceKey,
  Type.Union([
    Type.Number({ minimum: 0 }),
    Type.Array(Type.Tuple([Type.Integer({ minimum: 0 }), Type.Integer({ minimum: 0 })]), {
      maxItems: 4096,
    }),
  ]),
  { additionalProperties: false },
);
export type ResourcesJson = Static<typeof ResourcesJson>;

/** Agent attributes, e.g. `{rack: "r1", zone: "a"}`. */
export const Attributes = Type.Record(
  AttributeKey,
  Type.Union([Type.String({ maxLength: MAX_ID }), Type.Number()]),
  { additionalProperties: false },
);
export type Attributes = Static<typeof Attributes>;

/**
 * Mesos `ExecutorInfo.Type`: `CUSTOM` (the default) is the framework's own
 * program (`command`); `DEFAULT` is the agent's built-in default executor,
 * which runs task groups (`launchGroup`) and has no `command`.
 */
export const ExecutorType = { Default: "DEFAULT", Custom: "CUSTOM" } as const;
export type ExecutorType = (typeof ExecutorType)[keyof typeof ExecutorType];

/** A framework's executor, as Mesos's `ExecutorInfo`. */
export const ExecutorInfo = Type.Object({
  executorId: Id,
  /** `CUSTOM` when absent. */
  type: Type.Optional(Type.Union([Type.Literal("DEFAULT"), Type.Literal("CUSTOM")])),
  name: Type.Optional(Text),
  /** The executor's program: required for `CUSTOM`, absent for `DEFAULT`. */
  command: Type.Optional(CommandInfo),
  /** Resources of the executor itself, on top of its tasks'. */
  resources: Type.Optional(ResourcesJson),
});
export type ExecutorInfo = Static<typeof ExecutorInfo>;

/** A task description sent by a scheduler in a launch operation. */
export const TaskInfo = Type.Object({
  taskId: Id,
  name: Text,
  /** The agent the task runs on; must be the agent of the accepted offers. */
  agentId: Id,
  resources: ResourcesJson,
  /** The command to run through the built-in command executor. */
  command: Type.Optional(CommandInfo),
  /** A custom executor to run the task through instead. */
  executor: Type.Optional(ExecutorInfo),
  /** Opaque data handed to a custom executor. */
  data: Type.Optional(Type.Uint8Array({ maxByteLength: 256 * 1024 })),
  labels: Type.Optional(Type.Record(Type.String({ maxLength: MAX_ID }), Text)),
  /** Seconds between SIGTERM and SIGKILL when the task is killed. */
  killGracePeriodSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  /** How the task's executor checks the task's health (Mesos `TaskInfo.health_check`). */
  healthCheck: Type.Optional(HealthCheck),
  /** How the task is killed; its grace period wins over `killGracePeriodSeconds` (Mesos `kill_policy`). */
  killPolicy: Type.Optional(KillPolicy),
});
export type TaskInfo = Static<typeof TaskInfo>;

/**
 * What happens to the other tasks of a group when one ends other than
 * TASK_FINISHED (failed, killed, OOM, health kill): `KILL_GROUP` (the default,
 * as Mesos's default executor) kills them; `CONTINUE` lets them run.
 */
export const TaskGroupFailurePolicy = { KillGroup: "KILL_GROUP", Continue: "CONTINUE" } as const;
export type TaskGroupFailurePolicy =
  (typeof TaskGroupFailurePolicy)[keyof typeof TaskGroupFailurePolicy];

/** Tasks that start together in one default executor (Mesos `TaskGroupInfo`). */
export const TaskGroupInfo = Type.Object({
  tasks: Type.Array(TaskInfo, { minItems: 1, maxItems: 1000 }),
  /** `KILL_GROUP` when absent. */
  failurePolicy: Type.Optional(Type.Union([Type.Literal("KILL_GROUP"), Type.Literal("CONTINUE")])),
});
export type TaskGroupInfo = Static<typeof TaskGroupInfo>;

/** Mesos `TaskState`. */
export const TaskState = {
  Staging: "TASK_STAGING",
  Starting: "TASK_STARTING",
  Running: "TASK_RUNNING",
  Killing: "TASK_KILLING",
  Finished: "TASK_FINISHED",
  Failed: "TASK_FAILED",
  Killed: "TASK_KILLED",
  Error: "TASK_ERROR",
  Lost: "TASK_LOST",
  Dropped: "TASK_DROPPED",
  Unreachable: "TASK_UNREACHABLE",
  Gone: "TASK_GONE",
  GoneByOperator: "TASK_GONE_BY_OPERATOR",
  Unknown: "TASK_UNKNOWN",
} as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

/** Terminal task states: a task in one of them never changes again. */
export const TERMINAL_TASK_STATES: ReadonlySet<TaskState> = new Set([
  TaskState.Finished,
  TaskState.Failed,
  TaskState.Killed,
  TaskState.Error,
  TaskState.Lost,
  TaskState.Dropped,
  TaskState.Gone,
  TaskState.GoneByOperator,
]);

/** True when the state is terminal. */
export function isTerminalState(state: TaskState): boolean {
  return TERMINAL_TASK_STATES.has(state);
}

/** Mesos `TaskStatus.Source`. */
export const TaskSource = {
  Master: "SOURCE_MASTER",
  Agent: "SOURCE_AGENT",
  Executor: "SOURCE_EXECUTOR",
} as const;
export type TaskSource = (typeof TaskSource)[keyof typeof TaskSource];

/** Mesos `TaskStatus.Reason` (the subset agora reports). */
export const TaskReason = {
  CommandExecutorFailed: "REASON_COMMAND_EXECUTOR_FAILED",
  ContainerLaunchFailed: "REASON_CONTAINER_LAUNCH_FAILED",
  ContainerLimitation: "REASON_CONTAINER_LIMITATION",
  ContainerLimitationDisk: "REASON_CONTAINER_LIMITATION_DISK",
  ContainerLimitationMemory: "REASON_CONTAINER_LIMITATION_MEMORY",
  ExecutorRegistrationTimeout: "REASON_EXECUTOR_REGISTRATION_TIMEOUT",
  ExecutorTerminated: "REASON_EXECUTOR_TERMINATED",
  ExecutorUnregistered: "REASON_EXECUTOR_UNREGISTERED",
  FrameworkRemoved: "REASON_FRAMEWORK_REMOVED",
  AgentDisconnected: "REASON_AGENT_DISCONNECTED",
  /** The agent is being drained (Mesos `REASON_AGENT_DRAINING`). */
  AgentDraining: "REASON_AGENT_DRAINING",
  AgentRemoved: "REASON_AGENT_REMOVED",
  AgentRestarted: "REASON_AGENT_RESTARTED",
  AgentUnknown: "REASON_AGENT_UNKNOWN",
  InvalidOffers: "REASON_INVALID_OFFERS",
  Reconciliation: "REASON_RECONCILIATION",
  ResourcesUnknown: "REASON_RESOURCES_UNKNOWN",
  TaskHealthCheckStatusUpdated: "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED",
  TaskGroupInvalid: "REASON_TASK_GROUP_INVALID",
  /** agora's: killed because another task of its group failed (group `failurePolicy` KILL_GROUP). */
  TaskGroupKilled: "REASON_TASK_GROUP_KILLED",
  TaskInvalid: "REASON_TASK_INVALID",
  TaskKilledDuringLaunch: "REASON_TASK_KILLED_DURING_LAUNCH",
  TaskUnknown: "REASON_TASK_UNKNOWN",
  TaskUnauthorized: "REASON_TASK_UNAUTHORIZED",
  /**
   * agora's: killed by the master to make room for a demand of higher priority
   * or below its quota guarantee (preemption; Mesos has no such reason, it
   * sends inverse offers instead).
   */
  TaskPreempted: "REASON_TASK_PREEMPTED",
} as const;
export type TaskReason = (typeof TaskReason)[keyof typeof TaskReason];

const literals = <T extends Record<string, string>>(o: T) =>
  Type.Union(Object.values(o).map((v) => Type.Literal(v)));

/** Schema of a {@link TaskState} value. */
export const TaskStateSchemaRef = Type.Unsafe<TaskState>(literals(TaskState));

/** A task status update, as Mesos's `TaskStatus`. */
export const TaskStatus = Type.Object({
  taskId: Id,
  state: TaskStateSchemaRef,
  agentId: Type.Optional(Id),
  executorId: Type.Optional(Id),
  source: Type.Optional(Type.Unsafe<TaskSource>(literals(TaskSource))),
  reason: Type.Optional(Type.Unsafe<TaskReason>(literals(TaskReason))),
  message: Type.Optional(Text),
  /** Unique id of this update; absent on updates that need no acknowledgement. */
  uuid: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  /** Milliseconds since the epoch when the update was generated. */
  timestamp: Type.Number(),
  /** Exit code of the task's process, when it exited. */
  exitCode: Type.Optional(Type.Integer()),
  /** Signal that ended the task's process, e.g. `SIGKILL`. */
  signal: Type.Optional(Type.String({ maxLength: 32 })),
  data: Type.Optional(Type.Uint8Array({ maxByteLength: 256 * 1024 })),
  /**
   * The task's health as its health check last found it: set on TASK_RUNNING
   * updates that report a health change and on a TASK_KILLED the check caused.
   */
  healthy: Type.Optional(Type.Boolean()),
});
export type TaskStatus = Static<typeof TaskStatus>;

/** A resource offer: resources of one agent for one role of one framework. */
export const Offer = Type.Object({
  offerId: Id,
  frameworkId: Id,
  agentId: Id,
  /**
   * The agent principal that registered the agent: the token of its
   * `agent.<principal>.<agentId>.files.<requester>` subject (`files.read`).
   */
  agentPrincipal: Type.Optional(Id),
  hostname: Text,
  /** The role the resources are allocated to. */
  role: Role,
  resources: ResourcesJson,
  attributes: Attributes,
});
export type Offer = Static<typeof Offer>;

/** Offer filters, as Mesos's `Filters`. */
export const Filters = Type.Object({
  /** Seconds during which the declined resources are not offered again to the framework (default 5). */
  refuseSeconds: Type.Optional(Type.Number({ minimum: 0 })),
});
export type Filters = Static<typeof Filters>;

/** The wire form of an error. */
export const ErrorMessage = message("error", {
  code: Type.String({ maxLength: 64 }),
  message: Text,
  retryable: Type.Boolean(),
});

/** A plain positive acknowledgement of a request. */
export const OkMessage = message("ok", {});

/** Most offers in one `event.offers` or `cluster.offersSent` (one message stays well under 1 MiB). */
export const MAX_OFFERS_PER_MESSAGE = 1000;

/** Most messages in one `batch` envelope. */
export const MAX_BATCH_MESSAGES = 1024;

/**
 * Several published (non-request) messages for one subject in one payload:
 * `{v, type: "batch", messages: [{type, ...}, ...]}`. Each element is a normal
 * message without its own `v`, validated by the codec with its own schema
 * (`decodeMessages`); a batch never holds a batch and is never a request or a reply.
 */
export const BatchMessage = message("batch", {
  messages: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH_MESSAGES }),
});

/** Declares one message type: `{type: TYPE, ...fields}`. */
export function message<T extends string, P extends TProperties>(
  type: T,
  fields: P,
): TObject<P & { type: TLiteral<T> }> {
  return Type.Object({ ...fields, type: Type.Literal(type) }) as TObject<P & { type: TLiteral<T> }>;
}

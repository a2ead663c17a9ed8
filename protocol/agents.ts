/**
 * Agent ↔ master messages.
 * Agent → master on `master.register.<principal>` (request) and `master.agent.<principal>.<agentId>`;
 * master → agent on `agent.<agentId>`.
 */
import { type Static, Type } from "@sinclair/typebox";
import {
  Attributes,
  ExecutorInfo,
  Id,
  message,
  ResourcesJson,
  Role,
  TaskGroupInfo,
  TaskInfo,
  TaskStatus,
  Text,
} from "./common.ts";

/** A framework as an agent needs to know it. */
export const FrameworkRef = Type.Object({
  frameworkId: Id,
  name: Text,
  /** The role the launched resources are allocated to. */
  role: Role,
  /** `FrameworkInfo.user`: the user its tasks run as when their command names none. */
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  /** The framework's `FrameworkInfo.capabilities` (e.g. `TASK_KILLING_STATE`), for its executors. */
  capabilities: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32 }),
  ),
});
export type FrameworkRef = Static<typeof FrameworkRef>;

/** What an agent runs, reported on reregistration. */
export const RunningTask = Type.Object({
  frameworkId: Id,
  executorId: Id,
  role: Role,
  task: TaskInfo,
  /** The latest known status of the task. */
  status: TaskStatus,
});
export type RunningTask = Static<typeof RunningTask>;

/** Agent → master, request: register a new agent; the reply is `agent.registered`. */
export const AgentRegister = message("agent.register", {
  hostname: Text,
  resources: ResourcesJson,
  attributes: Attributes,
  /** Version of the agent software, informational. */
  version: Type.Optional(Type.String({ maxLength: 64 })),
});

/** Agent → master, request: an agent that already has an id comes back (after its or the master's restart). */
export const AgentReregister = message("agent.reregister", {
  agentId: Id,
  hostname: Text,
  resources: ResourcesJson,
  attributes: Attributes,
  version: Type.Optional(Type.String({ maxLength: 64 })),
  tasks: Type.Array(RunningTask, { maxItems: 100_000 }),
});

/** Master → agent, reply to register and reregister. */
export const AgentRegistered = message("agent.registered", {
  agentId: Id,
  masterId: Id,
  /** How often the agent must send `agent.heartbeat`, in seconds. */
  heartbeatIntervalSeconds: Type.Number({ exclusiveMinimum: 0 }),
});

/** Agent → master: liveness, every `heartbeatIntervalSeconds`. */
export const AgentHeartbeat = message("agent.heartbeat", {});

/** Agent → master: a task status update; the master forwards it to the scheduler. */
export const AgentUpdate = message("agent.update", {
  frameworkId: Id,
  status: TaskStatus,
});

/** Agent → master: a message from an executor to its framework's scheduler. */
export const AgentMessage = message("agent.message", {
  frameworkId: Id,
  executorId: Id,
  data: Type.Uint8Array({ maxByteLength: 256 * 1024 }),
});

/** Master → agent: launch tasks of one framework (all from one accept). */
export const AgentRunTask = message("agent.runTask", {
  framework: FrameworkRef,
  tasks: Type.Array(TaskInfo, { minItems: 1, maxItems: 10_000 }),
});

/** Master → agent: launch a task group (validated whole) in a `DEFAULT` executor; all or none start. */
export const AgentRunTaskGroup = message("agent.runTaskGroup", {
  framework: FrameworkRef,
  executor: ExecutorInfo,
  taskGroup: TaskGroupInfo,
});

/** Master → agent: kill a task. */
export const AgentKillTask = message("agent.killTask", {
  frameworkId: Id,
  taskId: Id,
  /** Overrides the task's kill grace period, in seconds. */
  gracePeriodSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  /**
   * Upper bound of the grace period, in seconds (a drain's
   * `maxGracePeriodSeconds`): the task gets the smaller of it and its own.
   */
  maxGracePeriodSeconds: Type.Optional(Type.Number({ minimum: 0 })),
});

/** Master → agent: the scheduler acknowledged a status update. */
export const AgentAcknowledge = message("agent.acknowledge", {
  frameworkId: Id,
  taskId: Id,
  uuid: Type.String({ minLength: 1, maxLength: 64 }),
});

/** Master → agent: a message from a scheduler to one of its executors. */
export const AgentFrameworkMessage = message("agent.frameworkMessage", {
  frameworkId: Id,
  executorId: Id,
  data: Type.Uint8Array({ maxByteLength: 256 * 1024 }),
});

/** Master → agent: the framework is gone; kill its tasks and executors. */
export const AgentShutdownFramework = message("agent.shutdownFramework", {
  frameworkId: Id,
});

/** Master → agent: the agent was removed; it must stop its tasks and exit or register anew. */
export const AgentShutdown = message("agent.shutdown", {
  reason: Type.Optional(Text),
});

/** Master → agent: the master does not know this agent; register again. */
export const AgentReregisterRequest = message("agent.reregisterRequest", {});

/**
 * Resource statistics of an executor's container (cgroups), with Mesos's
 * `ResourceStatistics` names; a field is absent where the host does not
 * expose it (none at all without isolation).
 */
export const ResourceStatistics = Type.Object({
  /** Milliseconds since the epoch when the statistics were read. */
  timestamp: Type.Number(),
  cpusUserTimeSecs: Type.Optional(Type.Number({ minimum: 0 })),
  cpusSystemTimeSecs: Type.Optional(Type.Number({ minimum: 0 })),
  /** The hard cpu limit (CFS quota ÷ period), when one is set. */
  cpusLimit: Type.Optional(Type.Number({ minimum: 0 })),
  cpusNrPeriods: Type.Optional(Type.Number({ minimum: 0 })),
  cpusNrThrottled: Type.Optional(Type.Number({ minimum: 0 })),
  cpusThrottledTimeSecs: Type.Optional(Type.Number({ minimum: 0 })),
  /** Memory in use now, bytes. */
  memTotalBytes: Type.Optional(Type.Number({ minimum: 0 })),
  /** Highest memory use seen, bytes. */
  memPeakBytes: Type.Optional(Type.Number({ minimum: 0 })),
  memLimitBytes: Type.Optional(Type.Number({ minimum: 0 })),
  /** Processes and threads in the container now. */
  processes: Type.Optional(Type.Number({ minimum: 0 })),
  processesPeak: Type.Optional(Type.Number({ minimum: 0 })),
  processesLimit: Type.Optional(Type.Number({ minimum: 0 })),
});
export type ResourceStatistics = Static<typeof ResourceStatistics>;

/** The statistics of one executor's container and the tasks it runs. */
export const ExecutorUsage = Type.Object({
  frameworkId: Id,
  executorId: Id,
  /** The executor's tasks that have not ended (the statistics are the container's, shared). */
  taskIds: Type.Array(Id, { maxItems: 10_000 }),
  statistics: ResourceStatistics,
  /** A default executor's tasks, each with the statistics of its own nested cgroup. */
  tasks: Type.Optional(
    Type.Array(Type.Object({ taskId: Id, statistics: ResourceStatistics }), {
      maxItems: 10_000,
    }),
  ),
});
export type ExecutorUsage = Static<typeof ExecutorUsage>;

/** Most executors in one `agent.usage` (an agent with more sends several). */
export const MAX_USAGE_EXECUTORS = 1000;

/** Agent → master: resource statistics of the agent's containers, every `--usage-interval`. */
export const AgentUsage = message("agent.usage", {
  executors: Type.Array(ExecutorUsage, { maxItems: MAX_USAGE_EXECUTORS }),
});

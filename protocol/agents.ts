/**
 * Agent ↔ master messages.
 * Agent → master on `master.register` (request) and `master.agent.<agentId>`;
 * master → agent on `agent.<agentId>`.
 */
import { type Static, Type } from "@sinclair/typebox";
import {
  Attributes,
  Id,
  message,
  ResourcesJson,
  Role,
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

/** Master → agent: kill a task. */
export const AgentKillTask = message("agent.killTask", {
  frameworkId: Id,
  taskId: Id,
  /** Overrides the task's kill grace period, in seconds. */
  gracePeriodSeconds: Type.Optional(Type.Number({ minimum: 0 })),
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

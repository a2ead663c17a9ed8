/**
 * The emulator's state: compact records for thousands of agents and their
 * tasks, the shared timer wheels, and the counters.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { Batcher } from "../../infra/batch.ts";
import type { Clock } from "../../infra/clock.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import type { Attributes, ResourcesJson, TaskInfo, TaskStatus } from "../../protocol/common.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import type { TickWheel } from "./wheel.ts";

/** Where an emulated agent is in its life. */
export const EmulatedAgentState = {
  /** Waiting for a registration slot, or between attempts. */
  Unregistered: "unregistered",
  /** A register or reregister request is in flight. */
  Registering: "registering",
  Registered: "registered",
  /** It has an id and waits for (or runs) an `agent.reregister`; its tasks keep running. */
  Reregistering: "reregistering",
  /** The master sent `agent.shutdown`: the agent is gone (as a real one exits). */
  Shutdown: "shutdown",
} as const;
export type EmulatedAgentState = (typeof EmulatedAgentState)[keyof typeof EmulatedAgentState];

/** One emulated agent. */
export interface EmulatedAgent {
  readonly index: number;
  readonly hostname: string;
  readonly attributes: Attributes;
  /** The connection it talks on. */
  readonly nc: NatsConnection;
  /** Its connection's batching publisher: status updates leave batched (infra/batch.ts). */
  readonly batcher: Batcher;
  /** Reply subject of its heartbeats (under its connection's inbox). */
  readonly heartbeatInbox: string;
  state: EmulatedAgentState;
  /** Its id, once registered. */
  id: string | undefined;
  /** `master.agent.<id>`, cached. */
  masterSubject: string | undefined;
  /** The master that answered its last (re)registration. */
  masterId: string | undefined;
  /** When its next reregistration attempt is due (∞: none queued); stale wheel entries differ. */
  reregisterAt: number;
  /** Failed reregistration attempts in a row (the backoff's exponent). */
  reregisterAttempt: number;
  /** An `agent.reregister` request of it is in flight. */
  reregisterInFlight: boolean;
  heartbeatIntervalMs: number;
  /** When the next heartbeat is due; wheel entries for other times are stale. */
  nextHeartbeatAt: number;
  /** Its tasks by {@link taskKey}, until their terminal update is acknowledged. */
  readonly tasks: Map<string, EmulatedTask>;
}

/** One task on an emulated agent, with its status update stream. */
export interface EmulatedTask {
  readonly agent: EmulatedAgent;
  readonly key: string;
  readonly frameworkId: string;
  readonly role: string;
  readonly info: TaskInfo;
  readonly executorId: string;
  /** The latest status generated. */
  status: TaskStatus;
  /** Unacknowledged updates, oldest first; the head is the one in flight. */
  readonly pending: TaskStatus[];
  /** A terminal update was generated: nothing follows it. */
  terminal: boolean;
  /** The stream is closed (terminal update acknowledged, or the task dropped). */
  closed: boolean;
  /** When the head is re-sent; entries for other times are stale. */
  nextRetryAt: number;
  retryIntervalMs: number;
  /** When the task finishes by itself (taskDurationMs > 0). */
  finishAt: number;
}

/** The emulator's resolved options. */
export interface EmulatorSettings {
  count: number;
  /** The agent principal of every emulated agent (`master.agent.<principal>.<agentId>`). */
  principal: string;
  resources: ResourcesJson;
  attributes: (index: number) => Attributes;
  hostnamePrefix: string;
  /** Overrides the interval the master gives, when set. */
  heartbeatIntervalMs: number | undefined;
  heartbeatMode: "request" | "publish";
  taskDurationMs: number;
  reportStarting: boolean;
  registrationConcurrency: number;
  requestTimeoutMs: number;
  registrationBackoffMs: number;
  registrationBackoffMaxMs: number;
  /** Reregistration requests in flight at most. */
  reregistrationConcurrency: number;
  /** Reregistration requests started per tick (one event-loop turn) at most. */
  reregistrationBatch: number;
  /** A reregistration starts after a uniform draw in [0, this) (Mesos: registration_backoff_factor). */
  reregistrationDelayMs: number;
  /** First reregistration retry; doubles, drawn in its upper half. */
  reregistrationBackoffMs: number;
  /** Cap of the reregistration retry. */
  reregistrationBackoffMaxMs: number;
  statusUpdateRetryMinMs: number;
  statusUpdateRetryMaxMs: number;
  tickMs: number;
}

/** Everything the emulator's parts share. */
export interface EmulatorContext {
  readonly subjects: Subjects;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly settings: EmulatorSettings;
  readonly agents: EmulatedAgent[];
  /** Registered agents by id. */
  readonly byId: Map<string, EmulatedAgent>;
  readonly heartbeats: TickWheel<EmulatedAgent>;
  readonly retries: TickWheel<EmulatedTask>;
  readonly finishes: TickWheel<EmulatedTask>;
  /** Agents whose reregistration attempt is due at a time. */
  readonly reregistrations: TickWheel<EmulatedAgent>;
  /** Milliseconds of each first registration's request/reply round trip. */
  readonly registrationLatencies: number[];
  /** Tasks not yet closed, over all agents. */
  activeTasks: number;
  stopped: boolean;
  /** Resolves after `ms`, or at once when the emulator stops. */
  sleep(ms: number): Promise<void>;
  /**
   * Queues a reregistration of the agent (it keeps its tasks). `urgent`: the
   * master asked for it (it is there), so a pending backoff is cut short.
   */
  reregister(agent: EmulatedAgent, urgent: boolean): void;
}

/** Task ids are unique within a framework; a space never occurs in an id. */
export function taskKey(frameworkId: string, taskId: string): string {
  return `${frameworkId} ${taskId}`;
}

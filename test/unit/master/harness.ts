/**
 * A broker-free master for unit tests: the master core on a virtual clock,
 * with an outbox that records what the master sends and an allocation queue
 * the test flushes. Inbound messages go through the same routing functions
 * the NATS handlers use.
 */

import {
  type AgentMessage,
  handleAgentMessage,
  handleRegister,
} from "../../../actors/master/agent-handlers.ts";
import type { Authorizer } from "../../../actors/master/authorizer.ts";
import { type MasterConfig, resolveMasterConfig } from "../../../actors/master/config.ts";
import { createMasterCore, type MasterCore } from "../../../actors/master/core.ts";
import {
  type FrameworkCall,
  handleFrameworkCall,
  handleSubscribe,
} from "../../../actors/master/framework-handlers.ts";
import type { MasterContext } from "../../../actors/master/model.ts";
import type { Outbox } from "../../../actors/master/outbox.ts";
import type { Registry } from "../../../actors/master/registry.ts";
import { masterState } from "../../../actors/master/state.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { drfPolicy } from "../../../policies/drf.ts";
import type { ResourcesJson, TaskInfo, TaskStatus } from "../../../protocol/common.ts";
import type { FrameworkInfo } from "../../../protocol/frameworks.ts";
import type { Message, MessageOf, MessageType } from "../../../protocol/registry.ts";
import type { ClusterEventKind } from "../../../protocol/subjects.ts";

/** One message the master sent. */
export interface Sent {
  to: "agent" | "framework" | "cluster";
  /** Agent id, framework id or event kind. */
  id: string;
  msg: Message;
}

/** An outbox that records. */
export class RecordingOutbox implements Outbox {
  readonly sent: Sent[] = [];
  toAgent(agentId: string, msg: Message): void {
    this.sent.push({ to: "agent", id: agentId, msg });
  }
  toFramework(frameworkId: string, msg: Message): void {
    this.sent.push({ to: "framework", id: frameworkId, msg });
  }
  cluster(kind: ClusterEventKind, msg: Message): void {
    this.sent.push({ to: "cluster", id: kind, msg });
  }
}

/** The default test configuration: 1 s allocation, 1 s pings (×3), 5 s heartbeats (×3). */
export const UNIT_CONFIG: Partial<MasterConfig> = {
  masterId: "m",
  allocationInterval: 1000,
  agentPingTimeout: 1000,
  maxAgentPingTimeouts: 3,
  agentRemovalTimeout: 60_000,
  frameworkHeartbeatInterval: 5000,
  maxFrameworkHeartbeatTimeouts: 3,
};

/** The harness. */
export class Harness {
  readonly clock = new VirtualClock(1_700_000_000_000);
  readonly outbox = new RecordingOutbox();
  readonly metrics = new Metrics();
  readonly core: MasterCore;
  readonly #queue: Array<() => void> = [];

  /** `allocationChunk`: offers per turn of a batch cycle (the core's default when absent). */
  constructor(
    overrides: Partial<MasterConfig> = {},
    options: { allocationChunk?: number; registry?: Registry; authorizer?: Authorizer } = {},
  ) {
    const config = resolveMasterConfig({ env: {}, overrides: { ...UNIT_CONFIG, ...overrides } });
    this.core = createMasterCore({
      masterId: config.masterId ?? "m",
      config,
      clock: this.clock,
      logger: silentLogger(),
      metrics: this.metrics,
      outbox: this.outbox,
      policy: drfPolicy,
      schedule: (fn) => this.#queue.push(fn),
      registry: options.registry,
      ...(options.authorizer === undefined ? {} : { authorizer: options.authorizer }),
      ...(options.allocationChunk === undefined
        ? {}
        : { allocationChunk: options.allocationChunk }),
    });
    this.core.start();
  }

  get ctx(): MasterContext {
    return this.core.ctx;
  }

  /** Runs the requested allocation cycles. */
  flush(): void {
    while (this.#queue.length > 0) this.#queue.shift()!();
  }

  /** Runs what is scheduled now (one event-loop turn), not what that schedules; returns how many ran. */
  turn(): number {
    const now = this.#queue.splice(0);
    for (const fn of now) fn();
    return now.length;
  }

  /** Agents and frameworks the harness keeps alive while time advances. */
  readonly alive = { agents: new Set<string>(), frameworks: new Set<string>() };

  /**
   * Moves the virtual clock in steps of at most 500 ms (timers fire), the
   * agents and frameworks in {@link alive} heartbeating at each step, and runs
   * requested allocation cycles.
   */
  advance(ms: number): void {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      for (const agentId of this.alive.agents) {
        if (this.ctx.agents.get(agentId)?.status === "active") {
          this.agent(agentId, { type: "agent.heartbeat" });
        }
      }
      for (const frameworkId of this.alive.frameworks) {
        if (this.ctx.frameworks.get(frameworkId)?.status === "subscribed") {
          this.call(frameworkId, { type: "scheduler.heartbeat" });
        }
      }
      this.flush();
      this.clock.advanceTo(Math.min(end, this.clock.now() + 500));
      this.flush();
    }
  }

  /** Registers an agent and heartbeats once; returns its id. */
  addAgent(resources: ResourcesJson, hostname = "h"): string {
    const reply = handleRegister(
      this.ctx,
      { type: "agent.register", hostname, resources, attributes: {} },
      true,
    ) as MessageOf<"agent.registered">;
    this.agent(reply.agentId, { type: "agent.heartbeat" });
    this.alive.agents.add(reply.agentId);
    return reply.agentId;
  }

  /** A message from an agent on its subject. */
  agent(agentId: string, msg: AgentMessage, isRequest = false): Message | undefined {
    return handleAgentMessage(this.ctx, agentId, msg, isRequest);
  }

  /** Subscribes a framework and sends a first call; returns its id. */
  addFramework(framework: Partial<FrameworkInfo> = {}, suppressedRoles?: string[]): string {
    const reply = handleSubscribe(
      this.ctx,
      { type: "scheduler.subscribe", framework: { name: "fw", ...framework }, suppressedRoles },
      true,
    ) as MessageOf<"event.subscribed">;
    this.call(reply.frameworkId, { type: "scheduler.heartbeat" });
    this.alive.frameworks.add(reply.frameworkId);
    return reply.frameworkId;
  }

  /** A scheduler call (as a request unless said otherwise). */
  call(frameworkId: string, call: FrameworkCall, isRequest = true): void {
    handleFrameworkCall(this.ctx, frameworkId, call, isRequest);
  }

  /** Sends a status update from an agent. */
  update(
    agentId: string,
    frameworkId: string,
    status: Partial<TaskStatus> & { taskId: string },
  ): void {
    this.agent(agentId, {
      type: "agent.update",
      frameworkId,
      status: { state: "TASK_RUNNING", timestamp: this.clock.now(), agentId, ...status },
    });
  }

  /** Messages of a type sent to one recipient since index `from`. */
  sentTo<T extends MessageType>(to: Sent["to"], id: string, type: T, from = 0): MessageOf<T>[] {
    return this.outbox.sent
      .slice(from)
      .filter((s) => s.to === to && s.id === id && s.msg.type === type)
      .map((s) => s.msg as MessageOf<T>);
  }

  /** Offers sent to the framework since `from`. */
  offersTo(frameworkId: string, from = 0): MessageOf<"event.offers">["offers"] {
    return this.sentTo("framework", frameworkId, "event.offers", from).flatMap((m) => m.offers);
  }

  /** Status updates sent to the framework since `from`. */
  updatesTo(frameworkId: string, from = 0): TaskStatus[] {
    return this.sentTo("framework", frameworkId, "event.update", from).map((m) => m.status);
  }

  /** Outbox position, for `from` arguments. */
  mark(): number {
    return this.outbox.sent.length;
  }

  state() {
    return masterState(this.ctx);
  }

  invariants(): string[] {
    return this.core.checkInvariants();
  }
}

/** A command task. */
export function task(
  taskId: string,
  agentId: string,
  resources: ResourcesJson,
  extra: Partial<TaskInfo> = {},
): TaskInfo {
  return { taskId, name: taskId, agentId, resources, command: { value: "true" }, ...extra };
}

/** Accept message launching `tasks` on `offerIds`. */
export function acceptCall(
  offerIds: string[],
  tasks: TaskInfo[],
  refuseSeconds?: number,
): MessageOf<"scheduler.accept"> {
  return {
    type: "scheduler.accept",
    offerIds,
    operations: [{ type: "launch", tasks }],
    filters: refuseSeconds === undefined ? undefined : { refuseSeconds },
  };
}

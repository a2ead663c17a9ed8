/**
 * The agent's side of registration, as Mesos's: register (no id yet) or
 * reregister (with the checkpointed id and the running tasks), retried with
 * exponential backoff and jitter; then heartbeats every
 * `heartbeatIntervalSeconds`. A heartbeat that finds nobody listening (the
 * master is gone) or that the master refuses (it does not know the agent)
 * sends the agent back to reregistration.
 *
 * Heartbeats are sent as requests so that the master's absence is noticed
 * (NATS answers "no responders"); a master that treats them as plain
 * publishes and never replies is tolerated: a heartbeat timeout is only counted.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { Clock, Timer } from "../../infra/clock.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { request } from "../../infra/request.ts";
import type { RunningTask } from "../../protocol/agents.ts";
import type { Attributes, ResourcesJson } from "../../protocol/common.ts";
import { type AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import type { AgentCheckpointStore } from "./checkpoint.ts";

/** What the agent tells the master about itself. */
export interface AgentInfo {
  hostname: string;
  resources: ResourcesJson;
  attributes: Attributes;
  version?: string;
}

/** Dependencies of a {@link Registrar}. */
export interface RegistrarOptions {
  nc: NatsConnection;
  subjects: Subjects;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  store: AgentCheckpointStore;
  info: AgentInfo;
  /** First retry delay in ms; doubles with jitter. */
  backoffMs: number;
  /** Cap of the retry delay in ms. */
  backoffMaxMs: number;
  /** Deadline of one register/reregister/heartbeat request in ms. */
  requestTimeoutMs: number;
  /** The tasks to report on reregistration. */
  runningTasks(): RunningTask[];
  /** The agent is (re)registered with `agentId`; `changed` when the id is new to this process. */
  onRegistered(agentId: string, changed: boolean): Promise<void>;
  /** The master is unreachable; the agent is reregistering. */
  onDisconnected(): void;
  /** The master refused to take the agent back: what runs under the old id must go. */
  onRefused(agentId: string, err: AgoraError): Promise<void>;
  /** Random numbers in [0, 1) for jitter. @default Math.random */
  random?: () => number;
}

/** Registration phases. */
export type RegistrationState = "idle" | "registering" | "registered" | "stopped";

/** Registers the agent and keeps it registered. */
export class Registrar {
  readonly #o: RegistrarOptions;
  #state: RegistrationState = "idle";
  #agentId: string | undefined;
  /** The id the callbacks were last told about. */
  #announcedId: string | undefined;
  #attempt = 0;
  #retryTimer: Timer | undefined;
  #heartbeatTimer: Timer | undefined;
  #heartbeatInFlight = false;
  #inFlight: Promise<void> | undefined;

  constructor(options: RegistrarOptions) {
    this.#o = options;
  }

  /** The agent's id, once known (from the checkpoint or the master). */
  get agentId(): string | undefined {
    return this.#agentId;
  }

  get state(): RegistrationState {
    return this.#state;
  }

  /** Loads the checkpointed id and starts (re)registering; does not wait for the master. */
  async start(): Promise<void> {
    const checkpoint = await this.#o.store.loadAgent();
    this.#agentId = checkpoint?.agentId;
    this.#state = "registering";
    this.#schedule(0);
  }

  /** Reregisters now (the master asked for it, or lost track of the agent). */
  reregister(): void {
    if (this.#isStopped()) return;
    this.#disconnect();
    this.#attempt = 0;
    this.#schedule(0);
  }

  /** Forgets the id: the next registration is a new agent's. */
  async forget(): Promise<void> {
    this.#agentId = undefined;
    await this.#o.store.clearAgent();
  }

  /** Stops heartbeats and retries; waits for a registration in flight. */
  async stop(): Promise<void> {
    this.#state = "stopped";
    this.#retryTimer?.cancel();
    this.#heartbeatTimer?.cancel();
    await this.#inFlight;
  }

  #schedule(delayMs: number): void {
    this.#retryTimer?.cancel();
    this.#retryTimer = this.#o.clock.after(delayMs, () => {
      this.#retryTimer = undefined;
      if (this.#inFlight !== undefined) return;
      this.#inFlight = this.#register().finally(() => {
        this.#inFlight = undefined;
      });
    });
  }

  /** The next retry delay: `backoff · 2^attempt` capped, then a uniform draw in its upper half. */
  #nextDelay(): number {
    const ceiling = Math.min(this.#o.backoffMaxMs, this.#o.backoffMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    const random = this.#o.random ?? Math.random;
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  }

  async #register(): Promise<void> {
    if (this.#isStopped()) return;
    const { nc, subjects, info, logger, metrics } = this.#o;
    const agentId = this.#agentId;
    let reply: MessageOf<"agent.registered">;
    try {
      if (agentId === undefined) {
        metrics.inc("registration_attempts");
        reply = await request(
          nc,
          subjects.masterRegister(),
          { type: "agent.register", ...info },
          ["agent.registered"],
          this.#o.requestTimeoutMs,
        );
      } else {
        metrics.inc("reregistration_attempts");
        reply = await request(
          nc,
          subjects.masterAgent(agentId),
          { type: "agent.reregister", agentId, ...info, tasks: this.#o.runningTasks() },
          ["agent.registered"],
          this.#o.requestTimeoutMs,
        );
      }
    } catch (e) {
      const err = e as AgoraError;
      if (this.#isStopped()) return;
      if (agentId !== undefined && err.code !== undefined && !err.retryable && isRefusal(err)) {
        logger.warn({ agentId, code: err.code, reason: err.message }, "reregistration refused");
        metrics.inc("reregistrations_refused");
        await this.#o.onRefused(agentId, err);
        await this.forget();
        this.#schedule(0);
        return;
      }
      const delay = this.#nextDelay();
      logger.info(
        { code: err.code, reason: err.message, retryInMs: delay },
        agentId === undefined ? "registration failed" : "reregistration failed",
      );
      this.#schedule(delay);
      return;
    }
    if (this.#isStopped()) return;
    this.#agentId = reply.agentId;
    this.#attempt = 0;
    if (agentId !== undefined && reply.agentId !== agentId) {
      logger.warn({ was: agentId, agentId: reply.agentId }, "master gave a new agent id");
    }
    await this.#o.store.saveAgent({
      agentId: reply.agentId,
      hostname: info.hostname,
      registeredAt: this.#o.clock.now(),
      resources: info.resources,
      attributes: info.attributes,
    });
    metrics.inc(agentId === undefined ? "registrations" : "reregistrations");
    logger.info(
      {
        agentId: reply.agentId,
        masterId: reply.masterId,
        heartbeatIntervalSeconds: reply.heartbeatIntervalSeconds,
      },
      agentId === undefined ? "registered" : "reregistered",
    );
    const changed = this.#announcedId !== reply.agentId;
    this.#announcedId = reply.agentId;
    await this.#o.onRegistered(reply.agentId, changed);
    if (this.#isStopped()) return;
    this.#state = "registered";
    this.#startHeartbeats(reply.heartbeatIntervalSeconds * 1000);
  }

  #startHeartbeats(intervalMs: number): void {
    this.#heartbeatTimer?.cancel();
    const period = Math.max(10, intervalMs);
    this.#heartbeatTimer = this.#o.clock.every(period, () => void this.#heartbeat(period));
  }

  async #heartbeat(periodMs: number): Promise<void> {
    const agentId = this.#agentId;
    if (this.#state !== "registered" || agentId === undefined || this.#heartbeatInFlight) return;
    this.#heartbeatInFlight = true;
    try {
      const reply = await request(
        this.#o.nc,
        this.#o.subjects.masterAgent(agentId),
        { type: "agent.heartbeat" },
        ["ok", "agent.reregisterRequest"],
        Math.min(periodMs, this.#o.requestTimeoutMs),
      );
      this.#o.metrics.inc("heartbeats");
      if (reply.type === "agent.reregisterRequest" && this.#state === "registered") {
        this.reregister();
      }
    } catch (e) {
      const err = e as AgoraError;
      if (this.#state !== "registered") return;
      if (err.code === ErrorCode.Timeout) {
        // The master may treat heartbeats as plain publishes; silence is not absence.
        this.#o.metrics.inc("heartbeats_unanswered");
      } else if (err.code === ErrorCode.Unavailable || isRefusal(err)) {
        this.#o.metrics.inc("heartbeats_failed");
        this.#o.logger.warn({ code: err.code, reason: err.message }, "master lost; reregistering");
        this.#disconnect();
        this.#attempt = 0;
        this.#schedule(this.#nextDelay());
      } else {
        this.#o.metrics.inc("heartbeats_failed");
      }
    } finally {
      this.#heartbeatInFlight = false;
    }
  }

  #isStopped(): boolean {
    return this.#state === "stopped";
  }

  #disconnect(): void {
    this.#heartbeatTimer?.cancel();
    this.#heartbeatTimer = undefined;
    if (this.#state === "registered") {
      this.#state = "registering";
      this.#o.onDisconnected();
    }
  }
}

/** Errors by which a master says it will not take the agent (back) as it is. */
function isRefusal(err: AgoraError): boolean {
  return (
    err.code === ErrorCode.NotFound ||
    err.code === ErrorCode.Forbidden ||
    err.code === ErrorCode.InvalidState
  );
}

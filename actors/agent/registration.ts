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
 *
 * The phases are the XState machine of registration.machine.ts, run on the
 * injected clock; this class provides its effects (requests, callbacks) and
 * its delays (jittered backoff, the heartbeat interval).
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { type Actor, createActor } from "xstate";
import { backoffDelay } from "../../infra/backoff.ts";
import type { Clock } from "../../infra/clock.ts";
import { DEFAULT_REREGISTRATION_BACKOFF_MAX_MS } from "../../infra/defaults.ts";
import type { Logger } from "../../infra/logger.ts";
import { machineClock } from "../../infra/machine-clock.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { request } from "../../infra/request.ts";
import type { RunningTask } from "../../protocol/agents.ts";
import type { Attributes, ResourcesJson } from "../../protocol/common.ts";
import { type AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import type { AgentCheckpointStore } from "./checkpoint.ts";
import { type RegistrationContext, registrationMachine } from "./registration.machine.ts";

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
  /** The agent principal its subjects to the master carry. */
  principal: string;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  store: AgentCheckpointStore;
  info: AgentInfo;
  /** First retry delay in ms; doubles with jitter. */
  backoffMs: number;
  /** Cap of the retry delay in ms. */
  backoffMaxMs: number;
  /**
   * Cap of the retry delay after a master the agent was registered with was lost (a failover),
   * at most `backoffMaxMs`. @default 4 s
   */
  reregistrationBackoffMaxMs?: number;
  /** Deadline of one register/reregister/heartbeat request in ms. */
  requestTimeoutMs: number;
  /** The tasks to report on reregistration. */
  runningTasks(): RunningTask[];
  /**
   * Recovery before the first (re)registration, with the checkpointed id
   * (Mesos's agent recovery: reattach executors). Its failure is logged and
   * registration goes on.
   */
  recover?(agentId: string | undefined): Promise<void>;
  /** The agent is (re)registered with `agentId`; `changed` when the id is new to this process. */
  onRegistered(agentId: string, changed: boolean): Promise<void>;
  /** The master is unreachable; the agent is reregistering. */
  onDisconnected(): void;
  /** The master refused to take the agent back: what runs under the old id must go. */
  onRefused(agentId: string, err: AgoraError): Promise<void>;
  /** Random numbers in [0, 1) for jitter. @default Math.random */
  random?: () => number;
}

/** Registration phases, as the Registrar reports them. */
export type RegistrationState = "idle" | "recovering" | "registering" | "registered" | "stopped";

/** Registers the agent and keeps it registered. */
export class Registrar {
  readonly #o: RegistrationOptionsResolved;
  readonly #actor: Actor<typeof registrationMachine>;
  #agentId: string | undefined;
  /** The id the callbacks were last told about. */
  #announcedId: string | undefined;
  #heartbeatInFlight = false;
  #inFlight: Promise<void> | undefined;
  #stopped = false;

  constructor(options: RegistrarOptions) {
    this.#o = {
      ...options,
      reregistrationBackoffMaxMs: Math.min(
        options.backoffMaxMs,
        options.reregistrationBackoffMaxMs ?? DEFAULT_REREGISTRATION_BACKOFF_MAX_MS,
      ),
    };
    const machine = registrationMachine.provide({
      actions: {
        recover: () => this.#track(this.#recover()),
        sendRegistration: () => this.#track(this.#register()),
        sendHeartbeat: ({ context }) => void this.#heartbeat(context.heartbeatMs),
        disconnected: () => this.#o.onDisconnected(),
      },
      delays: {
        retryDelay: ({ context }) => this.#delay(context),
        heartbeatInterval: ({ context }) => Math.max(10, context.heartbeatMs),
      },
    });
    this.#actor = createActor(machine, { clock: machineClock(options.clock) });
    this.#actor.start();
  }

  /** The agent's id, once known (from the checkpoint or the master). */
  get agentId(): string | undefined {
    return this.#agentId;
  }

  get state(): RegistrationState {
    const value = this.#actor.getSnapshot().value;
    return typeof value === "string" ? (value as RegistrationState) : "registering";
  }

  /** Loads the checkpointed id and starts recovering, then (re)registering; does not wait for the master. */
  async start(): Promise<void> {
    const checkpoint = await this.#o.store.loadAgent();
    this.#agentId = checkpoint?.agentId;
    this.#send({ type: "START" });
  }

  /** Reregisters now (the master asked for it, or lost track of the agent). */
  reregister(): void {
    this.#send({ type: "REREGISTER" });
  }

  /** Forgets the id: the next registration is a new agent's. */
  async forget(): Promise<void> {
    this.#agentId = undefined;
    await this.#o.store.clearAgent();
  }

  /** Stops heartbeats and retries; waits for a registration in flight. */
  async stop(): Promise<void> {
    this.#send({ type: "STOP" });
    this.#stopped = true;
    this.#actor.stop();
    await this.#inFlight;
  }

  #send(event: Parameters<Actor<typeof registrationMachine>["send"]>[0]): void {
    if (!this.#stopped) this.#actor.send(event);
  }

  #track(work: Promise<void>): void {
    const done = work
      .catch((err) => this.#o.logger.error({ err }, "registration step failed"))
      .finally(() => {
        if (this.#inFlight === done) this.#inFlight = undefined;
      });
    this.#inFlight = done;
  }

  /** The next retry delay: `backoff · 2^attempt` capped, then a uniform draw in its upper half. */
  #delay(context: RegistrationContext): number {
    const maxMs = context.lostMaster ? this.#o.reregistrationBackoffMaxMs : this.#o.backoffMaxMs;
    return Math.round(
      backoffDelay(
        { initialMs: this.#o.backoffMs, maxMs, jitter: 0.5 },
        context.attempt,
        this.#o.random,
      ),
    );
  }

  async #recover(): Promise<void> {
    await Promise.resolve();
    try {
      await this.#o.recover?.(this.#agentId);
    } catch (err) {
      this.#o.logger.error({ err }, "recovery failed; registering without it");
    }
    this.#send({ type: "RECOVERED" });
  }

  async #register(): Promise<void> {
    // Actions run inside the machine's transition: the request starts after it.
    await Promise.resolve();
    if (this.#stopped) return;
    const { nc, subjects, info, logger, metrics } = this.#o;
    const agentId = this.#agentId;
    let reply: MessageOf<"agent.registered">;
    try {
      if (agentId === undefined) {
        metrics.inc("registration_attempts");
        reply = await request(
          nc,
          subjects.masterRegister(this.#o.principal),
          { type: "agent.register", ...info },
          ["agent.registered"],
          this.#o.requestTimeoutMs,
        );
      } else {
        metrics.inc("reregistration_attempts");
        reply = await request(
          nc,
          subjects.masterAgent(agentId, this.#o.principal),
          { type: "agent.reregister", agentId, ...info, tasks: this.#o.runningTasks() },
          ["agent.registered"],
          this.#o.requestTimeoutMs,
        );
      }
    } catch (e) {
      const err = e as AgoraError;
      if (this.#stopped) return;
      if (agentId !== undefined && err.code !== undefined && !err.retryable && isRefusal(err)) {
        logger.warn({ agentId, code: err.code, reason: err.message }, "reregistration refused");
        metrics.inc("reregistrations_refused");
        await this.#o.onRefused(agentId, err);
        await this.forget();
        this.#send({ type: "REFUSED" });
        return;
      }
      logger.info(
        { code: err.code, reason: err.message },
        agentId === undefined ? "registration failed" : "reregistration failed",
      );
      this.#send({ type: "FAILED" });
      return;
    }
    if (this.#stopped) return;
    this.#agentId = reply.agentId;
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
    this.#send({ type: "REGISTERED", heartbeatMs: reply.heartbeatIntervalSeconds * 1000 });
  }

  async #heartbeat(periodMs: number): Promise<void> {
    const agentId = this.#agentId;
    if (this.state !== "registered" || agentId === undefined || this.#heartbeatInFlight) return;
    this.#heartbeatInFlight = true;
    try {
      const reply = await request(
        this.#o.nc,
        this.#o.subjects.masterAgent(agentId, this.#o.principal),
        { type: "agent.heartbeat" },
        ["ok", "agent.reregisterRequest"],
        Math.min(Math.max(10, periodMs), this.#o.requestTimeoutMs),
      );
      this.#o.metrics.inc("heartbeats");
      if (reply.type === "agent.reregisterRequest" && this.state === "registered") {
        this.reregister();
      }
    } catch (e) {
      const err = e as AgoraError;
      if (this.state !== "registered") return;
      if (err.code === ErrorCode.Timeout) {
        // The master may treat heartbeats as plain publishes; silence is not absence.
        this.#o.metrics.inc("heartbeats_unanswered");
      } else if (err.code === ErrorCode.Unavailable || isRefusal(err)) {
        this.#o.metrics.inc("heartbeats_failed");
        this.#o.logger.warn({ code: err.code, reason: err.message }, "master lost; reregistering");
        this.#send({ type: "MASTER_LOST" });
      } else {
        this.#o.metrics.inc("heartbeats_failed");
      }
    } finally {
      this.#heartbeatInFlight = false;
    }
  }
}

type RegistrationOptionsResolved = RegistrarOptions & { reregistrationBackoffMaxMs: number };

/** Errors by which a master says it will not take the agent (back) as it is. */
function isRefusal(err: AgoraError): boolean {
  return (
    err.code === ErrorCode.NotFound ||
    err.code === ErrorCode.Forbidden ||
    err.code === ErrorCode.InvalidState
  );
}

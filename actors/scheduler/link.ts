/**
 * The driver's link to the master: listening on the framework's event
 * subject, subscribing (retried with randomized doubling backoff until a
 * master answers), heartbeats every `heartbeatIntervalSeconds`, and
 * resubscription with the same framework id when the master falls silent, says
 * NOT_SUBSCRIBED, a new leader sends `event.resubscribe`, or NATS reconnects.
 * Its lifecycle is {@link linkMachine}; this class provides the machine's
 * effects over NATS. It knows nothing of what the other events mean.
 */

import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { type Actor, createActor } from "xstate";
import { backoffDelay } from "../../infra/backoff.ts";
import type { Clock } from "../../infra/clock.ts";
import {
  DEFAULT_RESUBSCRIBE_BACKOFF_MAX_MS,
  DEFAULT_RESUBSCRIBE_BACKOFF_MS,
  DEFAULT_RESUBSCRIBE_JITTER_MS,
  DEFAULT_RESUBSCRIBE_TIMEOUT_MS,
} from "../../infra/defaults.ts";
import { serve } from "../../infra/dispatch.ts";
import type { Logger } from "../../infra/logger.ts";
import { machineClock } from "../../infra/machine-clock.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { request } from "../../infra/request.ts";
import { encode } from "../../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { FrameworkInfo } from "../../protocol/frameworks.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import { ACCEPTED_TYPES, type AcceptedMessage } from "../../protocol/subject-routes.ts";
import { frameworkPrincipal, type Subjects } from "../../protocol/subjects.ts";
import { LinkPhase, linkMachine, phaseOf } from "./link.machine.ts";

/** One message on the framework's event subject (protocol/subject-routes.ts). */
export type FrameworkEventMessage = AcceptedMessage<"framework">;

/** Where the link (and so the driver) is in its life. */
export type LinkState = LinkPhase;

/**
 * True when an error (a reply, or an `event.error`) says that the master does
 * not have this framework subscribed: the driver must resubscribe.
 */
export function meansNotSubscribed(code: string, message: string): boolean {
  if (code === ErrorCode.NotSubscribed) return true;
  // TODO(issue 9): drop these two once every master answers NOT_SUBSCRIBED: a master without the
  // change says INVALID_STATE "… is not subscribed …", or NOT_FOUND "framework … is not known".
  if (code === ErrorCode.InvalidState) return message.includes("is not subscribed");
  return code === ErrorCode.NotFound && /\bframework \S+ is not known\b/.test(message);
}

/** What the link tells its owner. */
export interface LinkListener {
  /** Every valid message on the framework's subject, in arrival order, except what the link handles itself. */
  onEvent(msg: FrameworkEventMessage): void;
  /** A master accepted a (re)subscription. */
  onSubscribed(reply: MessageOf<"event.subscribed">, resubscribed: boolean): void;
  /** The master was lost; a resubscription is under way. */
  onLost(reason: string): void;
  /** The master refused the resubscription: the link gave up. */
  onFailed(error: AgoraError): void;
}

/** Settings of a {@link MasterLink}. */
export interface LinkOptions {
  nc: NatsConnection;
  subjects: Subjects;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** The framework, without its id (the link owns the id). */
  framework: Omit<FrameworkInfo, "frameworkId">;
  frameworkId: string;
  /** True when the id was chosen by the driver, not given by the user. */
  idChosenHere: boolean;
  suppressedRoles: string[] | undefined;
  requestTimeoutMs: number;
  backoffMs: number;
  backoffMaxMs: number;
  silenceIntervals: number;
  /** @default DEFAULT_RESUBSCRIBE_JITTER_MS */
  resubscribeJitterMs?: number;
  /** @default DEFAULT_RESUBSCRIBE_BACKOFF_MS */
  resubscribeBackoffMs?: number;
  /** @default DEFAULT_RESUBSCRIBE_BACKOFF_MAX_MS */
  resubscribeBackoffMaxMs?: number;
  random: () => number;
  listener: LinkListener;
}

/** The subscription of one framework to the master. */
export class MasterLink {
  readonly #o: LinkOptions;
  readonly #actor: Actor<typeof linkMachine>;
  #stopped = false;
  #frameworkId: string;
  #idChosenHere: boolean;
  /** False after a master refused the invented id: subscribe without one. */
  #sendId = true;
  #subscription: Subscription | undefined;
  #statusIterator: { stop(): void } | undefined;
  /** Numbers subscribe attempts: the answer of an abandoned one is dropped. */
  #attempt = 0;
  /** Numbers accepted subscriptions: a call's reply proves life only for its own. */
  #epoch = 0;
  /** The reply of the subscription the machine is told about. */
  #reply: MessageOf<"event.subscribed"> | undefined;
  #starting: { resolve(): void; reject(error: AgoraError): void } | undefined;

  constructor(options: LinkOptions) {
    this.#o = options;
    this.#frameworkId = options.frameworkId;
    this.#idChosenHere = options.idChosenHere;
    const machine = linkMachine.provide({
      actions: {
        sendSubscribe: () => {
          void this.#sendSubscribe(++this.#attempt);
        },
        sendHeartbeat: () => this.#publish({ type: "scheduler.heartbeat" }),
        notifySubscribed: (_, params) => this.#notifySubscribed(params.resubscribed),
        notifyLost: ({ context }) => this.#notifyLost(context.reason ?? "master lost"),
        notifyFailed: ({ context }) =>
          this.#notifyFailed(
            context.error ?? new AgoraError(ErrorCode.Internal, "subscription refused"),
          ),
      },
      delays: {
        subscribeBackoff: ({ context }) =>
          backoffDelay(
            { initialMs: context.backoffMs, maxMs: context.backoffMaxMs, jitter: 0.5 },
            context.attempt - 1,
            options.random,
          ),
        resubscribeJitter: ({ context }) =>
          Math.min(5, context.resubscribeJitterMs) +
          options.random() * Math.max(0, context.resubscribeJitterMs - 5),
        resubscribeBackoff: ({ context }) =>
          backoffDelay(
            {
              initialMs: context.resubscribeBackoffMs,
              maxMs: context.resubscribeBackoffMaxMs,
              jitter: 0.5,
            },
            context.attempt - 1,
            options.random,
          ),
      },
    });
    this.#actor = createActor(machine, {
      clock: machineClock(options.clock),
      input: {
        silenceIntervals: options.silenceIntervals,
        backoffMs: options.backoffMs,
        backoffMaxMs: options.backoffMaxMs,
        resubscribeJitterMs: options.resubscribeJitterMs ?? DEFAULT_RESUBSCRIBE_JITTER_MS,
        resubscribeBackoffMs: options.resubscribeBackoffMs ?? DEFAULT_RESUBSCRIBE_BACKOFF_MS,
        resubscribeBackoffMaxMs:
          options.resubscribeBackoffMaxMs ?? DEFAULT_RESUBSCRIBE_BACKOFF_MAX_MS,
      },
    });
  }

  get state(): LinkState {
    if (this.#stopped) return LinkPhase.Stopped;
    return phaseOf(this.#actor.getSnapshot().value);
  }

  get frameworkId(): string {
    return this.#frameworkId;
  }

  get masterId(): string | undefined {
    return this.#actor.getSnapshot().context.masterId;
  }

  /** True once a master accepted the framework. */
  get subscribedOnce(): boolean {
    return this.#actor.getSnapshot().context.subscribedOnce;
  }

  /**
   * Listens on the framework's subject, then subscribes until a master answers.
   * Resolves when it is subscribed, or stopped first.
   * @throws AgoraError the master's refusal (non-retryable error reply)
   */
  async start(): Promise<void> {
    if (this.state !== LinkPhase.Idle) {
      throw new AgoraError(ErrorCode.InvalidState, `driver cannot start: it is ${this.state}`);
    }
    const started = new Promise<void>((resolve, reject) => {
      this.#starting = { resolve, reject };
    });
    this.#listen(this.#frameworkId);
    this.#watchConnection();
    this.#actor.start();
    this.#actor.send({ type: "START" });
    await started;
  }

  /** Stops timers, retries and the subscription to the events. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#actor.send({ type: "STOP" });
    this.#actor.stop();
    this.#starting?.resolve();
    this.#starting = undefined;
    this.#statusIterator?.stop();
    this.#statusIterator = undefined;
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  /**
   * A call to the master as a request; resolves on `ok`. A reply proves the
   * master alive; a NOT_SUBSCRIBED reply starts a resubscription.
   * @throws AgoraError INVALID_STATE before the first subscription, after stop or
   *   a refusal; NOT_SUBSCRIBED (retryable) while resubscribing; the master's error
   */
  async call(msg: Message): Promise<void> {
    const state = this.state;
    if (!this.subscribedOnce || state === LinkPhase.Stopped || state === LinkPhase.Failed) {
      throw new AgoraError(
        ErrorCode.InvalidState,
        `${msg.type} needs a subscribed driver (the driver is ${state})`,
      );
    }
    if (state !== LinkPhase.Subscribed) {
      throw new AgoraError(
        ErrorCode.NotSubscribed,
        `${msg.type}: the driver is resubscribing to the master (${state}); retry`,
      );
    }
    const epoch = this.#epoch;
    try {
      await request(
        this.#o.nc,
        this.#o.subjects.masterFramework(this.#principal, this.#frameworkId),
        msg,
        ["ok"],
        this.#o.requestTimeoutMs,
      );
    } catch (err) {
      const error = AgoraError.from(err);
      if (!meansNotSubscribed(error.code, error.message)) throw error;
      if (epoch === this.#epoch) this.#send({ type: "NOT_SUBSCRIBED", reason: error.message });
      throw new AgoraError(ErrorCode.NotSubscribed, `${msg.type}: ${error.message}`, {
        cause: error,
      });
    }
    if (epoch === this.#epoch) this.#send({ type: "MASTER_ALIVE" });
  }

  // ---- the machine's effects ----------------------------------------------

  #send(event: Parameters<Actor<typeof linkMachine>["send"]>[0]): void {
    if (!this.#stopped) this.#actor.send(event);
  }

  /** The principal the framework's subjects carry (its FrameworkInfo's). */
  get #principal(): string {
    return frameworkPrincipal(this.#o.framework);
  }

  #frameworkInfo(): FrameworkInfo {
    return { ...this.#o.framework, frameworkId: this.#sendId ? this.#frameworkId : undefined };
  }

  /** One subscribe attempt; the machine learns its outcome unless it moved on meanwhile. */
  async #sendSubscribe(attempt: number): Promise<void> {
    const { nc, subjects } = this.#o;
    const current = () => attempt === this.#attempt && !this.#stopped;
    const timeoutMs = this.subscribedOnce
      ? Math.min(this.#o.requestTimeoutMs, DEFAULT_RESUBSCRIBE_TIMEOUT_MS)
      : this.#o.requestTimeoutMs;
    for (;;) {
      try {
        const reply = await request(
          nc,
          subjects.masterSubscribe(this.#principal),
          {
            type: "scheduler.subscribe",
            framework: this.#frameworkInfo(),
            suppressedRoles: this.#o.suppressedRoles,
          },
          ["event.subscribed"],
          timeoutMs,
        );
        if (!current()) return;
        if (reply.frameworkId !== this.#frameworkId) {
          // The master assigned another id: listen there, in place on the server before going on.
          this.#frameworkId = reply.frameworkId;
          this.#listen(reply.frameworkId);
          await nc.flush();
          if (!current()) return;
        }
        this.#idChosenHere = false;
        this.#sendId = true;
        this.#reply = reply;
        this.#send({
          type: "SUBSCRIBED",
          masterId: reply.masterId,
          heartbeatIntervalMs: reply.heartbeatIntervalSeconds * 1000,
        });
        // A first call tells the master that this framework listens on its event subject
        // (NATS keeps a connection's order): it is offered at once, not one allocation
        // interval after subscribing.
        this.#publish({ type: "scheduler.heartbeat" });
        return;
      } catch (err) {
        if (!current()) return;
        const error = AgoraError.from(err);
        if (
          !error.retryable &&
          this.#idChosenHere &&
          !this.subscribedOnce &&
          error.code === ErrorCode.NotFound
        ) {
          // A master that does not let new frameworks pick their id: let it assign one.
          this.#idChosenHere = false;
          this.#sendId = false;
          this.#o.logger.debug({ reason: error.message }, "master refused the chosen id");
          continue;
        }
        if (error.retryable) {
          const failures = this.#actor.getSnapshot().context.attempt;
          this.#o.metrics.inc("subscribe_retries");
          this.#o.logger[failures === 0 ? "info" : "debug"](
            { code: error.code, reason: error.message, attempt: failures + 1 },
            "waiting for a master",
          );
        }
        this.#send({ type: "SUBSCRIBE_FAILED", error });
        return;
      }
    }
  }

  #notifySubscribed(resubscribed: boolean): void {
    const reply = this.#reply;
    if (reply === undefined) return;
    this.#epoch++;
    this.#o.metrics.inc(resubscribed ? "resubscriptions" : "subscriptions");
    this.#o.logger.info(
      { frameworkId: reply.frameworkId, masterId: reply.masterId, resubscribed },
      "framework subscribed",
    );
    this.#starting?.resolve();
    this.#starting = undefined;
    this.#o.listener.onSubscribed(reply, resubscribed);
  }

  #notifyLost(reason: string): void {
    this.#epoch++;
    this.#o.metrics.inc("masters_lost");
    // expected with several masters; the driver's `disconnected` event is what users see
    this.#o.logger.info({ reason }, "master lost; resubscribing");
    this.#o.listener.onLost(reason);
  }

  #notifyFailed(error: AgoraError): void {
    const starting = this.#starting;
    this.#starting = undefined;
    if (starting !== undefined) {
      starting.reject(error);
      return;
    }
    this.#o.logger.error({ code: error.code, reason: error.message }, "resubscription refused");
    this.#o.listener.onFailed(error);
  }

  /** A plain publish to the master (heartbeats); failures come back as `event.error`. */
  #publish(msg: Message): void {
    const { nc } = this.#o;
    if (nc.isClosed() || this.#stopped) return;
    try {
      nc.publish(this.#o.subjects.masterFramework(this.#principal, this.#frameworkId), encode(msg));
    } catch (err) {
      this.#o.logger.debug({ err }, "publish failed");
    }
  }

  /** After a NATS reconnect the master may have missed us (or we it): resubscribe. */
  #watchConnection(): void {
    const statuses = this.#o.nc.status();
    if ("stop" in statuses && typeof statuses.stop === "function") {
      this.#statusIterator = statuses as unknown as { stop(): void };
    }
    void (async () => {
      try {
        for await (const status of statuses) {
          if (this.#stopped) break;
          if (status.type === "reconnect") this.#send({ type: "NATS_RECONNECTED" });
        }
      } catch (err) {
        this.#o.logger.debug({ err }, "status iterator ended");
      }
    })();
  }

  #listen(frameworkId: string): void {
    this.#subscription?.unsubscribe();
    this.#subscription = serve(
      this.#o.nc,
      this.#o.subjects.framework(this.#principal, frameworkId),
      { types: ACCEPTED_TYPES.framework, logger: this.#o.logger, metrics: this.#o.metrics },
      (msg) => {
        this.#receive(msg);
        return undefined;
      },
    );
  }

  /** Signs of life and of loss are the link's; every other event goes to the owner. */
  #receive(msg: FrameworkEventMessage): void {
    switch (msg.type) {
      case "event.heartbeat":
        this.#send({ type: "MASTER_ALIVE" });
        break;
      case "event.subscribed":
        if (msg.masterId === this.masterId) this.#send({ type: "MASTER_ALIVE" });
        break;
      case "event.resubscribe":
        this.#o.metrics.inc("resubscribe_requests");
        if (msg.masterId === this.masterId && this.state === LinkPhase.Subscribed) {
          // The master we are subscribed to asks again: it lost its lead and took it back
          // (a fresh term that does not know us), or this is a late copy of the request we
          // already followed. A heartbeat as a request tells which: NOT_SUBSCRIBED resubscribes.
          this.#o.logger.info({ masterId: msg.masterId }, "the master asks to resubscribe again");
          this.call({ type: "scheduler.heartbeat" }).catch((err: unknown) => {
            this.#o.logger.debug({ err }, "heartbeat probe after event.resubscribe failed");
          });
          return;
        }
        this.#o.logger.info({ masterId: msg.masterId }, "a new leader asks to resubscribe");
        this.#send({ type: "RESUBSCRIBE", masterId: msg.masterId });
        return;
      case "event.error":
        if (meansNotSubscribed(msg.code, msg.message)) {
          this.#o.metrics.inc("not_subscribed_errors");
          if (this.state === LinkPhase.Subscribed) {
            this.#send({ type: "NOT_SUBSCRIBED", reason: msg.message });
          }
          return;
        }
        break;
    }
    this.#o.listener.onEvent(msg);
  }
}

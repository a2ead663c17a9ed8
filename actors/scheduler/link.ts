/**
 * The driver's link to the master: listening on the framework's event
 * subject, subscribing (retried with randomized doubling backoff until a
 * master answers), heartbeats every `heartbeatIntervalSeconds`, and
 * resubscription with the same framework id when the master falls silent or
 * NATS reconnects. It knows nothing of what the events mean.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Clock, Timer } from "../../infra/clock.ts";
import { serve } from "../../infra/dispatch.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { request } from "../../infra/request.ts";
import { encode } from "../../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { FrameworkInfo } from "../../protocol/frameworks.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import type { Subjects } from "../../protocol/subjects.ts";

/** The event types a framework receives on its subject. */
export const FRAMEWORK_EVENT_TYPES = [
  "event.subscribed",
  "event.offers",
  "event.rescind",
  "event.update",
  "event.message",
  "event.failure",
  "event.error",
  "event.heartbeat",
] as const;
/** One message on the framework's event subject. */
export type FrameworkEventMessage = MessageOf<(typeof FRAMEWORK_EVENT_TYPES)[number]>;

/** Where the link (and so the driver) is in its life. */
export type LinkState =
  | "idle"
  | "subscribing"
  | "subscribed"
  | "disconnected"
  | "failed"
  | "stopped";

/** What the link tells its owner. */
export interface LinkListener {
  /** Every valid message on the framework's subject, in arrival order. */
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
  random: () => number;
  listener: LinkListener;
}

/** The subscription of one framework to the master. */
export class MasterLink {
  readonly #o: LinkOptions;
  #state: LinkState = "idle";
  #frameworkId: string;
  #idChosenHere: boolean;
  /** False after a master refused the invented id: subscribe without one. */
  #sendId = true;
  #masterId: string | undefined;
  #subscribedOnce = false;
  #subscription: Subscription | undefined;
  #heartbeatTimer: Timer | undefined;
  #watchdogTimer: Timer | undefined;
  #lastHeard = 0;
  #statusIterator: { stop(): void } | undefined;
  /** Wakes a backoff sleep early when the link stops. */
  #wake: (() => void) | undefined;
  #resubscribing: Promise<void> | undefined;

  constructor(options: LinkOptions) {
    this.#o = options;
    this.#frameworkId = options.frameworkId;
    this.#idChosenHere = options.idChosenHere;
  }

  get state(): LinkState {
    return this.#state;
  }

  get frameworkId(): string {
    return this.#frameworkId;
  }

  get masterId(): string | undefined {
    return this.#masterId;
  }

  /** True once a master accepted the framework. */
  get subscribedOnce(): boolean {
    return this.#subscribedOnce;
  }

  /**
   * Listens on the framework's subject, then subscribes until a master answers.
   * @throws AgoraError the master's refusal (non-retryable error reply)
   */
  async start(): Promise<void> {
    if (this.#state !== "idle") {
      throw new AgoraError(ErrorCode.InvalidState, `driver cannot start: it is ${this.#state}`);
    }
    this.#state = "subscribing";
    this.#listen(this.#frameworkId);
    this.#watchConnection();
    await this.#subscribe();
  }

  /** Stops timers, retries and the subscription to the events. Idempotent. */
  stop(): void {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    this.#cancelTimers();
    this.#wake?.();
    this.#statusIterator?.stop();
    this.#statusIterator = undefined;
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  /**
   * A call to the master as a request; resolves on `ok`.
   * @throws AgoraError INVALID_STATE before the first subscription or after stop; the master's error
   */
  async call(msg: Message): Promise<void> {
    if (!this.#subscribedOnce || this.#state === "stopped") {
      throw new AgoraError(
        ErrorCode.InvalidState,
        `${msg.type} needs a subscribed driver (the driver is ${this.#state})`,
      );
    }
    await request(
      this.#o.nc,
      this.#o.subjects.masterFramework(this.#frameworkId),
      msg,
      ["ok"],
      this.#o.requestTimeoutMs,
    );
  }

  // ---- subscription -------------------------------------------------------

  /** Read through a method: TypeScript would keep a narrowed state across awaits. */
  #isStopped(): boolean {
    return this.#state === "stopped";
  }

  #frameworkInfo(): FrameworkInfo {
    return { ...this.#o.framework, frameworkId: this.#sendId ? this.#frameworkId : undefined };
  }

  /** Sends `scheduler.subscribe` until a master answers; retryable failures back off. */
  async #subscribe(): Promise<void> {
    const { nc, subjects, backoffMs, backoffMaxMs } = this.#o;
    for (let attempt = 0; !this.#isStopped(); attempt++) {
      try {
        const reply = await request(
          nc,
          subjects.masterSubscribe(),
          {
            type: "scheduler.subscribe",
            framework: this.#frameworkInfo(),
            suppressedRoles: this.#o.suppressedRoles,
          },
          ["event.subscribed"],
          this.#o.requestTimeoutMs,
        );
        if (this.#isStopped()) return;
        if (reply.frameworkId !== this.#frameworkId) {
          // The master assigned another id: listen there, in place on the server before going on.
          this.#frameworkId = reply.frameworkId;
          this.#listen(reply.frameworkId);
          await nc.flush();
        }
        this.#subscribed(reply);
        return;
      } catch (err) {
        const error = AgoraError.from(err);
        if (!error.retryable) {
          if (this.#idChosenHere && !this.#subscribedOnce && error.code === ErrorCode.NotFound) {
            // A master that does not let new frameworks pick their id: let it assign one.
            this.#idChosenHere = false;
            this.#sendId = false;
            this.#o.logger.debug({ reason: error.message }, "master refused the chosen id");
            continue;
          }
          throw error;
        }
        const backoff = Math.min(backoffMaxMs, backoffMs * 2 ** Math.min(attempt, 20));
        const delay = backoff * (0.5 + this.#o.random() / 2);
        this.#o.metrics.inc("subscribe_retries");
        this.#o.logger[attempt === 0 ? "info" : "debug"](
          { code: error.code, reason: error.message, retryInMs: Math.round(delay) },
          "waiting for a master",
        );
        await this.#sleep(delay);
      }
    }
  }

  #subscribed(reply: MessageOf<"event.subscribed">): void {
    this.#idChosenHere = false;
    this.#sendId = true;
    this.#masterId = reply.masterId;
    this.#state = "subscribed";
    this.#lastHeard = this.#o.clock.now();
    this.#startTimers(reply.heartbeatIntervalSeconds * 1000);
    const resubscribed = this.#subscribedOnce;
    this.#subscribedOnce = true;
    this.#o.metrics.inc(resubscribed ? "resubscriptions" : "subscriptions");
    this.#o.logger.info(
      { frameworkId: reply.frameworkId, masterId: reply.masterId, resubscribed },
      "framework subscribed",
    );
    this.#o.listener.onSubscribed(reply, resubscribed);
  }

  /** The master went silent or NATS reconnected: resubscribe with the same id. */
  #lost(reason: string): void {
    if (this.#state !== "subscribed") return;
    this.#state = "disconnected";
    this.#cancelTimers();
    this.#o.logger.warn({ reason }, "master lost; resubscribing");
    this.#o.listener.onLost(reason);
    this.#resubscribing ??= this.#subscribe()
      .catch((err: unknown) => {
        if (this.#isStopped()) return;
        this.#state = "failed";
        const error = AgoraError.from(err);
        this.#o.logger.error({ code: error.code, reason: error.message }, "resubscription refused");
        this.#o.listener.onFailed(error);
      })
      .finally(() => {
        this.#resubscribing = undefined;
      });
  }

  #startTimers(intervalMs: number): void {
    this.#cancelTimers();
    const silenceMs = intervalMs * this.#o.silenceIntervals;
    this.#heartbeatTimer = this.#o.clock.every(intervalMs, () =>
      this.#publish({ type: "scheduler.heartbeat" }),
    );
    this.#watchdogTimer = this.#o.clock.every(intervalMs, () => {
      const quiet = this.#o.clock.now() - this.#lastHeard;
      if (quiet > silenceMs) this.#lost(`no event from the master for ${quiet} ms`);
    });
  }

  #cancelTimers(): void {
    this.#heartbeatTimer?.cancel();
    this.#watchdogTimer?.cancel();
    this.#heartbeatTimer = undefined;
    this.#watchdogTimer = undefined;
  }

  /** A plain publish to the master (heartbeats); failures come back as `event.error`. */
  #publish(msg: Message): void {
    const { nc } = this.#o;
    if (nc.isClosed() || this.#state === "stopped") return;
    try {
      nc.publish(this.#o.subjects.masterFramework(this.#frameworkId), encode(msg));
    } catch (err) {
      this.#o.logger.debug({ err }, "publish failed");
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#o.clock.after(ms, () => {
        this.#wake = undefined;
        resolve();
      });
      this.#wake = () => {
        timer.cancel();
        this.#wake = undefined;
        resolve();
      };
    });
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
          if (this.#isStopped()) break;
          if (status.type === "reconnect") this.#lost("NATS reconnected");
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
      this.#o.subjects.framework(frameworkId),
      { types: FRAMEWORK_EVENT_TYPES, logger: this.#o.logger, metrics: this.#o.metrics },
      (msg) => {
        this.#lastHeard = this.#o.clock.now();
        this.#o.listener.onEvent(msg);
        return undefined;
      },
    );
  }
}

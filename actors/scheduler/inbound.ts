/**
 * The framework's inbound events as the driver delivers them: each master
 * event becomes a typed driver event; status updates are deduplicated by uuid
 * (a window that outlives resubscriptions, so that updates resent after a
 * failover are delivered once), recorded for reconciliation, and acknowledged
 * after their handlers ran.
 */
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import type { TaskStatus } from "../../protocol/common.ts";
import { AgoraError } from "../../protocol/errors.ts";
import type { SchedulerEventMap, SchedulerEventName } from "./events.ts";
import type { FrameworkEventMessage } from "./link.ts";

/** What the {@link Inbound} needs of its driver. */
export interface InboundOptions {
  logger: Logger;
  metrics: Metrics;
  /** Acknowledge every update with a uuid after its handlers ran, and drop duplicates. */
  autoAcknowledge: boolean;
  /** Update uuids remembered to drop duplicates. */
  window: number;
  deliver<K extends SchedulerEventName>(type: K, payload: SchedulerEventMap[K]): Promise<void>;
  acknowledge(status: TaskStatus): Promise<void>;
  /** Every update delivered (not the duplicates), before its handlers run. */
  observe(status: TaskStatus): void;
  stopped(): boolean;
}

/** Turns master events into driver events; see the module comment. */
export class Inbound {
  readonly #o: InboundOptions;
  readonly #seen = new Set<string>();
  /** Acknowledgements in flight; a teardown lets them reach the master first. */
  readonly #pendingAcks = new Set<Promise<void>>();

  constructor(options: InboundOptions) {
    this.#o = options;
  }

  /** Resolves once the acknowledgements in flight are settled. */
  async acknowledgementsSettled(): Promise<void> {
    await Promise.allSettled([...this.#pendingAcks]);
  }

  async handle(msg: FrameworkEventMessage): Promise<void> {
    const deliver = this.#o.deliver;
    switch (msg.type) {
      case "event.subscribed":
      case "event.resubscribe":
        // The link acts on these (liveness, resubscription); the subscribe reply drives the driver.
        return;
      case "event.heartbeat":
        return deliver("heartbeat", {});
      case "event.offers":
        return deliver(
          "offers",
          msg.gangId === undefined
            ? { offers: msg.offers }
            : { offers: msg.offers, gangId: msg.gangId },
        );
      case "event.gangTimedOut":
        return deliver("gangTimedOut", {
          gangId: msg.gangId,
          reason: msg.reason,
          backoffSeconds: msg.backoffSeconds,
        });
      case "event.rescind":
        return deliver("rescind", { offerId: msg.offerId });
      case "event.inverseOffers":
        return deliver("inverseOffers", { inverseOffers: msg.inverseOffers });
      case "event.rescindInverseOffer":
        return deliver("rescindInverseOffer", { inverseOfferId: msg.inverseOfferId });
      case "event.update":
        return this.#update(msg.status);
      case "event.message":
        return deliver("message", {
          agentId: msg.agentId,
          executorId: msg.executorId,
          data: msg.data,
        });
      case "event.failure":
        return deliver("failure", {
          agentId: msg.agentId,
          executorId: msg.executorId,
          status: msg.status,
        });
      case "event.error":
        this.#o.logger.warn({ code: msg.code, reason: msg.message }, "error event from the master");
        return deliver("error", { error: new AgoraError(msg.code, msg.message) });
    }
  }

  async #update(status: TaskStatus): Promise<void> {
    const uuid = status.uuid;
    const autoAck = this.#o.autoAcknowledge;
    if (autoAck && uuid !== undefined) {
      if (this.#seen.has(uuid)) {
        // A retried update whose acknowledgement was lost: acknowledge again, do not deliver.
        this.#o.metrics.inc("updates_duplicate");
        this.#ack(status);
        return;
      }
      this.#remember(uuid);
    }
    this.#o.observe(status);
    await this.#o.deliver("update", { status });
    if (autoAck && uuid !== undefined) this.#ack(status);
  }

  #remember(uuid: string): void {
    this.#seen.add(uuid);
    if (this.#seen.size > this.#o.window) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  #ack(status: TaskStatus): void {
    if (this.#o.stopped()) return;
    const pending: Promise<void> = this.#o.acknowledge(status).then(
      () => {
        this.#pendingAcks.delete(pending);
        this.#o.metrics.inc("updates_acknowledged");
      },
      (err: unknown) => {
        this.#pendingAcks.delete(pending);
        const error = AgoraError.from(err);
        this.#o.metrics.inc("acknowledgements_failed");
        this.#o.logger[this.#o.stopped() ? "debug" : "warn"](
          { taskId: status.taskId, uuid: status.uuid, code: error.code, reason: error.message },
          "acknowledgement failed; the agent will resend the update",
        );
      },
    );
    this.#pendingAcks.add(pending);
  }
}

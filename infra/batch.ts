/**
 * The batching publisher: published (non-request) messages are queued per
 * subject and go out together, as one `batch` envelope per subject, when the
 * current task ends (a microtask) — so everything an actor produces while
 * NATS delivers one socket read leaves in a few payloads. A subject with a
 * single queued message gets it plain, so low-rate traffic is unchanged.
 * Requests and replies never go through here.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { encode, encodeBatch, MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES } from "../protocol/codec.ts";
import type { Message } from "../protocol/registry.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";

/** Where a {@link Batcher} publishes: a NATS connection, or a stand-in in tests. */
export type Publisher = Pick<NatsConnection, "publish">;

/** Options of a {@link Batcher}. */
export interface BatcherOptions {
  logger: Logger;
  /** Counts `messages_sent` (logical messages), `batches_sent` and `messages_send_failed`. */
  metrics: Metrics;
  /** Most messages in one envelope. @default MAX_BATCH_MESSAGES */
  maxMessages?: number;
  /** Most bytes of one envelope. @default MAX_MESSAGE_BYTES */
  maxBytes?: number;
}

/** Queues published messages per subject and publishes them together; see the module comment. */
export class Batcher {
  readonly #nc: Publisher;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  /** Queued messages per subject, in order of first appearance since the last flush. */
  #queues = new Map<string, Message[]>();
  #scheduled = false;
  readonly #onMicrotask = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(nc: Publisher, options: BatcherOptions) {
    this.#nc = nc;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#maxMessages = Math.max(
      1,
      Math.min(options.maxMessages ?? MAX_BATCH_MESSAGES, MAX_BATCH_MESSAGES),
    );
    this.#maxBytes = Math.min(options.maxBytes ?? MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
  }

  /** Queues `msg` for `subject`; it is published at the end of the current task at the latest. */
  publish(subject: string, msg: Message): void {
    const queue = this.#queues.get(subject);
    if (queue === undefined) {
      this.#queues.set(subject, [msg]);
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(this.#onMicrotask);
      }
    } else if (queue.length >= this.#maxMessages) {
      // full: out now; `msg` starts the subject's queue again, in the same place
      this.#send(subject, queue);
      this.#queues.set(subject, [msg]);
    } else {
      queue.push(msg);
    }
  }

  /** Publishes everything queued now, subjects in order of first appearance. */
  flush(): void {
    if (this.#queues.size === 0) return;
    const queues = this.#queues;
    this.#queues = new Map();
    for (const [subject, queue] of queues) this.#send(subject, queue);
  }

  /** Messages queued and not yet published. */
  get pending(): number {
    let n = 0;
    for (const queue of this.#queues.values()) n += queue.length;
    return n;
  }

  /**
   * One message goes plain, several as one envelope; an envelope over the byte cap is
   * split in halves (the messages are encoded only once in the usual case).
   */
  #send(subject: string, messages: readonly Message[]): void {
    const n = messages.length;
    try {
      if (n === 1) {
        this.#nc.publish(subject, encode(messages[0] as Message));
      } else {
        const data = encodeBatch(messages);
        if (data.byteLength > this.#maxBytes) {
          const half = n >>> 1;
          this.#send(subject, messages.slice(0, half));
          this.#send(subject, messages.slice(half));
          return;
        }
        this.#nc.publish(subject, data);
        this.#metrics.inc("batches_sent");
      }
      this.#metrics.inc("messages_sent", n);
    } catch (err) {
      this.#metrics.inc("messages_send_failed", n);
      this.#logger.warn({ err, subject, messages: n }, "publish failed");
    }
  }
}

/**
 * The batching publisher: published (non-request) messages are queued per
 * subject and go out together, as one `batch` envelope per subject, when the
 * current task ends (a microtask; or the event-loop turn, `until: "turn"`) —
 * so everything an actor produces while NATS delivers one socket read leaves
 * in a few payloads. A subject with a
 * single queued message gets it plain, so low-rate traffic is unchanged.
 * Requests and replies never go through here.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import {
  BATCH_OVERHEAD,
  encode,
  encodeBatchOf,
  encodeElement,
  MAX_BATCH_MESSAGES,
  MAX_MESSAGE_BYTES,
  versioned,
} from "../protocol/codec.ts";
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
  /**
   * When the queued messages go out: at the end of the current task (`"task"`, a
   * microtask), or of the event-loop turn (`"turn"`, `setImmediate`): then what the
   * callbacks of one poll phase publish (e.g. the exits of several child processes,
   * each a task of its own) leaves together. @default "task"
   */
  until?: "task" | "turn";
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
  readonly #turn: boolean;
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
    this.#turn = options.until === "turn";
  }

  /** Queues `msg` for `subject`; it is published at the end of the current task (or turn) at the latest. */
  publish(subject: string, msg: Message): void {
    const queue = this.#queues.get(subject);
    if (queue === undefined) {
      this.#queues.set(subject, [msg]);
      if (!this.#scheduled) {
        this.#scheduled = true;
        if (this.#turn) setImmediate(this.#onMicrotask);
        else queueMicrotask(this.#onMicrotask);
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
   * One message goes plain, several as envelopes of at most `maxBytes`; each
   * message is encoded once, and an envelope is its elements' bytes copied
   * after a header.
   */
  #send(subject: string, messages: readonly Message[]): void {
    const n = messages.length;
    let elements: Uint8Array[];
    try {
      if (n === 1) {
        this.#publish(subject, encode(messages[0] as Message), 1);
        return;
      }
      elements = messages.map(encodeElement);
    } catch (err) {
      this.#failed(err, subject, n);
      return;
    }
    let from = 0;
    let bytes = BATCH_OVERHEAD;
    for (let i = 0; i < n; i++) {
      const length = (elements[i] as Uint8Array).length;
      if (i > from && bytes + length > this.#maxBytes) {
        this.#sendElements(subject, elements, from, i);
        from = i;
        bytes = BATCH_OVERHEAD;
      }
      bytes += length;
    }
    this.#sendElements(subject, elements, from, n);
  }

  /** Elements `from` to `to` (excluded) as one payload: a plain message when there is one. */
  #sendElements(subject: string, elements: readonly Uint8Array[], from: number, to: number): void {
    try {
      if (to - from === 1) {
        this.#publish(subject, versioned(elements[from] as Uint8Array), 1);
      } else {
        this.#publish(subject, encodeBatchOf(elements, from, to), to - from);
        this.#metrics.inc("batches_sent");
      }
    } catch (err) {
      this.#failed(err, subject, to - from);
    }
  }

  #publish(subject: string, data: Uint8Array, messages: number): void {
    this.#nc.publish(subject, data);
    this.#metrics.inc("messages_sent", messages);
  }

  #failed(err: unknown, subject: string, messages: number): void {
    this.#metrics.inc("messages_send_failed", messages);
    this.#logger.warn({ err, subject, messages }, "publish failed");
  }
}

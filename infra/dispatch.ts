/**
 * The one inbound path of every actor: decode → validate → route → catch →
 * reply with an error or count. A bad message never stops an actor.
 */
import type { Msg, MsgHdrs, NatsConnection, Subscription } from "@nats-io/nats-core";
import { decodeMessages, encode, encodeError } from "../protocol/codec.ts";
import { AgoraError, ErrorCode, ProtocolError } from "../protocol/errors.ts";
import type { Message, MessageOf, MessageType } from "../protocol/registry.ts";
import type { Logger } from "./logger.ts";
import type { Cell, Metrics } from "./metrics.ts";

/** What a handler learns about the message besides its body. */
export interface MessageContext {
  /** The subject the message arrived on. */
  subject: string;
  /** The reply subject, when the sender made a request. */
  reply: string | undefined;
  /** The NATS headers of the message (e.g. an executor's token), when it has any. */
  headers?: MsgHdrs | undefined;
}

/**
 * A handler: returns the reply message for a request, or nothing (a request
 * then gets `{type: "ok"}`). Throwing an {@link AgoraError} replies with it.
 */
export type Handler<T extends MessageType> = (
  msg: MessageOf<T>,
  ctx: MessageContext,
) => Message | undefined | Promise<Message | undefined>;

/** Options of {@link serve}. */
export interface ServeOptions<T extends MessageType> {
  /** The message types accepted on this subject. */
  types: readonly T[];
  logger: Logger;
  metrics: Metrics;
  /** A queue group, to spread the subject over several subscribers. */
  queue?: string;
  /**
   * Called when a message that is not a request is rejected before reaching the handler
   * (undecodable, invalid or of a type not accepted here), e.g. to tell its sender by another way.
   */
  onReject?: (error: AgoraError, ctx: MessageContext) => void;
  /**
   * Called before every reply is sent, e.g. the actor's `Batcher.flush`, so that a
   * reply never overtakes the messages the handler published before it.
   */
  beforeReply?: () => void;
  /**
   * Whether the actor may answer now (e.g. a master that holds its lease).
   * When false at the moment a reply would go out — an ordinary reply, an
   * error reply, or a late reply of an asynchronous handler — nothing is sent
   * (counted `replies_dropped_inactive`): the sender times out and retries.
   * @default always
   */
  active?: () => boolean;
}

/**
 * Subscribes to `subject` and dispatches every valid message of the accepted
 * types to `handler`. Invalid messages are answered with an error reply when
 * they are requests, otherwise logged and counted (`messages_invalid`, and
 * `invalid_messages{reason}` by error code); valid ones by type (`messages{type}`).
 * A `batch` is unpacked and each element dispatched in order as if it had
 * come alone; a batch sent as a request is refused.
 */
export function serve<T extends MessageType>(
  nc: NatsConnection,
  subject: string,
  options: ServeOptions<T>,
  handler: Handler<T>,
): Subscription {
  const { logger, metrics, beforeReply } = options;
  // one pre-bound counter child per accepted type: counting by type costs no extra lookup
  const accepted: ReadonlyMap<string, Cell> = new Map(
    options.types.map((type) => [type, metrics.cell("messages", "type", type)]),
  );
  const reply = (m: Msg, data: () => Uint8Array) => {
    if (!m.reply) return;
    if (options.active !== undefined && !options.active()) {
      metrics.inc("replies_dropped_inactive");
      return;
    }
    if (beforeReply) {
      try {
        beforeReply();
      } catch (err) {
        logger.error({ err, subject: m.subject }, "flush before reply failed");
      }
    }
    m.respond(data());
  };
  const fail = (m: Msg, err: unknown, counter: string) => {
    const error = AgoraError.from(err);
    metrics.inc(counter);
    if (counter === "messages_invalid")
      metrics.incLabeled("invalid_messages", "reason", error.code);
    if (error.code === ErrorCode.Internal) {
      logger.error({ err, subject: m.subject }, "handler failed");
    } else {
      logger.warn(
        { code: error.code, reason: error.message, subject: m.subject },
        "message rejected",
      );
    }
    reply(m, () => encodeError(error));
  };
  const reject = (m: Msg, err: unknown) => {
    fail(m, err, "messages_invalid");
    if (!m.reply && options.onReject) {
      try {
        options.onReject(AgoraError.from(err), { subject: m.subject, reply: undefined });
      } catch (hookError) {
        logger.error({ err: hookError, subject: m.subject }, "reject hook failed");
      }
    }
  };
  const respond = (m: Msg, result: Message | undefined) => {
    reply(m, () => encode(result ?? { type: "ok" }));
  };
  const dispatch = (m: Msg, msg: Message | ProtocolError, ctx: MessageContext) => {
    if (msg instanceof ProtocolError) {
      reject(m, msg);
      return;
    }
    const received = accepted.get(msg.type);
    if (received === undefined) {
      reject(
        m,
        new ProtocolError(
          ErrorCode.UnknownType,
          `message type ${msg.type} is not accepted on this subject`,
        ),
      );
      return;
    }
    metrics.inc("messages_received");
    received.value++;
    try {
      const result = handler(msg as MessageOf<T>, ctx);
      if (result instanceof Promise) {
        result.then(
          (r) => respond(m, r),
          (e) => fail(m, e, "messages_failed"),
        );
      } else {
        respond(m, result);
      }
    } catch (e) {
      fail(m, e, "messages_failed");
    }
  };
  return nc.subscribe(subject, {
    queue: options.queue,
    callback: (err, m) => {
      if (err) {
        logger.error({ err, subject }, "subscription failed");
        return;
      }
      let messages: Array<Message | ProtocolError>;
      try {
        messages = decodeMessages(m.data, !m.reply);
      } catch (e) {
        reject(m, e);
        return;
      }
      const ctx: MessageContext = {
        subject: m.subject,
        reply: m.reply || undefined,
        headers: m.headers,
      };
      if (messages.length === 1) {
        dispatch(m, messages[0] as Message | ProtocolError, ctx);
        return;
      }
      metrics.inc("batches_received");
      for (const msg of messages) dispatch(m, msg, ctx);
    },
  });
}

/**
 * The one inbound path of every actor: decode → validate → route → catch →
 * reply with an error or count. A bad message never stops an actor.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { decode, encode, encodeError } from "../protocol/codec.ts";
import { AgoraError, ErrorCode, ProtocolError } from "../protocol/errors.ts";
import type { Message, MessageOf, MessageType } from "../protocol/registry.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";

/** What a handler learns about the message besides its body. */
export interface MessageContext {
  /** The subject the message arrived on. */
  subject: string;
  /** The reply subject, when the sender made a request. */
  reply: string | undefined;
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
}

/**
 * Subscribes to `subject` and dispatches every valid message of the accepted
 * types to `handler`. Invalid messages are answered with an error reply when
 * they are requests, otherwise logged and counted (`messages_invalid`).
 */
export function serve<T extends MessageType>(
  nc: NatsConnection,
  subject: string,
  options: ServeOptions<T>,
  handler: Handler<T>,
): Subscription {
  const accepted: ReadonlySet<string> = new Set(options.types);
  const { logger, metrics } = options;
  const fail = (m: Msg, err: unknown, counter: string) => {
    const error = AgoraError.from(err);
    metrics.inc(counter);
    if (error.code === ErrorCode.Internal) {
      logger.error({ err, subject: m.subject }, "handler failed");
    } else {
      logger.warn(
        { code: error.code, reason: error.message, subject: m.subject },
        "message rejected",
      );
    }
    if (m.reply) m.respond(encodeError(error));
  };
  const respond = (m: Msg, reply: Message | undefined) => {
    if (m.reply) m.respond(encode(reply ?? { type: "ok" }));
  };
  return nc.subscribe(subject, {
    queue: options.queue,
    callback: (err, m) => {
      if (err) {
        logger.error({ err, subject }, "subscription failed");
        return;
      }
      let msg: Message;
      try {
        msg = decode(m.data);
        if (!accepted.has(msg.type)) {
          throw new ProtocolError(
            ErrorCode.UnknownType,
            `message type ${msg.type} is not accepted on this subject`,
          );
        }
      } catch (e) {
        fail(m, e, "messages_invalid");
        if (!m.reply && options.onReject) {
          try {
            options.onReject(AgoraError.from(e), { subject: m.subject, reply: undefined });
          } catch (hookError) {
            logger.error({ err: hookError, subject: m.subject }, "reject hook failed");
          }
        }
        return;
      }
      metrics.inc("messages_received");
      const ctx: MessageContext = { subject: m.subject, reply: m.reply || undefined };
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
    },
  });
}

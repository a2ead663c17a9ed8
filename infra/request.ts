/**
 * One request/reply round trip with the protocol's codec. NATS failures
 * become {@link AgoraError}s: nobody listening → UNAVAILABLE, no answer in time
 * → TIMEOUT; an `error` reply is thrown as the error it carries.
 */
import {
  type NatsConnection,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/nats-core";
import { decodeReply, encode } from "../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../protocol/errors.ts";
import type { Message, MessageOf, MessageType } from "../protocol/registry.ts";

/**
 * Sends `msg` as a request on `subject` and decodes the reply as one of `types`.
 * @throws AgoraError UNAVAILABLE, TIMEOUT, or the error the peer replied with
 */
export async function request<T extends MessageType>(
  nc: NatsConnection,
  subject: string,
  msg: Message,
  types: readonly T[],
  timeoutMs: number,
): Promise<MessageOf<T>> {
  let data: Uint8Array;
  try {
    data = (await nc.request(subject, encode(msg), { timeout: timeoutMs })).data;
  } catch (err) {
    throw requestFailure(err, subject);
  }
  return decodeReply(data, types);
}

/** Maps a failure of `nc.request` to an {@link AgoraError}. */
export function requestFailure(err: unknown, subject: string): AgoraError {
  if (err instanceof AgoraError) return err;
  if (err instanceof TimeoutError) {
    return new AgoraError(ErrorCode.Timeout, `no reply on ${subject} in time`, { cause: err });
  }
  if ((err instanceof RequestError && err.isNoResponders()) || err instanceof NoRespondersError) {
    return new AgoraError(ErrorCode.Unavailable, `nobody listens on ${subject}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new AgoraError(ErrorCode.Unavailable, `request on ${subject} failed: ${message}`, {
    cause: err,
  });
}

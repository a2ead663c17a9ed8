/**
 * One request/reply round trip with the protocol's codec. NATS failures
 * become {@link AgoraError}s: nobody listening → UNAVAILABLE, no answer in time
 * → TIMEOUT; an `error` reply is thrown as the error it carries.
 */
import {
  createInbox,
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/nats-core";
import { decodeReply, encode } from "../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../protocol/errors.ts";
import { StateAssembler } from "../protocol/parts.ts";
import type { Message, MessageOf, MessageType } from "../protocol/registry.ts";

/**
 * Sends `msg` as a request on `subject` (with `headers`, e.g. an executor's
 * token) and decodes the reply as one of `types`.
 * @throws AgoraError UNAVAILABLE, TIMEOUT, or the error the peer replied with
 */
export async function request<T extends MessageType>(
  nc: NatsConnection,
  subject: string,
  msg: Message,
  types: readonly T[],
  timeoutMs: number,
  headers?: MsgHdrs,
): Promise<MessageOf<T>> {
  let data: Uint8Array;
  try {
    const options =
      headers === undefined ? { timeout: timeoutMs } : { timeout: timeoutMs, headers };
    data = (await nc.request(subject, encode(msg), options)).data;
  } catch (err) {
    throw requestFailure(err, subject);
  }
  return decodeReply(data, types);
}

/** Maps a failure of `nc.request` to an {@link AgoraError}. */
function requestFailure(err: unknown, subject: string): AgoraError {
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

/**
 * The inbox prefix the connection was opened with (the principal's
 * `_INBOX_<principal>`, infra/credentials.ts), for inboxes made by hand.
 */
function connectionInboxPrefix(nc: NatsConnection): string | undefined {
  const options: unknown = Reflect.get(nc, "options");
  if (typeof options !== "object" || options === null) return undefined;
  const prefix: unknown = Reflect.get(options, "inboxPrefix");
  return typeof prefix === "string" && prefix !== "" ? prefix : undefined;
}

/**
 * `operator.getState` with `parts: true`: the state in one reply, or put
 * together from its `operator.statePart` messages. `timeoutMs` runs again at
 * each part.
 * @throws AgoraError UNAVAILABLE, TIMEOUT, or the error the master replied with
 */
export function requestState(
  nc: NatsConnection,
  subject: string,
  timeoutMs: number,
): Promise<MessageOf<"operator.state">> {
  return new Promise((resolve, reject) => {
    const inbox = createInbox(connectionInboxPrefix(nc));
    const assembler = new StateAssembler();
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: unknown, state?: MessageOf<"operator.state">) => {
      clearTimeout(timer);
      sub.unsubscribe();
      if (state !== undefined) resolve(state);
      else reject(err);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () => finish(new AgoraError(ErrorCode.Timeout, `no reply on ${subject} in time`)),
        timeoutMs,
      );
    };
    const sub = nc.subscribe(inbox, {
      callback: (err, m) => {
        if (err) return finish(requestFailure(err, subject));
        if (m.data.byteLength === 0 && m.headers?.code === 503) {
          return finish(new AgoraError(ErrorCode.Unavailable, `nobody listens on ${subject}`));
        }
        try {
          const reply = decodeReply(m.data, ["operator.state", "operator.statePart"]);
          if (reply.type === "operator.state") return finish(undefined, reply);
          const state = assembler.add(reply);
          if (state !== undefined) return finish(undefined, state);
          arm();
        } catch (e) {
          finish(e);
        }
      },
    });
    arm();
    try {
      nc.publish(subject, encode({ type: "operator.getState", parts: true }), { reply: inbox });
    } catch (err) {
      finish(requestFailure(err, subject));
    }
  });
}

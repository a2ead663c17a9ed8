/**
 * The wire codec: plain MessagePack (maps as objects, no msgpackr records or
 * extensions) so that any language's msgpack library can take part.
 *
 * Every message is `{v, type, ...fields}`: `v` is the protocol major version.
 * `decode` turns bytes into a validated, typed message or throws a
 * {@link ProtocolError} with a stable code.
 */
import { Packr, Unpackr } from "msgpackr";
import { AgoraError, ErrorCode, ProtocolError, type WireError } from "./errors.ts";
import { checkerOf, type Message, type MessageOf, type MessageType } from "./registry.ts";
import { PROTOCOL_VERSION } from "./subjects.ts";

/** Largest accepted payload (NATS's default max_payload). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: "number",
  // bytes fields must not pin the whole received payload in memory
  copyBuffers: true,
});

/** Drops `undefined` properties so that optional fields are absent on the wire, not nil. */
function compact(value: unknown): unknown {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const c = compact(item);
      if (c !== item) {
        out ??= value.slice();
        out[i] = c;
      }
    }
    return out ?? value;
  }
  const record = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const key in record) {
    const item = record[key];
    if (item === undefined) {
      out ??= { ...record };
      delete out[key];
      continue;
    }
    const c = compact(item);
    if (c !== item) {
      out ??= { ...record };
      out[key] = c;
    }
  }
  return out ?? value;
}

/** Encodes a message, stamping the protocol version. */
export function encode(msg: Message): Uint8Array {
  return packr.pack(compact({ v: PROTOCOL_VERSION, ...msg }));
}

/** Longest error text sent on the wire. */
const MAX_ERROR_TEXT = 4096;

/** Encodes an error reply `{type: "error", code, message, retryable}`. */
export function encodeError(err: unknown): Uint8Array {
  const wire = AgoraError.from(err).toWire();
  if (wire.message.length > MAX_ERROR_TEXT)
    wire.message = `${wire.message.slice(0, MAX_ERROR_TEXT)}…`;
  return encode(wire);
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (ArrayBuffer.isView(value)) return "bytes";
  return typeof value;
}

/**
 * Decodes and validates bytes into a message.
 * @throws ProtocolError BAD_MESSAGE, MESSAGE_TOO_LARGE, UNSUPPORTED_VERSION, UNKNOWN_TYPE or INVALID_MESSAGE
 */
export function decode(data: Uint8Array): Message {
  if (data.byteLength > MAX_MESSAGE_BYTES) {
    throw new ProtocolError(
      ErrorCode.MessageTooLarge,
      `message of ${data.byteLength} bytes exceeds the limit of ${MAX_MESSAGE_BYTES}`,
    );
  }
  if (data.byteLength === 0) throw new ProtocolError(ErrorCode.BadMessage, "empty message");
  let value: unknown;
  try {
    value = unpackr.unpack(data);
  } catch (cause) {
    throw new ProtocolError(ErrorCode.BadMessage, "payload is not valid MessagePack", { cause });
  }
  // only a plain map: arrays, bytes and msgpackr's own types (0xc1, dates, sets) are refused
  if (
    value === null ||
    typeof value !== "object" ||
    Object.getPrototypeOf(value) !== Object.prototype
  ) {
    throw new ProtocolError(
      ErrorCode.BadMessage,
      `message must be a map, got ${describeType(value)}`,
    );
  }
  const record = value as Record<string, unknown>;
  const version = record.v;
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      ErrorCode.UnsupportedVersion,
      version === undefined
        ? `message has no protocol version "v" (this receiver speaks v${PROTOCOL_VERSION})`
        : `unsupported protocol version ${JSON.stringify(version)} (this receiver speaks v${PROTOCOL_VERSION})`,
    );
  }
  const type = record.type;
  if (typeof type !== "string") {
    throw new ProtocolError(ErrorCode.InvalidMessage, 'message has no string field "type"');
  }
  const checker = checkerOf(type);
  if (checker === undefined) {
    throw new ProtocolError(
      ErrorCode.UnknownType,
      `unknown message type ${JSON.stringify(type.slice(0, 64))}`,
    );
  }
  if (!checker.Check(record)) {
    const first = checker.Errors(record).First();
    const where = first?.path ? first.path : "/";
    throw new ProtocolError(
      ErrorCode.InvalidMessage,
      `invalid ${type}: ${where} ${first?.message ?? "does not match the schema"}`,
    );
  }
  delete record.v;
  return record as Message;
}

/**
 * Decodes a message and checks it is one of the expected types.
 * @throws ProtocolError as {@link decode}, or UNKNOWN_TYPE when the type is not expected here
 */
export function decodeAs<T extends MessageType>(
  data: Uint8Array,
  types: readonly T[],
): MessageOf<T> {
  const msg = decode(data);
  if (!(types as readonly string[]).includes(msg.type)) {
    throw new ProtocolError(
      ErrorCode.UnknownType,
      `unexpected message type ${msg.type} here (expected ${types.join(", ")})`,
    );
  }
  return msg as MessageOf<T>;
}

/**
 * Decodes a reply: an `error` reply is thrown as the {@link AgoraError} it encodes.
 */
export function decodeReply<T extends MessageType>(
  data: Uint8Array,
  types: readonly T[],
): MessageOf<T> {
  const msg = decodeAs(data, [...types, "error"] as const);
  if (msg.type === "error") throw AgoraError.fromWire(msg as WireError);
  return msg as MessageOf<T>;
}

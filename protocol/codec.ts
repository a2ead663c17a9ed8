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
import { FastPacker } from "./fast-pack.ts";
import { checkerOf, type Message, type MessageOf, type MessageType } from "./registry.ts";
import { PROTOCOL_VERSION } from "./subjects.ts";

export { MAX_BATCH_MESSAGES } from "./common.ts";

/** Largest accepted payload (NATS's default max_payload). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

// skipValues (in msgpackr, not in its typings): a property whose value is undefined is left
// out, so that optional fields are absent on the wire, not nil
const packOptions = {
  useRecords: false,
  encodeUndefinedAsNil: true,
  variableMapSize: true,
  skipValues: [undefined],
};
const packr = new Packr(packOptions);
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: "number",
  // bytes fields must not pin the whole received payload in memory
  copyBuffers: true,
});

/**
 * The types written by the {@link FastPacker} (the same bytes, faster): the
 * largest and most frequent messages, offers by the thousand.
 */
const FAST_TYPES: ReadonlySet<string> = new Set(["event.offers", "cluster.offersSent"]);
const fast = new FastPacker((value) => packr.pack(value));

/** Encodes a message, stamping the protocol version. */
export function encode(msg: Message): Uint8Array {
  if (FAST_TYPES.has(msg.type)) {
    const bytes = fast.pack(msg, PROTOCOL_VERSION);
    if (bytes !== undefined) return bytes;
  }
  return packr.pack({ v: PROTOCOL_VERSION, ...msg });
}

/**
 * Encodes a message as an element of a `batch`: without a `v` of its own.
 * {@link encodeBatchOf} puts elements in an envelope, {@link versioned} makes one a message.
 */
export function encodeElement(msg: Message): Uint8Array {
  if (FAST_TYPES.has(msg.type)) {
    const bytes = fast.pack(msg);
    if (bytes !== undefined) return bytes;
  }
  return packr.pack(msg);
}

/**
 * An encoded element as a message of its own, the bytes {@link encode} gives:
 * its map with `v` as the first entry.
 */
export function versioned(element: Uint8Array): Uint8Array {
  const first = element[0] as number;
  let size: number;
  let header: number;
  if ((first & 0xf0) === 0x80) {
    size = first & 0x0f;
    header = 1;
  } else if (first === 0xde) {
    size = ((element[1] as number) << 8) | (element[2] as number);
    header = 3;
  } else if (first === 0xdf) {
    size = new DataView(element.buffer, element.byteOffset, 5).getUint32(1);
    header = 5;
  } else {
    throw new ProtocolError(ErrorCode.BadMessage, "an encoded element must be a map");
  }
  const head = mapHeader(size + 1);
  const out = Buffer.allocUnsafe(head.length + VERSION_ENTRY.length + element.length - header);
  out.set(head, 0);
  out.set(VERSION_ENTRY, head.length);
  out.set(element.subarray(header), head.length + VERSION_ENTRY.length);
  return out;
}

/** `"v": PROTOCOL_VERSION`, as msgpackr writes it. */
const VERSION_ENTRY: Uint8Array = Uint8Array.from([
  ...packr.pack("v"),
  ...packr.pack(PROTOCOL_VERSION),
]);

/** The smallest MessagePack header of a map of `size` entries (msgpackr's variableMapSize). */
function mapHeader(size: number): Uint8Array {
  if (size < 0x10) return Uint8Array.of(0x80 | size);
  if (size < 0x10000) return Uint8Array.of(0xde, size >> 8, size & 0xff);
  return Uint8Array.of(0xdf, size >>> 24, (size >> 16) & 0xff, (size >> 8) & 0xff, size & 0xff);
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
 * Size, MessagePack, map, version and type checks of a payload.
 * @returns the unpacked record, its `v` still in place
 */
function unpackChecked(
  data: Uint8Array,
  maxBytes = MAX_MESSAGE_BYTES,
): Record<string, unknown> & { type: string } {
  if (data.byteLength > maxBytes) {
    throw new ProtocolError(
      ErrorCode.MessageTooLarge,
      `message of ${data.byteLength} bytes exceeds the limit of ${maxBytes}`,
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
  if (!isPlainMap(value)) {
    throw new ProtocolError(
      ErrorCode.BadMessage,
      `message must be a map, got ${describeType(value)}`,
    );
  }
  const version = value.v;
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      ErrorCode.UnsupportedVersion,
      version === undefined
        ? `message has no protocol version "v" (this receiver speaks v${PROTOCOL_VERSION})`
        : `unsupported protocol version ${JSON.stringify(version)} (this receiver speaks v${PROTOCOL_VERSION})`,
    );
  }
  if (typeof value.type !== "string") {
    throw new ProtocolError(ErrorCode.InvalidMessage, 'message has no string field "type"');
  }
  return value as Record<string, unknown> & { type: string };
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return (
    value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype
  );
}

/** Validates a record against the schema of its type and strips `v`. */
function validate(record: Record<string, unknown>, type: string): Message {
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
 * Decodes and validates bytes into a message (`maxBytes`: above the 1 MiB of
 * one NATS message only for a message assembled from parts, `parts.ts`). A `batch` comes back as its
 * envelope, elements not validated: receivers of published messages use
 * {@link decodeMessages}.
 * @throws ProtocolError BAD_MESSAGE, MESSAGE_TOO_LARGE, UNSUPPORTED_VERSION, UNKNOWN_TYPE or INVALID_MESSAGE
 */
export function decode(data: Uint8Array, maxBytes = MAX_MESSAGE_BYTES): Message {
  const record = unpackChecked(data, maxBytes);
  return validate(record, record.type);
}

/** Validates one element of a batch; `at` is its index, for the error text. */
function validateElement(element: unknown, at: number): Message {
  if (!isPlainMap(element)) {
    throw new ProtocolError(
      ErrorCode.InvalidMessage,
      `batch element ${at} must be a map, got ${describeType(element)}`,
    );
  }
  const type = element.type;
  if (typeof type !== "string") {
    throw new ProtocolError(
      ErrorCode.InvalidMessage,
      `batch element ${at} has no string field "type"`,
    );
  }
  if (type === "batch") {
    throw new ProtocolError(ErrorCode.InvalidMessage, `batch element ${at} is a batch`);
  }
  // an element has no version of its own; one that says another than the envelope's is refused
  if (element.v !== undefined && element.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      ErrorCode.UnsupportedVersion,
      `batch element ${at} has protocol version ${JSON.stringify(element.v)}`,
    );
  }
  return validate(element, type);
}

/**
 * Decodes a payload of published messages: a plain message gives itself, a
 * `batch` its elements in order, each validated with its own schema. An
 * invalid element is returned in its place as the {@link ProtocolError} that
 * rejected it; the others are unaffected.
 * @param batchAllowed false for a request: a batch is then refused (INVALID_MESSAGE)
 * @throws ProtocolError as {@link decode} when the payload or the batch envelope is invalid
 */
export function decodeMessages(
  data: Uint8Array,
  batchAllowed = true,
): Array<Message | ProtocolError> {
  const record = unpackChecked(data);
  if (record.type !== "batch") return [validate(record, record.type)];
  if (!batchAllowed) {
    throw new ProtocolError(ErrorCode.InvalidMessage, "a batch cannot be sent as a request");
  }
  const batch = validate(record, "batch") as MessageOf<"batch">;
  const out: Array<Message | ProtocolError> = new Array(batch.messages.length);
  for (let i = 0; i < batch.messages.length; i++) {
    try {
      out[i] = validateElement(batch.messages[i], i);
    } catch (err) {
      out[i] =
        err instanceof ProtocolError
          ? err
          : new ProtocolError(ErrorCode.InvalidMessage, `batch element ${i}: ${String(err)}`);
    }
  }
  return out;
}

/**
 * Encodes `{v, type: "batch", messages}`: plain MessagePack, the elements
 * without a `v` of their own. The caller keeps to {@link MAX_BATCH_MESSAGES}
 * elements and checks the size against {@link MAX_MESSAGE_BYTES}.
 */
export function encodeBatch(messages: readonly Message[]): Uint8Array {
  return encodeBatchOf(messages.map(encodeElement));
}

/** `{v, type: "batch", messages: [` without the array header, as msgpackr writes it. */
const BATCH_HEAD: Uint8Array = Uint8Array.from(
  packr.pack({ v: PROTOCOL_VERSION, type: "batch", messages: [] }).subarray(0, -1),
);

/** Bytes of an envelope besides its elements, at most. */
export const BATCH_OVERHEAD = BATCH_HEAD.length + 5;

/**
 * The `batch` envelope of encoded elements ({@link encodeElement}) `from` to
 * `to` (excluded): the bytes {@link encodeBatch} gives for their messages.
 */
export function encodeBatchOf(
  elements: readonly Uint8Array[],
  from = 0,
  to = elements.length,
): Uint8Array {
  const n = to - from;
  let size = 0;
  for (let i = from; i < to; i++) size += (elements[i] as Uint8Array).length;
  const arrayHeader =
    n < 0x10
      ? Uint8Array.of(0x90 | n)
      : n < 0x10000
        ? Uint8Array.of(0xdc, n >> 8, n & 0xff)
        : Uint8Array.of(0xdd, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  const out = Buffer.allocUnsafe(BATCH_HEAD.length + arrayHeader.length + size);
  out.set(BATCH_HEAD, 0);
  out.set(arrayHeader, BATCH_HEAD.length);
  let at = BATCH_HEAD.length + arrayHeader.length;
  for (let i = from; i < to; i++) {
    const element = elements[i] as Uint8Array;
    out.set(element, at);
    at += element.length;
  }
  return out;
}

/**
 * Decodes a message and checks it is one of the expected types.
 * @throws ProtocolError as {@link decode}, or UNKNOWN_TYPE when the type is not expected here
 */
export function decodeAs<T extends MessageType>(
  data: Uint8Array,
  types: readonly T[],
  maxBytes = MAX_MESSAGE_BYTES,
): MessageOf<T> {
  const msg = decode(data, maxBytes);
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

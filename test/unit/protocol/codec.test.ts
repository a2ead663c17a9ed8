import test, { type ExecutionContext } from "ava";
import { pack, Unpackr, unpack } from "msgpackr";
import {
  decode,
  decodeAs,
  decodeReply,
  encode,
  encodeError,
  MAX_MESSAGE_BYTES,
} from "../../../protocol/codec.ts";
import { AgoraError, ErrorCode, ProtocolError } from "../../../protocol/errors.ts";
import { checkerOf, MESSAGE_TYPES, type Message } from "../../../protocol/registry.ts";
import { minimalSamples, sampleStatus, samples } from "./samples.ts";

// ---------------------------------------------------------------------------
// Helpers

/** Deep copy where every Uint8Array (including Node Buffers) is a plain Uint8Array. */
function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = normalize(v);
    return out;
  }
  return value;
}

/** Asserts that `fn` throws a ProtocolError with `code`; returns it. */
function throwsCode(t: ExecutionContext, fn: () => unknown, code: ErrorCode): ProtocolError {
  const err = t.throws(fn, { instanceOf: ProtocolError });
  t.is(err?.code, code, err?.message);
  t.false(err?.retryable);
  return err as ProtocolError;
}

/** A small seeded PRNG (mulberry32) so the fuzz tests are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decoding never throws anything but a ProtocolError, and what it returns is valid. */
function decodesOrRejects(t: ExecutionContext, bytes: Uint8Array): "ok" | "rejected" | "other" {
  try {
    const msg = decode(bytes);
    if (!MESSAGE_TYPES.includes(msg.type) || !checkerOf(msg.type)?.Check(msg)) {
      t.fail(`decode returned an invalid message for ${Buffer.from(bytes).toString("hex")}`);
      return "other";
    }
    return "ok";
  } catch (err) {
    if (err instanceof ProtocolError) return "rejected";
    t.fail(
      `decode threw ${String(err)} (not a ProtocolError) for ${Buffer.from(bytes).toString("hex")}`,
    );
    return "other";
  }
}

/**
 * A strict, independent MessagePack reader: accepts only the standard types,
 * rejects any extension type (msgpackr records, timestamps, ...) and maps
 * with non-string keys. Proves an encoding is plain MessagePack.
 */
function strictUnpack(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const text = new TextDecoder("utf-8", { fatal: true });
  const take = (n: number): Uint8Array => {
    if (pos + n > bytes.length) throw new Error("truncated");
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  /** Moves past `n` bytes and returns where they start. */
  const advance = (n: number): number => {
    if (pos + n > bytes.length) throw new Error("truncated");
    pos += n;
    return pos - n;
  };
  const u8 = () => view.getUint8(advance(1));
  const u16 = () => view.getUint16(advance(2));
  const u32 = () => view.getUint32(advance(4));
  const str = (n: number) => text.decode(take(n));
  const arr = (n: number) => Array.from({ length: n }, () => read());
  const map = (n: number) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const key = read();
      if (typeof key !== "string") throw new Error(`map key of type ${typeof key}`);
      if (Object.hasOwn(out, key)) throw new Error(`duplicate key ${key}`);
      out[key] = read();
    }
    return out;
  };
  const read = (): unknown => {
    const b = u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0x80 && b <= 0x8f) return map(b & 0x0f);
    if (b >= 0x90 && b <= 0x9f) return arr(b & 0x0f);
    if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return new Uint8Array(take(u8()));
      case 0xc5:
        return new Uint8Array(take(u16()));
      case 0xc6:
        return new Uint8Array(take(u32()));
      case 0xca:
        return view.getFloat32(advance(4));
      case 0xcb:
        return view.getFloat64(advance(8));
      case 0xcc:
        return u8();
      case 0xcd:
        return u16();
      case 0xce:
        return u32();
      case 0xcf:
        return Number(view.getBigUint64(advance(8)));
      case 0xd0:
        return view.getInt8(advance(1));
      case 0xd1:
        return view.getInt16(advance(2));
      case 0xd2:
        return view.getInt32(advance(4));
      case 0xd3:
        return Number(view.getBigInt64(advance(8)));
      case 0xd9:
        return str(u8());
      case 0xda:
        return str(u16());
      case 0xdb:
        return str(u32());
      case 0xdc:
        return arr(u16());
      case 0xdd:
        return arr(u32());
      case 0xde:
        return map(u16());
      case 0xdf:
        return map(u32());
      default:
        throw new Error(`non-standard or extension byte 0x${b.toString(16)} at ${pos - 1}`);
    }
  };
  const value = read();
  if (pos !== bytes.length) throw new Error(`${bytes.length - pos} trailing bytes`);
  return value;
}

// ---------------------------------------------------------------------------
// Round trips

test("codec - the samples cover exactly the registered message types", (t) => {
  t.deepEqual(Object.keys(samples).sort(), [...MESSAGE_TYPES].sort());
  for (const [type, sample] of Object.entries(samples)) t.is(sample.type as string, type);
});

test("codec - round trips every message type", (t) => {
  for (const type of MESSAGE_TYPES) {
    const sample = samples[type];
    const bytes = encode(sample);
    t.true(bytes instanceof Uint8Array, type);
    t.true(bytes.byteLength <= MAX_MESSAGE_BYTES, type);
    const decoded = decode(bytes);
    t.is(decoded.type, type);
    t.false("v" in decoded, `${type}: the version field is stripped`);
    t.deepEqual(normalize(decoded), normalize(sample), type);
  }
});

test("codec - round trips messages with only their required fields", (t) => {
  const entries = Object.entries(minimalSamples);
  t.true(entries.length > 10);
  for (const [type, sample] of entries) {
    t.deepEqual(normalize(decode(encode(sample as Message))), normalize(sample), type);
  }
});

test("codec - Uint8Array fields come back as Uint8Array with the same bytes", (t) => {
  const decoded = decodeAs(encode(samples["scheduler.message"]), ["scheduler.message"]);
  t.true(decoded.data instanceof Uint8Array);
  t.deepEqual([...decoded.data], [0xff, 0x00, 0x7f]);
  const launch = decodeAs(encode(samples["executor.launch"]), ["executor.launch"]);
  t.true(launch.task.data instanceof Uint8Array);
  t.deepEqual([...(launch.task.data ?? [])], [0, 1, 2, 254, 255]);
  const empty = decodeAs(encode(samples["executor.frameworkMessage"]), [
    "executor.frameworkMessage",
  ]);
  t.is(empty.data.byteLength, 0);
});

test("codec - undefined optional fields are dropped, not sent as nil", (t) => {
  const bytes = encode({
    type: "agent.update",
    frameworkId: "fw-1",
    status: {
      ...sampleStatus,
      agentId: undefined,
      reason: undefined,
      data: undefined,
    },
  });
  const raw = strictUnpack(bytes) as { status: Record<string, unknown> };
  t.false("agentId" in raw.status);
  t.false("reason" in raw.status);
  t.false("data" in raw.status);
  t.is(raw.status.taskId, sampleStatus.taskId);
  const decoded = decodeAs(bytes, ["agent.update"]);
  t.false("agentId" in decoded.status);
  t.is(decoded.status.uuid, sampleStatus.uuid);
});

test("codec - unknown extra fields are accepted", (t) => {
  const msg = decode(pack({ v: 1, type: "agent.heartbeat", futureField: { nested: [1, 2] } }));
  t.is(msg.type, "agent.heartbeat");
  const update = decodeAs(
    pack({
      v: 1,
      type: "event.update",
      status: { taskId: "t", state: "TASK_RUNNING", timestamp: 1, health: "good" },
    }),
    ["event.update"],
  );
  t.is(update.status.state, "TASK_RUNNING");
});

test("codec - a float-encoded v of 1 is version 1", (t) => {
  // Some msgpack libraries encode every number as float64.
  const float = new Uint8Array(9);
  float[0] = 0xcb;
  new DataView(float.buffer).setFloat64(1, 1);
  const bytes = new Uint8Array([
    0x82,
    0xa1,
    0x76,
    ...float,
    0xa4,
    ...Buffer.from("type"),
    0xa2,
    ...Buffer.from("ok"),
  ]);
  t.is(decode(bytes).type, "ok");
});

// ---------------------------------------------------------------------------
// Plain MessagePack on the wire

test("codec - every encoding is plain MessagePack without extensions", (t) => {
  for (const type of MESSAGE_TYPES) {
    const sample = samples[type];
    const bytes = encode(sample);
    let raw: unknown;
    t.notThrows(() => {
      raw = strictUnpack(bytes);
    }, type);
    t.deepEqual(raw, normalize({ v: 1, ...sample }), type);
  }
});

test("codec - a vanilla msgpackr unpack reads a plain object with v: 1", (t) => {
  for (const type of MESSAGE_TYPES) {
    const bytes = encode(samples[type]);
    const plain = unpack(bytes) as Record<string, unknown>;
    t.is(Object.getPrototypeOf(plain), Object.prototype, type);
    t.is(plain.v, 1, type);
    t.is(plain.type, type);
    const strict = new Unpackr({ useRecords: false, mapsAsObjects: true }).unpack(bytes);
    t.deepEqual(normalize(strict), normalize({ v: 1, ...samples[type] }), type);
  }
});

test("codec - a message without binary fields has no extension bytes", (t) => {
  const bytes = encode(samples["agent.heartbeat"]);
  // {v: 1, type: "agent.heartbeat"} as a fixmap of two entries.
  t.deepEqual(
    [...bytes],
    [0x82, 0xa1, 0x76, 0x01, 0xa4, ...Buffer.from("type"), 0xaf, ...Buffer.from("agent.heartbeat")],
  );
  const registered = encode(samples["agent.registered"]);
  for (const b of [0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xc7, 0xc8, 0xc9]) {
    t.false(registered.includes(b), `byte 0x${b.toString(16)}`);
  }
});

test("codec - a message packed by plain msgpack decodes", (t) => {
  const msg = decodeAs(
    pack({
      v: 1,
      type: "agent.registered",
      agentId: "a",
      masterId: "m",
      heartbeatIntervalSeconds: 1,
    }),
    ["agent.registered"],
  );
  t.deepEqual(msg, {
    type: "agent.registered",
    agentId: "a",
    masterId: "m",
    heartbeatIntervalSeconds: 1,
  });
});

// ---------------------------------------------------------------------------
// Bad input

test("codec - random bytes decode to a valid message or throw a ProtocolError", (t) => {
  const random = prng(0x5eed);
  const counts = { ok: 0, rejected: 0, other: 0 };
  for (let i = 0; i < 5000; i++) {
    const length = Math.floor(random() * 300);
    const bytes = new Uint8Array(length);
    for (let j = 0; j < length; j++) bytes[j] = Math.floor(random() * 256);
    // Half of the buffers start with a map header, to get past the first check more often.
    if (length > 0 && i % 2 === 0) bytes[0] = 0x80 | (bytes[0]! & 0x0f);
    counts[decodesOrRejects(t, bytes)]++;
  }
  t.is(counts.other, 0);
  t.true(counts.rejected > 0);
});

test("codec - mutated valid encodings decode to a valid message or throw a ProtocolError", (t) => {
  const random = prng(42);
  const encodings = MESSAGE_TYPES.map((type) => encode(samples[type]));
  const counts = { ok: 0, rejected: 0, other: 0 };
  for (let i = 0; i < 5000; i++) {
    const source = encodings[i % encodings.length]!;
    const bytes = new Uint8Array(source);
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) {
      const at = Math.floor(random() * bytes.length);
      bytes[at] = Math.floor(random() * 256);
    }
    counts[decodesOrRejects(t, bytes)]++;
  }
  t.is(counts.other, 0);
  t.true(counts.ok > 0, "some mutations keep a valid message");
  t.true(counts.rejected > 0);
});

test("codec - truncated msgpack is BAD_MESSAGE", (t) => {
  for (const type of ["agent.register", "scheduler.accept", "event.offers"] as const) {
    const bytes = encode(samples[type]);
    for (let end = 1; end < bytes.length; end += Math.max(1, Math.floor(bytes.length / 97))) {
      throwsCode(t, () => decode(bytes.slice(0, end)), ErrorCode.BadMessage);
    }
  }
});

test("codec - deeply nested msgpack is BAD_MESSAGE, not a stack overflow", (t) => {
  const str = (s: string) => [0xa0 | s.length, ...Buffer.from(s)];
  const head = [0x83, ...str("v"), 1, ...str("type"), ...str("agent.heartbeat"), ...str("x")];
  const depth = 200_000;
  const bytes = new Uint8Array([...head, ...new Array<number>(depth).fill(0x91), 0x00]);
  throwsCode(t, () => decode(bytes), ErrorCode.BadMessage);
});

test("codec - an empty buffer is BAD_MESSAGE", (t) => {
  throwsCode(t, () => decode(new Uint8Array(0)), ErrorCode.BadMessage);
});

test("codec - a top level that is not a map is BAD_MESSAGE", (t) => {
  const values: unknown[] = [
    [1, 2, 3],
    [{ v: 1, type: "ok" }],
    42,
    -1.5,
    "agent.heartbeat",
    null,
    true,
    new Uint8Array([0x82, 0xa1, 0x76, 0x01]),
  ];
  for (const value of values) {
    throwsCode(t, () => decode(pack(value)), ErrorCode.BadMessage);
  }
});

test("codec - a payload over MAX_MESSAGE_BYTES is MESSAGE_TOO_LARGE", (t) => {
  const huge = pack({
    v: 1,
    type: "agent.heartbeat",
    padding: "x".repeat(MAX_MESSAGE_BYTES),
  });
  t.true(huge.byteLength > MAX_MESSAGE_BYTES);
  throwsCode(t, () => decode(huge), ErrorCode.MessageTooLarge);
  // Size is checked before anything else: even garbage of that size.
  throwsCode(t, () => decode(new Uint8Array(MAX_MESSAGE_BYTES + 1)), ErrorCode.MessageTooLarge);
  // A payload of exactly the limit is not rejected for its size.
  const exact = pack({ v: 1, type: "agent.heartbeat", padding: "" });
  const padded = pack({
    v: 1,
    type: "agent.heartbeat",
    padding: "y".repeat(MAX_MESSAGE_BYTES - exact.byteLength - 4),
  });
  t.is(padded.byteLength, MAX_MESSAGE_BYTES);
  t.is(decode(padded).type, "agent.heartbeat");
});

test("codec - an unknown type is UNKNOWN_TYPE", (t) => {
  for (const type of ["agent.teleport", "", "AGENT.HEARTBEAT", "__proto__", "toString", "v"]) {
    throwsCode(t, () => decode(pack({ v: 1, type })), ErrorCode.UnknownType);
  }
});

test("codec - a missing or non-string type is INVALID_MESSAGE", (t) => {
  throwsCode(t, () => decode(pack({ v: 1 })), ErrorCode.InvalidMessage);
  throwsCode(t, () => decode(pack({ v: 1, type: 7 })), ErrorCode.InvalidMessage);
  throwsCode(t, () => decode(pack({ v: 1, type: ["ok"] })), ErrorCode.InvalidMessage);
});

test("codec - an unknown major version is UNSUPPORTED_VERSION", (t) => {
  for (const v of [2, 0, 1.5, "1", null, true]) {
    const err = throwsCode(
      t,
      () => decode(pack({ v, type: "agent.heartbeat" })),
      ErrorCode.UnsupportedVersion,
    );
    t.true(err.message.includes("v1"), err.message);
  }
});

test("codec - a missing v is UNSUPPORTED_VERSION", (t) => {
  throwsCode(t, () => decode(pack({ type: "agent.heartbeat" })), ErrorCode.UnsupportedVersion);
  // Even when the rest of the message would be valid.
  const { v: _v, ...rest } = unpack(encode(samples["agent.registered"])) as Record<string, unknown>;
  throwsCode(t, () => decode(pack(rest)), ErrorCode.UnsupportedVersion);
});

test("codec - a wrong field type is INVALID_MESSAGE", (t) => {
  const cases: Record<string, unknown>[] = [
    { ...samples["agent.registered"], heartbeatIntervalSeconds: "15" },
    { ...samples["agent.registered"], heartbeatIntervalSeconds: 0 },
    { ...samples["agent.register"], resources: "cpus:4;mem:4096" },
    { ...samples["agent.register"], resources: { cpus: -1 } },
    { ...samples["agent.register"], resources: { ports: [[1, 2, 3]] } },
    { ...samples["agent.message"], data: "AQID" },
    { ...samples["agent.message"], data: [1, 2, 3] },
    { ...samples["event.update"], status: { ...sampleStatus, state: "RUNNING" } },
    { ...samples["event.update"], status: { ...sampleStatus, timestamp: "now" } },
    { ...samples["event.update"], status: { ...sampleStatus, exitCode: 1.5 } },
    { ...samples["scheduler.accept"], offerIds: [] },
    { ...samples["scheduler.accept"], offerIds: ["has.dot"] },
    { ...samples["scheduler.accept"], operations: [{ type: "reserve", tasks: [] }] },
    { ...samples["scheduler.decline"], filters: { refuseSeconds: -1 } },
    { ...samples.error, retryable: "yes" },
    { ...samples["executor.kill"], taskId: "" },
    { ...samples["executor.kill"], taskId: "a b" },
    { ...samples["executor.kill"], taskId: "x".repeat(257) },
    { ...samples["event.message"], data: new Uint8Array(256 * 1024 + 1) },
  ];
  for (const msg of cases) {
    const err = throwsCode(t, () => decode(pack({ v: 1, ...msg })), ErrorCode.InvalidMessage);
    t.true(err.message.includes(String(msg.type)), err.message);
  }
});

test("codec - a missing field is INVALID_MESSAGE", (t) => {
  const drop = (msg: object, key: string): Record<string, unknown> => {
    const copy: Record<string, unknown> = { ...msg };
    delete copy[key];
    return copy;
  };
  const cases = [
    drop(samples["agent.registered"], "masterId"),
    drop(samples["agent.register"], "resources"),
    drop(samples["scheduler.acknowledge"], "uuid"),
    drop(samples["event.update"], "status"),
    { ...samples["event.update"], status: drop(sampleStatus, "timestamp") },
    drop(samples.error, "retryable"),
    drop(samples["operator.state"], "state"),
  ];
  for (const msg of cases) {
    const err = throwsCode(t, () => decode(pack({ v: 1, ...msg })), ErrorCode.InvalidMessage);
    t.regex(err.message, /^invalid /);
  }
});

test("codec - ProtocolError is an AgoraError and not retryable", (t) => {
  // fixext1 of an unregistered extension type.
  const err = t.throws(() => decode(new Uint8Array([0xd4, 0x01, 0x00])));
  t.true(err instanceof AgoraError);
  t.true(err instanceof ProtocolError);
  t.is((err as AgoraError).code, ErrorCode.BadMessage);
});

// ---------------------------------------------------------------------------
// decodeAs, decodeReply and the error wire form

test("codec - decodeAs returns an expected type and rejects an unexpected one", (t) => {
  const bytes = encode(samples["event.offers"]);
  const offers = decodeAs(bytes, ["event.offers", "event.rescind"]);
  t.is(offers.type, "event.offers");
  const err = throwsCode(
    t,
    () => decodeAs(bytes, ["event.update", "event.heartbeat"]),
    ErrorCode.UnknownType,
  );
  t.true(err.message.includes("event.offers"), err.message);
  // Bad input keeps its own code.
  throwsCode(t, () => decodeAs(new Uint8Array(0), ["ok"]), ErrorCode.BadMessage);
});

test("codec - decodeReply throws the AgoraError an encodeError carries", (t) => {
  const cases = [
    new AgoraError(ErrorCode.NotLeader, "not the leader; leader is master-2"),
    new AgoraError(ErrorCode.NotFound, "no such offer offer-9"),
    new AgoraError(ErrorCode.InvalidState, "framework is not subscribed", { retryable: true }),
    new AgoraError(ErrorCode.Timeout, "policy did not answer", { retryable: false }),
    new ProtocolError(ErrorCode.InvalidMessage, "invalid scheduler.accept: /offerIds"),
    new AgoraError("SOME_FUTURE_CODE", "a code this build does not know"),
  ];
  for (const original of cases) {
    const err = t.throws(() => decodeReply(encodeError(original), ["ok", "event.subscribed"]), {
      instanceOf: AgoraError,
    });
    t.is(err?.code, original.code);
    t.is(err?.message, original.message);
    t.is(err?.retryable, original.retryable);
  }
});

test("codec - encodeError wraps other thrown values as INTERNAL", (t) => {
  for (const thrown of [new Error("boom"), "boom"]) {
    const err = t.throws(() => decodeReply(encodeError(thrown), ["ok"]), {
      instanceOf: AgoraError,
    });
    t.is(err?.code, ErrorCode.Internal);
    t.is(err?.message, "boom");
    t.false(err?.retryable);
  }
});

test("codec - an error reply on the wire is {v, type, code, message, retryable}", (t) => {
  const raw = strictUnpack(encodeError(new AgoraError(ErrorCode.Unavailable, "no NATS")));
  t.deepEqual(raw, {
    v: 1,
    type: "error",
    code: "UNAVAILABLE",
    message: "no NATS",
    retryable: true,
  });
});

test("codec - decodeReply returns a non-error reply and rejects an unexpected one", (t) => {
  t.deepEqual(decodeReply(encode({ type: "ok" }), ["ok"]), { type: "ok" });
  const subscribed = decodeReply(encode(samples["event.subscribed"]), ["event.subscribed"]);
  t.is(subscribed.frameworkId, "fw-1");
  throwsCode(
    t,
    () => decodeReply(encode(samples["event.heartbeat"]), ["ok"]),
    ErrorCode.UnknownType,
  );
});

test("codec - AgoraError toWire and fromWire round trip", (t) => {
  for (const code of Object.values(ErrorCode)) {
    for (const retryable of [true, false]) {
      const err = new AgoraError(code, `message for ${code}`, { retryable });
      const wire = err.toWire();
      t.deepEqual(wire, { type: "error", code, message: `message for ${code}`, retryable });
      const back = AgoraError.fromWire(wire);
      t.true(back instanceof AgoraError);
      t.is(back.code, code);
      t.is(back.message, err.message);
      t.is(back.retryable, retryable);
      t.deepEqual(back.toWire(), wire);
    }
  }
});

test("codec - retryable defaults by code", (t) => {
  const retryable = new Set<string>([
    ErrorCode.NotLeader,
    ErrorCode.NotSubscribed,
    ErrorCode.Timeout,
    ErrorCode.Unavailable,
  ]);
  for (const code of Object.values(ErrorCode)) {
    t.is(new AgoraError(code, "x").retryable, retryable.has(code), code);
  }
});

test("codec - msgpackr's own types at the top level are not a message", (t) => {
  // 0xc1 (never used in MessagePack), a timestamp extension, a Set: not a plain map
  throwsCode(t, () => decode(new Uint8Array([0xc1])), ErrorCode.BadMessage);
  throwsCode(t, () => decode(pack(new Date(0))), ErrorCode.BadMessage);
});

/**
 * Malformed traffic: garbage bytes, non-map MessagePack, wrong or missing
 * versions, wrong types, known types with bad fields, oversized fields, bad
 * batches and truncated messages, spread over every subject the actors
 * listen on, some as requests (with a reply inbox) and most as publishes.
 *
 * Every payload is checked with the protocol's own decoder before it goes
 * out, and only one that no receiver can accept (the whole payload, or every
 * element of a batch, rejected) is sent: the flood can never run a task,
 * shut an agent down or tear a framework down by chance.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { Packr } from "msgpackr";
import { decodeMessages } from "../../../protocol/codec.ts";
import { ProtocolError } from "../../../protocol/errors.ts";
import { MESSAGE_TYPES, schemaOf } from "../../../protocol/registry.ts";

const packr = new Packr({ useRecords: false, variableMapSize: true });

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** True when no receiver could take anything from `data` (as a publish or as a request). */
export function rejectedByEveryone(data: Uint8Array): boolean {
  for (const batchAllowed of [true, false]) {
    try {
      const messages = decodeMessages(data, batchAllowed);
      if (messages.some((m) => !(m instanceof ProtocolError))) return false;
    } catch {
      // the whole payload is rejected
    }
  }
  return true;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function garbage(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** A value of the wrong kind for a schema property (nil is never valid, per the protocol). */
function wrongValue(random: () => number, schema: { type?: unknown }): unknown {
  switch (schema.type) {
    case "string":
      return pick(random, [12345, true, null, ["x"], { a: 1 }]);
    case "number":
    case "integer":
      return pick(random, ["7", null, Number.NaN, [1], { n: 1 }, 1.5e300 * 10]);
    case "boolean":
      return pick(random, [0, "true", null]);
    case "array":
      return pick(random, [{}, "[]", null, 3]);
    case "object":
      return pick(random, ["{}", null, [1, 2], 9]);
    default:
      return pick(random, [null, -1, "", garbage(random, 8)]);
  }
}

/** A known type with one of its fields wrong, or required fields missing. */
function badFields(random: () => number): Record<string, unknown> {
  const type = pick(random, MESSAGE_TYPES);
  const schema = schemaOf(type) as { properties?: Record<string, { type?: unknown }> };
  const props = Object.keys(schema.properties ?? {}).filter((p) => p !== "v" && p !== "type");
  const msg: Record<string, unknown> = { v: 1, type };
  if (props.length === 0) {
    msg.v = pick(random, [2, "1", 0, null]);
    return msg;
  }
  const prop = pick(random, props);
  msg[prop] = wrongValue(random, schema.properties?.[prop] ?? {});
  return msg;
}

/** One candidate payload (not yet checked). */
function candidate(random: () => number): Uint8Array {
  const kind = Math.floor(random() * 100);
  if (kind < 15) return garbage(random, 1 + Math.floor(random() * 200));
  if (kind < 20) return new Uint8Array(0);
  if (kind < 28)
    return packr.pack(pick(random, [42, "agent.register", [1, 2, 3], true, null, 1.5]));
  if (kind < 36) {
    return packr.pack({
      v: pick(random, [undefined, 0, 2, "1", null, 1.5]),
      type: pick(random, MESSAGE_TYPES),
    });
  }
  if (kind < 44) {
    return packr.pack({
      v: 1,
      type: pick(random, [7, null, "", "agent.nope", "scheduler.teardown2", ["batch"], {}]),
    });
  }
  if (kind < 78) return packr.pack(badFields(random));
  if (kind < 80) {
    // oversized fields: text over 65,536 characters, bytes over 256 KiB
    return packr.pack({
      ...badFields(random),
      message: "x".repeat(70_000),
      reason: "y".repeat(70_000),
      data: random() < 0.5 ? new Uint8Array(300 * 1024) : undefined,
    });
  }
  if (kind < 92) {
    const elements = Array.from({ length: 1 + Math.floor(random() * 5) }, () =>
      random() < 0.2 ? { type: "batch", messages: [] } : badFields(random),
    );
    return packr.pack({ v: 1, type: "batch", messages: elements });
  }
  if (kind < 95) {
    return packr.pack({ v: 1, type: "batch", messages: pick(random, [[], "x", null, 5]) });
  }
  if (kind < 96) {
    return packr.pack({
      v: 1,
      type: "batch",
      messages: Array.from({ length: 1_100 }, () => ({ type: "agent.heartbeat" })),
    });
  }
  // a message cut short
  const whole = packr.pack({ v: 1, type: "agent.register", hostname: "h", resources: { cpus: 1 } });
  return whole.subarray(0, 1 + Math.floor(random() * (whole.length - 2)));
}

/** How a reply is counted: its decoded type, or what is wrong with it. */
function replyType(data: Uint8Array, status: number | undefined): string {
  if (data.byteLength === 0 && status === 503) return "no responders";
  try {
    const decoded = decodeMessages(data, false)[0];
    return decoded instanceof ProtocolError ? "invalid reply" : (decoded?.type ?? "empty");
  } catch {
    return "undecodable";
  }
}

/** Where the flood goes. */
export interface FloodTarget {
  subject: string;
  /** The receiver serves requests there: some messages are sent with a reply inbox. */
  requests: boolean;
}

/** What a flood did. */
export interface FloodResult {
  sent: number;
  requests: number;
  /** Replies received (to the requests), by reply type. */
  replies: Map<string, number>;
  /** Candidates not sent because some receiver could have accepted them. */
  skipped: number;
}

/**
 * Sends `count` malformed payloads spread over `targets`, flushing every
 * `chunk` messages so the receivers keep up. Replies to requests are counted
 * by their decoded `type` (only `error` is right; `no responders` where
 * nobody listens) until `close()` is called.
 */
export async function flood(
  nc: NatsConnection,
  targets: readonly FloodTarget[],
  options: { count: number; seed?: number; chunk?: number; inbox: string },
): Promise<FloodResult & { close(): void }> {
  const random = seededRandom(options.seed ?? 9);
  const result: FloodResult = { sent: 0, requests: 0, replies: new Map(), skipped: 0 };
  const sub = nc.subscribe(`${options.inbox}.>`, {
    callback: (_err, m) => {
      const type = replyType(m.data, m.headers?.code);
      result.replies.set(type, (result.replies.get(type) ?? 0) + 1);
    },
  });
  const chunk = options.chunk ?? 250;
  while (result.sent < options.count) {
    const data = candidate(random);
    if (!rejectedByEveryone(data)) {
      result.skipped++;
      continue;
    }
    const target = targets[result.sent % targets.length] as FloodTarget;
    if (target.requests && random() < 0.25) {
      nc.publish(target.subject, data, { reply: `${options.inbox}.${result.sent}` });
      result.requests++;
    } else {
      nc.publish(target.subject, data);
    }
    result.sent++;
    if (result.sent % chunk === 0) await nc.flush();
  }
  await nc.flush();
  return { ...result, replies: result.replies, close: () => sub.unsubscribe() };
}

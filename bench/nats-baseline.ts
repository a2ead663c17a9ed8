/**
 * The raw NATS baseline that agora's figures are divided by: what the same
 * machine, the same nats-server and the same client library do with the same
 * payload sizes and no agora code in the path.
 *
 * - pub/sub: one publisher connection, one subscriber connection; the
 *   publisher sends windows of messages and flushes after each (a PING/PONG
 *   round trip, so it never just fills its own buffers) and never runs more
 *   than a bounded number of messages ahead of the subscriber. The rate is
 *   the subscriber's: messages received / time from its first to its last.
 * - request/reply one at a time: round trips/s and latency percentiles.
 * - request/reply with many in flight (default 100).
 *
 * Subjects are built by {@link Subjects} under a fresh prefix, so they have
 * the shape and length of agora's.
 */
import { nuid } from "@nats-io/nats-core";
import { closeGracefully, connect } from "../infra/connect.ts";
import { Subjects } from "../protocol/subjects.ts";
import { type Peer, type PeerSpec, startChildPeer, startInProcessPeer } from "./baseline-peer.ts";
import { percentile, round } from "./stats.ts";

/** Options of {@link measureNatsBaseline}. */
export interface NatsBaselineOptions {
  /** A running nats-server. */
  url: string;
  /** The payload to send; its size is what is measured. */
  payload?: Uint8Array;
  /** The payload size when no payload is given (filled with a pattern). @default 128 */
  payloadBytes?: number;
  /** How long each of the three measurements runs. @default 2000 unless `count` is given */
  durationMs?: number;
  /** Messages (pub/sub) or round trips (request/reply) per measurement, instead of a duration. */
  count?: number;
  /** Requests in flight for the pipelined request/reply measurement. @default 100 */
  inFlight?: number;
  /**
   * Where the subscriber/responder runs: a child process (the default, as the
   * master runs apart from the agents) or this process on its own connection.
   */
  peer?: "child-process" | "in-process";
  /** Messages published between two flushes. @default 1000 */
  windowSize?: number;
  /**
   * Warm-up before the clock starts (JIT, buffers, the server's subject cache):
   * messages published first, and time spent in request/reply first.
   * @default 30000 messages / 300 ms with a duration budget, none with a count budget
   */
  warmup?: { messages: number; ms: number };
  /** Which measurements to run. @default all three */
  only?: ReadonlyArray<"pubsub" | "request" | "requestInFlight">;
}

/** Pub/sub throughput. */
export interface PubSubResult {
  messages: number;
  /** Messages received by the subscriber per second. */
  msgPerSec: number;
  /** Payload megabytes per second at the subscriber (10^6 bytes). */
  mbPerSec: number;
  /** Messages published per second (publisher's view, flush included). */
  publishedPerSec: number;
  /** Messages the subscriber did not receive (slow consumer); 0 when sound. */
  lost: number;
}

/** Request/reply throughput and latency. */
export interface RequestReplyResult {
  roundTrips: number;
  inFlight: number;
  roundTripsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** Everything measured for one payload. */
export interface NatsBaselineResult {
  payloadBytes: number;
  peer: "child-process" | "in-process";
  pubsub?: PubSubResult;
  request?: RequestReplyResult;
  requestInFlight?: RequestReplyResult;
}

const DEFAULT_DURATION_MS = 2000;
const DEFAULT_WINDOW = 1000;
const DEFAULT_WARMUP = { messages: 30_000, ms: 300 };
const DEFAULT_IN_FLIGHT = 100;
const REQUEST_TIMEOUT_MS = 10_000;
/** The publisher never runs further ahead of the subscriber than this many bytes. */
const MAX_LAG_BYTES = 8 * 1024 * 1024;
/** How long the subscriber may take to catch up after the last publish. */
const DRAIN_TIMEOUT_MS = 15_000;

/** A measurement ends after `count` operations or after `durationMs`. */
interface Budget {
  count?: number;
  durationMs: number;
}

function budgetOf(options: NatsBaselineOptions): Budget {
  return options.count !== undefined
    ? { count: options.count, durationMs: Number.POSITIVE_INFINITY }
    : { durationMs: options.durationMs ?? DEFAULT_DURATION_MS };
}

function warmupOf(options: NatsBaselineOptions): { messages: number; ms: number } {
  return options.warmup ?? (options.count !== undefined ? { messages: 0, ms: 0 } : DEFAULT_WARMUP);
}

function patternPayload(bytes: number): Uint8Array {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = i & 0xff;
  return data;
}

function startPeer(options: NatsBaselineOptions, spec: PeerSpec): Promise<Peer> {
  return (options.peer ?? "child-process") === "child-process"
    ? startChildPeer(spec)
    : startInProcessPeer(spec);
}

/**
 * Measures raw NATS pub/sub and request/reply on a real nats-server with one
 * payload. Each measurement has its own connections and subject.
 */
export async function measureNatsBaseline(
  options: NatsBaselineOptions,
): Promise<NatsBaselineResult> {
  const payload = options.payload ?? patternPayload(options.payloadBytes ?? 128);
  const only = new Set(options.only ?? ["pubsub", "request", "requestInFlight"]);
  const result: NatsBaselineResult = {
    payloadBytes: payload.byteLength,
    peer: options.peer ?? "child-process",
  };
  if (only.has("pubsub")) result.pubsub = await measurePubSub(options, payload);
  if (only.has("request")) result.request = await measureRequestReply(options, payload, 1);
  if (only.has("requestInFlight")) {
    result.requestInFlight = await measureRequestReply(
      options,
      payload,
      options.inFlight ?? DEFAULT_IN_FLIGHT,
    );
  }
  return result;
}

function freshSubjects(): Subjects {
  return new Subjects(`bench${nuid.next().toLowerCase()}`);
}

async function measurePubSub(
  options: NatsBaselineOptions,
  payload: Uint8Array,
): Promise<PubSubResult> {
  const subject = freshSubjects().masterAgent("baseline-agent-0000001");
  const warmup = warmupOf(options).messages;
  const peer = await startPeer(options, {
    kind: "start",
    url: options.url,
    mode: "count",
    subject,
    skip: warmup,
  });
  const nc = await connect({ servers: options.url, name: "baseline-publisher" });
  const budget = budgetOf(options);
  const window = options.windowSize ?? DEFAULT_WINDOW;
  const maxLag = Math.max(window * 2, Math.floor(MAX_LAG_BYTES / Math.max(1, payload.byteLength)));
  let sent = 0;
  try {
    for (let done = 0; done < warmup; done += window) {
      for (let i = 0; i < Math.min(window, warmup - done); i++) nc.publish(subject, payload);
      await nc.flush();
    }
    while (peer.progress().skipped < warmup) await peer.nextProgress();
    const start = performance.now();
    const deadline = start + budget.durationMs;
    while ((budget.count === undefined || sent < budget.count) && performance.now() < deadline) {
      const n = budget.count === undefined ? window : Math.min(window, budget.count - sent);
      for (let i = 0; i < n; i++) nc.publish(subject, payload);
      sent += n;
      await nc.flush();
      while (sent - peer.progress().count > maxLag) await peer.nextProgress();
    }
    const publishedSeconds = (performance.now() - start) / 1000;
    const drainDeadline = performance.now() + DRAIN_TIMEOUT_MS;
    while (peer.progress().count < sent && performance.now() < drainDeadline) {
      await peer.nextProgress();
    }
    const last = await peer.stop();
    const seconds = Math.max(1e-6, (last.lastAt - last.firstAt) / 1000);
    const msgPerSec = last.count > 1 ? (last.count - 1) / seconds : 0;
    return {
      messages: last.count,
      msgPerSec: round(msgPerSec),
      mbPerSec: round((msgPerSec * payload.byteLength) / 1e6, 2),
      publishedPerSec: round(sent / publishedSeconds),
      lost: sent - last.count,
    };
  } finally {
    await closeGracefully(nc);
    await peer.stop().catch(() => undefined);
  }
}

async function measureRequestReply(
  options: NatsBaselineOptions,
  payload: Uint8Array,
  inFlight: number,
): Promise<RequestReplyResult> {
  const subject = freshSubjects().masterRegister();
  const peer = await startPeer(options, { kind: "start", url: options.url, mode: "echo", subject });
  const nc = await connect({ servers: options.url, name: "baseline-requester" });
  const budget = budgetOf(options);
  const latencies: number[] = [];
  let started = 0;
  try {
    // warm the request mux (its inbox subscription), the JIT and the peer first
    const warmupUntil = performance.now() + warmupOf(options).ms;
    do {
      await nc.request(subject, payload, { timeout: REQUEST_TIMEOUT_MS });
    } while (performance.now() < warmupUntil);
    const start = performance.now();
    const deadline = start + budget.durationMs;
    const more = () =>
      (budget.count === undefined || started < budget.count) && performance.now() < deadline;
    const worker = async () => {
      while (more()) {
        started++;
        const t0 = performance.now();
        await nc.request(subject, payload, { timeout: REQUEST_TIMEOUT_MS });
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const seconds = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      roundTrips: latencies.length,
      inFlight,
      roundTripsPerSec: round(latencies.length / seconds),
      p50Ms: round(percentile(latencies, 0.5), 3),
      p99Ms: round(percentile(latencies, 0.99), 3),
    };
  } finally {
    await closeGracefully(nc);
    await peer.stop();
  }
}

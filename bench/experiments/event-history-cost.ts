/**
 * Experiment: what the event history costs, and how the master should publish
 * into it. The master's cluster events (real `cluster.taskUpdated` and
 * `cluster.offerSent` messages in `batch` envelopes, as its Batcher sends them)
 * are published on a fresh nats-server with JetStream, in four modes:
 *
 * - `live`: no stream (`--events-stream=false`), a core publish;
 * - `stream`: the history stream captures the subject, still a core publish (what the master does);
 * - `js-publish`: the same stream, a JetStream publish per envelope (acknowledged, 256 in flight);
 *
 * and reports CPU time of the publisher and of nats-server per event, and the
 * stream's bytes per event (CPU time, not wall time: the machine is shared).
 *
 *   node --import=tsx bench/experiments/event-history-cost.ts [events]
 */
import { randomUUID } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { closeGracefully, connect } from "../../infra/connect.ts";
import { eventStreamConfig } from "../../infra/event-stream.ts";
import { silentLogger } from "../../infra/logger.ts";
import { startNatsServer } from "../../infra/nats-server.ts";
import { encodeBatch } from "../../protocol/codec.ts";
import type { Message } from "../../protocol/registry.ts";
import { eventStreamName } from "../../protocol/store.ts";
import { ClusterEventKind, Subjects } from "../../protocol/subjects.ts";
import { cpuTimeMs } from "../proc.ts";
import { round } from "../stats.ts";

type Mode = "live" | "stream" | "js-publish";
const EVENTS = Number(process.argv[2] ?? 200_000);
/** Envelope sizes: task updates come a few dozen at a time, offers a cycle's chunk at a time. */
const WORKLOADS = [
  { kind: ClusterEventKind.TaskUpdated, perEnvelope: 64 },
  { kind: ClusterEventKind.OfferSent, perEnvelope: 1000 },
] as const;

function event(kind: ClusterEventKind, i: number): Message {
  const resources = { cpus: 1, mem: 128, ports: [[31000, 31000]] as Array<[number, number]> };
  if (kind === ClusterEventKind.OfferSent) {
    return {
      type: "cluster.offersSent",
      timestamp: Date.now(),
      offers: [
        {
          offerId: `m1-O${i}`,
          frameworkId: "m1-0001",
          agentId: `m1-S${i % 50_000}`,
          role: "*",
          resources,
        },
      ],
    };
  }
  return {
    type: "cluster.taskUpdated",
    timestamp: Date.now(),
    frameworkId: "m1-0001",
    agentId: `m1-S${i % 50_000}`,
    taskId: randomUUID(),
    name: `task-${i}`,
    state: "TASK_RUNNING",
    previousState: "TASK_STARTING",
    resources,
  };
}

async function run(nc: NatsConnection, serverPid: number, subjects: Subjects, mode: Mode) {
  const jsm = await jetstreamManager(nc);
  const name = eventStreamName(subjects.prefix);
  await jsm.streams.delete(name).catch(() => false);
  if (mode !== "live") {
    await jsm.streams.add(
      eventStreamConfig(subjects, {
        kinds: ["all"],
        maxAgeMs: 3_600_000,
        maxBytes: 4 * 1024 ** 3,
        replicas: 1,
      }),
    );
  }
  const js = jetstream(nc);
  const rows = [];
  let stored = 0;
  for (const { kind, perEnvelope } of WORKLOADS) {
    const subject = subjects.event(kind);
    const envelopes: Uint8Array[] = [];
    for (let i = 0; i < EVENTS; i += perEnvelope) {
      const n = Math.min(perEnvelope, EVENTS - i);
      envelopes.push(encodeBatch(Array.from({ length: n }, (_, j) => event(kind, i + j))));
    }
    const before = (await jsm.streams.info(name).catch(() => undefined))?.state.bytes ?? 0;
    await nc.flush();
    const server0 = cpuTimeMs(serverPid) ?? 0;
    const self0 = process.cpuUsage();
    if (mode === "js-publish") {
      const inFlight = new Set<Promise<unknown>>();
      for (const data of envelopes) {
        const p = js.publish(subject, data).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= 256) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    } else {
      for (const data of envelopes) nc.publish(subject, data);
    }
    await nc.flush();
    stored += envelopes.length;
    if (mode !== "live") {
      // the server has stored everything once the stream holds the last envelope
      for (;;) {
        const info = await jsm.streams.info(name);
        if (info.state.messages >= stored) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const self = process.cpuUsage(self0);
    const server = (cpuTimeMs(serverPid) ?? 0) - server0;
    const after = (await jsm.streams.info(name).catch(() => undefined))?.state.bytes ?? 0;
    rows.push({
      mode,
      kind,
      perEnvelope,
      publisherUsPerEvent: round((self.user + self.system) / EVENTS, 3),
      serverUsPerEvent: round((server * 1000) / EVENTS, 3),
      streamBytesPerEvent: round((after - before) / EVENTS, 1),
    });
  }
  return rows;
}

const server = await startNatsServer();
const nc = await connect({ servers: server.url, name: "history-cost", logger: silentLogger() });
try {
  const all = [];
  // each mode twice, interleaved, to see the machine's noise
  for (const mode of ["live", "stream", "js-publish", "live", "stream", "js-publish"] as Mode[]) {
    all.push(...(await run(nc, server.pid, new Subjects(`cost${all.length}`), mode)));
  }
  console.table(all);
} finally {
  await closeGracefully(nc);
  await server.stop();
}

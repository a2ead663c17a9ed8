/**
 * Experiment: would batching status updates in the protocol pay off?
 *
 * An agent publishes fresh task status updates (new uuid and timestamp each,
 * encoded on the spot) to a receiver in another process that decodes and
 * validates every one, as the master's inbound path does. K = 1 is today's
 * `agent.update` through the real codec; K > 1 is a hypothetical
 * `agent.updates {updates: [{frameworkId, status}]}` holding K statuses,
 * validated by a TypeBox schema built from protocol's own `TaskStatus`
 * exactly as registry.ts compiles message schemas.
 *
 *   node --import=tsx bench/experiments/update-batching.ts [durationMs] [K,K,...]
 */
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NatsConnection } from "@nats-io/nats-core";
import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Packr, Unpackr } from "msgpackr";
import { closeGracefully, connect } from "../../infra/connect.ts";
import { startNatsServer } from "../../infra/nats-server.ts";
import { decode, encode } from "../../protocol/codec.ts";
import { Id, message, TaskSource, TaskState, TaskStatus } from "../../protocol/common.ts";
import { Subjects } from "../../protocol/subjects.ts";
import { round } from "../stats.ts";

/** The hypothetical batch message. */
const AgentUpdates = message("agent.updates", {
  v: Type.Literal(1),
  updates: Type.Array(Type.Object({ frameworkId: Id, status: TaskStatus }), {
    minItems: 1,
    maxItems: 10_000,
  }),
});
const checkBatch = TypeCompiler.Compile(AgentUpdates);
// the codec's own MessagePack settings
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: "number",
  copyBuffers: true,
});

const FRAMEWORK_ID = "20251124-160000-a1b2c3-F0001";
const AGENT_ID = "20251124-160000-a1b2c3-S12345";
let taskSeq = 0;

function status(): TaskStatus {
  const taskId = `task-${String(taskSeq++).padStart(9, "0")}`;
  return {
    taskId,
    state: TaskState.Running,
    agentId: AGENT_ID,
    executorId: taskId,
    source: TaskSource.Executor,
    uuid: randomUUID(),
    timestamp: Date.now(),
  };
}

function encodeBatch(k: number): Uint8Array {
  if (k === 1) return encode({ type: "agent.update", frameworkId: FRAMEWORK_ID, status: status() });
  const updates = Array.from({ length: k }, () => ({
    frameworkId: FRAMEWORK_ID,
    status: status(),
  }));
  return packr.pack({ v: 1, type: "agent.updates", updates });
}

/** Decodes one message as the master would; returns the number of updates in it. */
function decodeBatch(data: Uint8Array, k: number): number {
  if (k === 1) {
    decode(data);
    return 1;
  }
  const value = unpackr.unpack(data) as { updates?: unknown[] };
  if (!checkBatch.Check(value)) throw new Error("invalid agent.updates batch");
  return value.updates?.length ?? 0;
}

interface Report {
  updates: number;
  messages: number;
  firstAt: number;
  lastAt: number;
  cpuMs: number;
}

async function receiver(): Promise<void> {
  const spec = await new Promise<{ url: string; subject: string; k: number }>((resolve) =>
    process.once("message", (m) => resolve(m as { url: string; subject: string; k: number })),
  );
  const nc = await connect({ servers: spec.url, name: "batching-receiver" });
  const report: Report = { updates: 0, messages: 0, firstAt: 0, lastAt: 0, cpuMs: 0 };
  let cpu0 = 0;
  nc.subscribe(spec.subject, {
    callback: (_, m) => {
      const now = performance.now();
      if (report.messages === 0) {
        report.firstAt = now;
        const u = process.cpuUsage();
        cpu0 = (u.user + u.system) / 1000;
      }
      report.updates += decodeBatch(m.data, spec.k);
      report.messages++;
      report.lastAt = now;
    },
  });
  await nc.flush();
  process.send?.({ kind: "ready" });
  const timer = setInterval(() => process.send?.({ kind: "progress", ...report }), 20);
  await new Promise<void>((resolve) => process.once("message", () => resolve()));
  clearInterval(timer);
  const u = process.cpuUsage();
  report.cpuMs = (u.user + u.system) / 1000 - cpu0;
  process.send?.({ kind: "final", ...report });
  await closeGracefully(nc);
  process.disconnect?.();
}

async function measure(url: string, k: number, durationMs: number) {
  const subject = new Subjects("batching").masterAgent(AGENT_ID);
  const child = fork(fileURLToPath(import.meta.url), ["--receiver"], {
    execArgv: ["--import=tsx"],
    cwd: path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", ".."),
  });
  let progress: Report = { updates: 0, messages: 0, firstAt: 0, lastAt: 0, cpuMs: 0 };
  let final: ((r: Report) => void) | undefined;
  let ready: (() => void) | undefined;
  child.on("message", (m) => {
    const msg = m as { kind: string } & Report;
    if (msg.kind === "ready") ready?.();
    if (msg.kind === "progress") progress = msg;
    if (msg.kind === "final") final?.(msg);
  });
  await new Promise<void>((resolve) => {
    ready = resolve;
    child.send({ url, subject, k });
  });
  const nc: NatsConnection = await connect({ servers: url, name: "batching-sender" });
  const window = Math.max(1, Math.round(1000 / k));
  const maxLagMessages = window * 20;
  let sentMessages = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (performance.now() - start < durationMs) {
    for (let i = 0; i < window; i++) nc.publish(subject, encodeBatch(k));
    sentMessages += window;
    await nc.flush();
    while (sentMessages - progress.messages > maxLagMessages) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  const cpu = process.cpuUsage(cpu0);
  while (progress.messages < sentMessages) await new Promise((resolve) => setTimeout(resolve, 5));
  const report = await new Promise<Report>((resolve) => {
    final = resolve;
    child.send({ kind: "stop" });
  });
  await closeGracefully(nc);
  const seconds = (report.lastAt - report.firstAt) / 1000;
  const senderCpuMs = (cpu.user + cpu.system) / 1000;
  return {
    k,
    bytesPerMessage: encodeBatch(k).byteLength,
    updatesPerSec: round(report.updates / seconds),
    messagesPerSec: round(report.messages / seconds),
    receiverCpuUsPerUpdate: round((report.cpuMs * 1000) / report.updates, 2),
    senderCpuUsPerUpdate: round((senderCpuMs * 1000) / (sentMessages * k), 2),
  };
}

async function main(): Promise<void> {
  const durationMs = Number(process.argv[2] ?? 2000);
  const ks = (process.argv[3] ?? "1,10,50,200").split(",").map(Number);
  const server = await startNatsServer({ jetstream: false });
  try {
    const rows = [];
    for (const k of ks) rows.push(await measure(server.url, k, durationMs));
    console.table(rows);
  } finally {
    await server.stop();
  }
}

if (process.argv.includes("--receiver")) await receiver();
else await main();

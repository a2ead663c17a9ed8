/**
 * Part of the `registration` phase: what writing the registry to JetStream KV
 * costs per registration. The same N agents register with a fresh master run
 * with `--registry memory`, then with `--registry kv` (where an agent is
 * registered only once its entry is stored, before the reply): both rates,
 * their ratio, the latency p50 of each, and the master CPU per registration
 * of each (the difference is the KV write's cost in the master). Without
 * `--registry` in `agora master --help`, one row says so.
 */
import { nuid } from "@nats-io/nats-core";
import { closeGracefully, connect } from "../../infra/connect.ts";
import { Subjects } from "../../protocol/subjects.ts";
import { type AgentEmulator, startAgentEmulator } from "../emulator/index.ts";
import { commandFlags, needsFlag, REGISTRY_FLAG } from "../features.ts";
import { type MasterProcess, startMasterProcess } from "../master-process.ts";
import { cpuTimeMs } from "../proc.ts";
import { sleep, within } from "../sampling.ts";
import { ratio, round } from "../stats.ts";
import type { BenchContext, Figure } from "./types.ts";

/** Lets the master's startup settle before its CPU is read. */
const SETTLE_MS = 500;

interface RegistryRun {
  registry: string;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  durationMs: number;
  masterCpuUsPerRegistration: number | undefined;
}

async function registerWith(
  ctx: BenchContext,
  via: "cli" | "createMaster",
  registry: "kv" | "memory",
): Promise<RegistryRun> {
  const o = ctx.options;
  const subjects = new Subjects(`bench${nuid.next().toLowerCase()}`);
  const nc = await connect({ servers: ctx.url, name: "bench-control" });
  let master: MasterProcess | undefined;
  let emulator: AgentEmulator | undefined;
  try {
    master = await startMasterProcess(nc, {
      url: ctx.url,
      subjects,
      via,
      logLevel: o.masterLogLevel,
      args: [REGISTRY_FLAG, registry],
    });
    await sleep(SETTLE_MS);
    const cpu0 = cpuTimeMs(master.pid);
    emulator = await startAgentEmulator({
      servers: ctx.url,
      connections: o.connections,
      subjects,
      count: o.agents,
      registrationConcurrency: o.registrationConcurrency,
    });
    await within(emulator.ready, Math.max(60_000, o.agents * 5), `registration (${registry})`);
    const cpu1 = cpuTimeMs(master.pid);
    const reg = emulator.stats().registration;
    return {
      registry,
      perSec: reg.perSec,
      p50Ms: reg.p50Ms,
      p99Ms: reg.p99Ms,
      durationMs: reg.durationMs,
      masterCpuUsPerRegistration:
        cpu0 === undefined || cpu1 === undefined
          ? undefined
          : round(((cpu1 - cpu0) * 1000) / o.agents),
    };
  } finally {
    await emulator?.stop();
    await master?.stop();
    await closeGracefully(nc);
  }
}

/** The rows of the registry's cost, and what they were computed from. */
export async function registryCostFigures(
  ctx: BenchContext,
  via: "cli" | "createMaster",
): Promise<{ figures: Figure[]; details: Record<string, unknown> }> {
  const flags = await commandFlags("master");
  if (via !== "cli" || !flags.has(REGISTRY_FLAG)) {
    return {
      figures: [
        needsFlag(
          "registration with and without the KV registry",
          "master",
          `${REGISTRY_FLAG} kv|memory`,
        ),
      ],
      details: { available: false },
    };
  }
  ctx.log(`registration: ${ctx.options.agents} agents with --registry memory, then kv`);
  const memory = await registerWith(ctx, via, "memory");
  const kv = await registerWith(ctx, via, "kv");
  const baseline = (value: number | undefined) => ({
    baseline: { name: "the same with --registry memory", value },
  });
  const cost =
    kv.masterCpuUsPerRegistration === undefined || memory.masterCpuUsPerRegistration === undefined
      ? undefined
      : round(kv.masterCpuUsPerRegistration - memory.masterCpuUsPerRegistration, 1);
  const figures: Figure[] = [
    { name: "registration rate, --registry memory", value: memory.perSec, unit: "reg/s" },
    {
      name: "registration rate, --registry kv (stored before the reply)",
      value: kv.perSec,
      unit: "reg/s",
      ...baseline(memory.perSec),
      ratio: ratio(kv.perSec, memory.perSec),
    },
    {
      name: "registration latency p50, --registry kv",
      value: kv.p50Ms,
      unit: "ms",
      ...baseline(memory.p50Ms),
      ratio: ratio(kv.p50Ms, memory.p50Ms),
    },
    {
      name: "master CPU per registration, --registry kv",
      value: kv.masterCpuUsPerRegistration,
      unit: "µs",
      ...baseline(memory.masterCpuUsPerRegistration),
      ratio: ratio(kv.masterCpuUsPerRegistration, memory.masterCpuUsPerRegistration),
    },
    { name: "  KV write cost per registration (master CPU, kv − memory)", value: cost, unit: "µs" },
  ];
  return { figures, details: { available: true, memory, kv, kvCpuUsPerRegistration: cost } };
}

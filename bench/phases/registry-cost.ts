/**
 * Part of the `registration` phase: what writing the registry to JetStream KV
 * costs per registration. The same N agents register with a fresh master run
 * with `--registry memory` and one with `--registry kv` (where an agent is
 * registered only once its entry is stored, before the reply), twice each in
 * the order memory, kv, kv, memory, the faster run of each kept: both rates,
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
  natsCpuUsPerRegistration: number | undefined;
}

/** Agents of each run: the phase's, and at least this many with `--quick` (shorter runs are noise). */
const QUICK_MIN_AGENTS = 5000;

function perRegistrationUs(a: number | undefined, b: number | undefined, n: number) {
  return a === undefined || b === undefined ? undefined : round(((b - a) * 1000) / n);
}

async function registerWith(
  ctx: BenchContext,
  via: "cli" | "createMaster",
  registry: "kv" | "memory",
  agents: number,
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
    const nats0 = ctx.natsPid === undefined ? undefined : cpuTimeMs(ctx.natsPid);
    emulator = await startAgentEmulator({
      servers: ctx.url,
      connections: o.connections,
      subjects,
      count: agents,
      registrationConcurrency: o.registrationConcurrency,
    });
    await within(emulator.ready, Math.max(60_000, agents * 5), `registration (${registry})`);
    const cpu1 = cpuTimeMs(master.pid);
    const nats1 = ctx.natsPid === undefined ? undefined : cpuTimeMs(ctx.natsPid);
    const reg = emulator.stats().registration;
    return {
      registry,
      perSec: reg.perSec,
      p50Ms: reg.p50Ms,
      p99Ms: reg.p99Ms,
      durationMs: reg.durationMs,
      masterCpuUsPerRegistration: perRegistrationUs(cpu0, cpu1, agents),
      natsCpuUsPerRegistration: perRegistrationUs(nats0, nats1, agents),
    };
  } finally {
    await emulator?.stop();
    await master?.stop();
    await closeGracefully(nc);
  }
}

/** The faster of the runs of one registry (its own figures, not mixed with the other's). */
function best(runs: RegistryRun[]): RegistryRun {
  return runs.reduce((a, b) => (b.perSec > a.perSec ? b : a));
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
  const agents = ctx.options.quick
    ? Math.max(ctx.options.agents, QUICK_MIN_AGENTS)
    : ctx.options.agents;
  // memory, kv, kv, memory: a drift of the machine's load over the runs weighs on both alike;
  // each side keeps its better run (short runs on a shared machine only get slower by noise)
  ctx.log(`registration: ${agents} agents with --registry memory, kv, kv, memory`);
  const runs: RegistryRun[] = [];
  for (const registry of ["memory", "kv", "kv", "memory"] as const) {
    runs.push(await registerWith(ctx, via, registry, agents));
  }
  const memory = best(runs.filter((r) => r.registry === "memory"));
  const kv = best(runs.filter((r) => r.registry === "kv"));
  const baseline = (value: number | undefined) => ({
    baseline: { name: "the same with --registry memory", value },
  });
  const cost =
    kv.masterCpuUsPerRegistration === undefined || memory.masterCpuUsPerRegistration === undefined
      ? undefined
      : round(kv.masterCpuUsPerRegistration - memory.masterCpuUsPerRegistration, 1);
  const figures: Figure[] = [
    {
      name: `registration rate, --registry memory (${agents} agents)`,
      value: memory.perSec,
      unit: "reg/s",
    },
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
    {
      name: "nats-server CPU per registration, --registry kv",
      value: kv.natsCpuUsPerRegistration,
      unit: "µs",
      ...baseline(memory.natsCpuUsPerRegistration),
      ratio: ratio(kv.natsCpuUsPerRegistration, memory.natsCpuUsPerRegistration),
    },
  ];
  return {
    figures,
    details: { available: true, agents, memory, kv, runs, kvCpuUsPerRegistration: cost },
  };
}

/**
 * `npm run bench`: everything on this machine — a nats-server, the raw NATS
 * baseline, the master in its own process and the agent emulator — then a
 * table on stdout and JSON in bench/results/latest.json (DESIGN.md §8).
 *
 *   node --import=tsx bench/run.ts [--quick] [--agents N] [--phases a,b] ...
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { formatHelp, type OptionSpecs, resolveOptions } from "../infra/config.ts";
import { findNatsServer, startNatsServer } from "../infra/nats-server.ts";
import { REPO_ROOT } from "./master-process.ts";
import { PHASE_NAMES, PHASES } from "./phases/index.ts";
import type { BenchContext, BenchOptions } from "./phases/types.ts";
import { type BenchReport, formatTable, machineInfo } from "./report.ts";

const BENCH_OPTIONS = {
  quick: {
    kind: "boolean",
    flag: "quick",
    default: false,
    help: "a short run: 1000 agents, 1 s baseline measurements, 3 s heartbeat window",
  },
  agents: {
    kind: "integer",
    flag: "agents",
    placeholder: "N",
    help: "emulated agents to register (default 10000; 1000 with --quick)",
  },
  duration: {
    kind: "duration",
    flag: "duration",
    placeholder: "DURATION",
    help: "length of each baseline measurement (default 2s; 1s with --quick)",
  },
  peer: {
    kind: "string",
    flag: "baseline-peer",
    default: "child-process",
    placeholder: "WHERE",
    help: "where the baseline subscriber/responder runs: child-process or in-process",
  },
  heartbeatWindow: {
    kind: "duration",
    flag: "heartbeat-window",
    placeholder: "DURATION",
    help: "how long registered agents heartbeat while the master is watched (default 15s; 3s with --quick)",
  },
  registrationConcurrency: {
    kind: "integer",
    flag: "registration-concurrency",
    default: 100,
    placeholder: "N",
    help: "registration requests in flight",
  },
  connections: {
    kind: "integer",
    flag: "connections",
    default: 1,
    placeholder: "N",
    help: "NATS connections of the agent emulator",
  },
  masterLogLevel: {
    kind: "string",
    flag: "master-log-level",
    default: "warn",
    placeholder: "LEVEL",
    help: "AGORA_LOG_LEVEL of the master process",
  },
  phases: {
    kind: "strings",
    flag: "phases",
    default: [],
    placeholder: "NAMES",
    help: `phases to run, comma-separated (default all: ${PHASE_NAMES.join(", ")})`,
  },
  out: {
    kind: "string",
    flag: "out",
    default: "bench/results/latest.json",
    placeholder: "FILE",
    help: "where the JSON report is written, relative to the repository",
  },
} as const satisfies OptionSpecs;

async function natsServerVersion(): Promise<string | undefined> {
  try {
    const bin = await findNatsServer();
    const { stdout } = await promisify(execFile)(bin, ["--version"]);
    return stdout.trim().replace(/^nats-server:\s*/, "");
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, help } = resolveOptions(BENCH_OPTIONS, { argv, env: {} });
  if (help) {
    process.stdout.write(
      formatHelp(
        "node --import=tsx bench/run.ts [options]",
        "Measures agora against the raw NATS baseline on this machine.",
        BENCH_OPTIONS,
      ),
    );
    return 0;
  }
  if (values.peer !== "child-process" && values.peer !== "in-process") {
    throw new Error(`--baseline-peer: expected child-process or in-process, got ${values.peer}`);
  }
  const phases = values.phases.flatMap((p) => p.split(",")).filter((p) => p !== "");
  const unknown = phases.filter((p) => !PHASE_NAMES.includes(p));
  if (unknown.length > 0) {
    throw new Error(`--phases: unknown ${unknown.join(", ")} (known: ${PHASE_NAMES.join(", ")})`);
  }
  const options: BenchOptions = {
    quick: values.quick,
    agents: values.agents ?? (values.quick ? 1000 : 10_000),
    baselineDurationMs: values.duration ?? (values.quick ? 1000 : 2000),
    baselinePeer: values.peer,
    heartbeatWindowMs: values.heartbeatWindow ?? (values.quick ? 3000 : 15_000),
    registrationConcurrency: values.registrationConcurrency,
    connections: values.connections,
    masterLogLevel: values.masterLogLevel,
  };
  const selected = phases.length === 0 ? PHASE_NAMES : phases;
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const server = await startNatsServer();
  const report: BenchReport = {
    version: 1,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    machine: machineInfo(),
    natsServer: { version: await natsServerVersion() },
    options,
    phases: [],
  };
  try {
    const ctx: BenchContext = { url: server.url, options, baseline: undefined, log };
    for (const phase of PHASES) {
      if (!selected.includes(phase.name)) continue;
      let result: Awaited<ReturnType<typeof phase.run>>;
      try {
        result = await phase.run(ctx);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        log(`${phase.name} failed: ${reason}`);
        result = { status: "failed", reason, figures: [], details: {} };
      }
      report.phases.push({ name: phase.name, description: phase.description, ...result });
    }
  } finally {
    await server.stop();
  }
  report.durationMs = Date.now() - started;
  process.stdout.write(`${formatTable(report)}\n`);
  const out = path.resolve(REPO_ROOT, values.out);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nJSON: ${path.relative(process.cwd(), out) || out}\n`);
  return report.phases.some((p) => p.status === "failed") ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

/**
 * `npm run bench`: everything on this machine — a nats-server, the raw NATS
 * baseline, the master in its own process, the agent emulator, the load
 * framework and a real agent — then a table on stdout and JSON in
 * bench/results/latest.json (DESIGN.md §8).
 *
 *   node --import=tsx bench/run.ts [--quick] [--agents N] [--phases a,b] [--profile] ...
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { formatHelp, type OptionSpecs, resolveOptions } from "../infra/config.ts";
import { findNatsServer } from "../infra/nats-server.ts";
import { DEFAULT_TASK_SHAPE } from "./load/index.ts";
import { REPO_ROOT } from "./master-process.ts";
import { startMonitoredNatsServer } from "./nats-monitor.ts";
import { PHASE_NAMES, PHASES } from "./phases/index.ts";
import type { BenchContext, BenchOptions } from "./phases/types.ts";
import { type BenchReport, formatTable, machineInfo } from "./report.ts";

const BENCH_OPTIONS = {
  quick: {
    kind: "boolean",
    flag: "quick",
    default: false,
    help: "a short run (about two minutes): 1000 agents, 1 s baseline measurements, 3 s heartbeat window, 10,000 tasks, 20 real tasks, a failover of 2000 agents with 4000 tasks, an agent restart with 20 tasks",
  },
  agents: {
    kind: "integer",
    flag: "agents",
    placeholder: "N",
    help: "emulated agents of the registration phase (default 50000; 1000 with --quick)",
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
  allocationAgents: {
    kind: "strings",
    flag: "allocation-agents",
    default: [],
    placeholder: "N,...",
    help: "agent counts of the allocation phase (default 1000,10000,50000; 1000 with --quick)",
  },
  allocationFrameworks: {
    kind: "strings",
    flag: "allocation-frameworks",
    default: [],
    placeholder: "N,...",
    help: "framework counts of the allocation phase (default 10,100; 10 with --quick)",
  },
  allocationCycles: {
    kind: "integer",
    flag: "allocation-cycles",
    placeholder: "N",
    help: "timed allocation cycles per scenario (default 20; 5 with --quick)",
  },
  allocationBudget: {
    kind: "duration",
    flag: "allocation-budget",
    placeholder: "DURATION",
    help: "a scenario times no more cycles after this (default 20s; 3s with --quick)",
  },
  tasks: {
    kind: "integer",
    flag: "tasks",
    placeholder: "N",
    help: "tasks of the peak run; the half-of-peak run has half as many (default 200000; 10000 with --quick)",
  },
  memoryTasks: {
    kind: "integer",
    flag: "memory-tasks",
    placeholder: "N",
    help: "live tasks held to measure the master's memory per task (default 100000; 10000 with --quick)",
  },
  taskAgents: {
    kind: "integer",
    flag: "task-agents",
    placeholder: "N",
    help: "emulated agents of the tasks phase (default 10000; 1000 with --quick)",
  },
  frameworks: {
    kind: "integer",
    flag: "frameworks",
    default: 10,
    placeholder: "N",
    help: "load frameworks of the tasks phase",
  },
  taskShape: {
    kind: "string",
    flag: "task-shape",
    default: DEFAULT_TASK_SHAPE,
    placeholder: "RESOURCES",
    help: "resources of each task of the tasks phase",
  },
  taskDuration: {
    kind: "duration",
    flag: "task-duration",
    default: 0,
    placeholder: "DURATION",
    help: "how long an emulated task runs (0: FINISHED as soon as RUNNING is acknowledged)",
  },
  maxInFlight: {
    kind: "integer",
    flag: "max-in-flight",
    default: 10_000,
    placeholder: "N",
    help: "tasks of the tasks phase accepted and not yet RUNNING at most (0: unlimited)",
  },
  transport: {
    kind: "string",
    flag: "transport",
    default: "lite",
    placeholder: "KIND",
    help: "how the load frameworks talk to the master: lite (message level) or driver (SchedulerDriver)",
  },
  masterAllocationInterval: {
    kind: "duration",
    flag: "master-allocation-interval",
    placeholder: "DURATION",
    help: "--allocation-interval of the master in the tasks, processes, failover and agent-restart phases (default: the master's; 100ms in processes and agent-restart)",
  },
  processTasks: {
    kind: "integer",
    flag: "process-tasks",
    placeholder: "N",
    help: "real `true` tasks of the processes phase (default 200; 20 with --quick)",
  },
  processResources: {
    kind: "string",
    flag: "process-resources",
    default: "cpus:2;mem:4096",
    placeholder: "RESOURCES",
    help: "--resources of the real agent of the processes phase",
  },
  processShape: {
    kind: "string",
    flag: "process-shape",
    default: "cpus:0.5;mem:64",
    placeholder: "RESOURCES",
    help: "resources of each real task (with the agent's cpus: how many run at once)",
  },
  failoverAgents: {
    kind: "integer",
    flag: "failover-agents",
    placeholder: "N",
    help: "emulated agents of the failover phase (default 50000; 2000 with --quick)",
  },
  failoverTasks: {
    kind: "integer",
    flag: "failover-tasks",
    placeholder: "N",
    help: "tasks held running through the failover (default 100000; 4000 with --quick)",
  },
  failoverTimeout: {
    kind: "duration",
    flag: "failover-timeout",
    placeholder: "DURATION",
    help: "how long after the kill the failover phase waits for its marks (default 2mins; 1min with --quick)",
  },
  failoverBackoffMax: {
    kind: "duration",
    flag: "failover-backoff-max",
    default: 2000,
    placeholder: "DURATION",
    help: "cap of the emulated agents' reregistration backoff while no master answers",
  },
  failoverConcurrency: {
    kind: "integer",
    flag: "failover-reregistration-concurrency",
    default: 500,
    placeholder: "N",
    help: "reregistration requests of the emulated agents in flight at most (and started per 20 ms tick)",
  },
  restartTasks: {
    kind: "integer",
    flag: "restart-tasks",
    placeholder: "N",
    help: "running `sleep` tasks of the real agent killed and restarted (default 100; 20 with --quick)",
  },
  profile: {
    kind: "boolean",
    flag: "profile",
    default: false,
    help: "profile the tasks phase's master (node --cpu-prof), one allocation cycle per size, and the processes phase's agent and executors; summarize (bench/results/profiles)",
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
  if (values.transport !== "lite" && values.transport !== "driver") {
    throw new Error(`--transport: expected lite or driver, got ${values.transport}`);
  }
  const quick = values.quick;
  const counts = (flag: string, given: string[], fallback: number[]) => {
    const list = given.flatMap((v) => v.split(",")).filter((v) => v !== "");
    if (list.length === 0) return fallback;
    return list.map((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`--${flag}: expected integers >= 1, got ${v}`);
      return n;
    });
  };
  const options: BenchOptions = {
    quick,
    agents: values.agents ?? (quick ? 1000 : 50_000),
    baselineDurationMs: values.duration ?? (quick ? 1000 : 2000),
    baselinePeer: values.peer,
    heartbeatWindowMs: values.heartbeatWindow ?? (quick ? 3000 : 15_000),
    registrationConcurrency: values.registrationConcurrency,
    connections: values.connections,
    masterLogLevel: values.masterLogLevel,
    allocationAgents: counts(
      "allocation-agents",
      values.allocationAgents,
      quick ? [1000] : [1000, 10_000, 50_000],
    ),
    allocationFrameworks: counts(
      "allocation-frameworks",
      values.allocationFrameworks,
      quick ? [10] : [10, 100],
    ),
    allocationCycles: values.allocationCycles ?? (quick ? 5 : 20),
    allocationBudgetMs: values.allocationBudget ?? (quick ? 3000 : 20_000),
    tasks: values.tasks ?? (quick ? 10_000 : 200_000),
    memoryTasks: values.memoryTasks ?? (quick ? 10_000 : 100_000),
    taskAgents: values.taskAgents ?? (quick ? 1000 : 10_000),
    frameworks: values.frameworks,
    taskShape: values.taskShape,
    taskDurationMs: values.taskDuration,
    transport: values.transport,
    maxInFlight: values.maxInFlight,
    masterAllocationInterval:
      values.masterAllocationInterval === undefined
        ? undefined
        : `${values.masterAllocationInterval}ms`,
    processTasks: values.processTasks ?? (quick ? 20 : 200),
    processAgentResources: values.processResources,
    processTaskShape: values.processShape,
    failoverAgents: values.failoverAgents ?? (quick ? 2000 : 50_000),
    failoverTasks: values.failoverTasks ?? (quick ? 4000 : 100_000),
    failoverTimeoutMs: values.failoverTimeout ?? (quick ? 60_000 : 120_000),
    failoverBackoffMaxMs: values.failoverBackoffMax,
    failoverConcurrency: values.failoverConcurrency,
    restartTasks: values.restartTasks ?? (quick ? 20 : 100),
    profile: values.profile,
  };
  const selected = phases.length === 0 ? PHASE_NAMES : phases;
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const { server, monitorUrl } = await startMonitoredNatsServer();
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
    const ctx: BenchContext = {
      url: server.url,
      natsPid: server.pid,
      natsMonitorUrl: monitorUrl,
      options,
      baseline: undefined,
      log,
    };
    let running = "";
    // a phase awaiting a promise that never settles, with nothing else pending, would end the
    // process silently with status 0 and no table: it says so and fails instead
    const drained = () => {
      if (running === "") return;
      process.stderr.write(`bench: ${running}: the event loop drained before it finished\n`);
      process.exitCode = 1;
    };
    process.on("beforeExit", drained);
    for (const phase of PHASES) {
      if (!selected.includes(phase.name)) continue;
      running = phase.name;
      let result: Awaited<ReturnType<typeof phase.run>>;
      // each phase starts on a collected heap: what earlier phases left (50,000 emulated
      // agents, an in-process master) must not be collected during this one's measurement
      (globalThis as { gc?: () => void }).gc?.();
      try {
        result = await phase.run(ctx);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        log(`${phase.name} failed: ${reason}`);
        result = { status: "failed", reason, figures: [], details: {} };
      }
      report.phases.push({ name: phase.name, description: phase.description, ...result });
      running = "";
    }
    process.off("beforeExit", drained);
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

/**
 * Phase `tasks`: end to end through a real master process. The agent
 * emulator (in this process) runs the tasks without forking; the load
 * framework (K frameworks, in this process) launches tasks of one shape on
 * every offer. Three runs on the same master:
 *
 * 1. memory: `memoryTasks` tasks that never end are launched and held
 *    running; the master's VmRSS before and after, over the tasks, is its
 *    memory per live task. The frameworks are then torn down (tasks killed).
 * 2. peak: `tasks` tasks as fast as offers allow, with at most `maxInFlight`
 *    accepted and not yet RUNNING (unbounded, a burst of every offer's worth
 *    queues for longer than the agents' 10 s status update retry, and the
 *    retries then eat the throughput).
 * 3. half of peak: `tasks / 2` tasks paced at half the peak rate.
 *
 * For the peak and half runs: tasks/s (first accept → last TASK_FINISHED at
 * the scheduler), accept → TASK_RUNNING latency at the scheduler, messages per
 * task (the nats-server's own counters, `/varz` in_msgs: every message
 * published by anyone during the run, heartbeats and cluster events
 * included), and CPU per task of the master, the nats-server and the bench
 * process. With `--profile` the master runs under `node --cpu-prof` and its
 * profile is summarized by area (bench/profile-summary.ts).
 */
import { existsSync } from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { nuid } from "@nats-io/nats-core";
import { closeGracefully, connect } from "../../infra/connect.ts";
import { Resources } from "../../protocol/resources.ts";
import { Subjects } from "../../protocol/subjects.ts";
import {
  type AgentEmulator,
  DEFAULT_EMULATED_RESOURCES,
  startAgentEmulator,
  TASK_DURATION_LABEL,
} from "../emulator/index.ts";
import { type LoadOptions, type LoadStats, startLoad } from "../load/index.ts";
import { parseShape, tasksThatFit } from "../load/shape.ts";
import {
  liveBytes,
  type MasterProcess,
  masterAvailability,
  REPO_ROOT,
  startMasterProcess,
} from "../master-process.ts";
import { rssBytes } from "../proc.ts";
import { formatProfileSummary, PROFILE_DIR, summarizeProfileFile } from "../profile-summary.ts";
import { pollUntil, type Span, sample, sleep, span, within } from "../sampling.ts";
import { ratio, round } from "../stats.ts";
import { type BenchContext, type BenchPhase, type Figure, skipped, targetFigure } from "./types.ts";

/** Targets of the issue. */
const TARGET_TASKS_PER_SEC = 20_000;
const TARGET_P99_MS = 50;
const TARGET_BYTES_PER_TASK = 1024;
/**
 * Runs shorter than this are judged against no target (`--quick`): a few
 * thousand tasks measure mostly warm-up and fixed costs.
 */
const TARGET_SCALE_TASKS = 100_000;
/** Lets the master's garbage settle before its memory is read. */
const SETTLE_MS = 1000;

/** One load run and what the processes spent on it. */
export interface TaskRun {
  stats: LoadStats;
  span: Span;
  /** The run did not finish within its deadline (figures are partial). */
  timedOut: boolean;
  /** Messages published to the server per task done. */
  messagesPerTask: number | undefined;
}

/** The deadline of a run of `tasks` tasks: generous, at 200 tasks/s. */
function deadlineOf(tasks: number): number {
  return Math.max(60_000, tasks * 5);
}

async function runLoad(
  ctx: BenchContext,
  master: MasterProcess,
  options: LoadOptions,
  what: string,
): Promise<TaskRun> {
  const masterPid = master.pid;
  ctx.log(`tasks: ${what}`);
  if (master.exited()) throw new Error(`the master exited:\n${master.stderr().trim()}`);
  // before the frameworks subscribe: their first offers are used within milliseconds
  const s0 = await sample(masterPid, ctx.natsPid, ctx.natsMonitorUrl);
  const load = await startLoad(options);
  let timedOut = false;
  try {
    await within(load.done, deadlineOf(options.tasks), what);
  } catch (err) {
    if (master.exited()) {
      await load.stop();
      throw new Error(`the master exited during ${what}:\n${master.stderr().trim()}`);
    }
    timedOut = true;
    ctx.log(`tasks: ${err instanceof Error ? err.message : err}; reporting what finished`);
  }
  const s1 = await sample(masterPid, ctx.natsPid, ctx.natsMonitorUrl);
  const stats = load.stats();
  await load.stop();
  const done = stats.finished + stats.failed;
  const sp = span(s0, s1);
  return {
    stats,
    span: sp,
    timedOut,
    messagesPerTask:
      sp.counters === undefined || done === 0 ? undefined : round(sp.counters.inMsgs / done, 2),
  };
}

/** How many tasks of the shape the emulated agents can hold at once. */
function capacity(agents: number, shape: string): number {
  const perAgent = tasksThatFit(parseShape(shape), {
    offerId: "capacity",
    frameworkId: "capacity",
    agentId: "capacity",
    hostname: "capacity",
    role: "*",
    resources: Resources.parse(DEFAULT_EMULATED_RESOURCES).toJSON(),
    attributes: {},
  });
  return agents * perAgent;
}

function perTaskUs(ms: number | undefined, tasks: number): number | undefined {
  return ms === undefined || tasks === 0 ? undefined : round((ms * 1000) / tasks, 1);
}

async function newProfiles(dir: string, before: Set<string>): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const files = (await readdir(dir)).filter((f) => f.endsWith(".cpuprofile") && !before.has(f));
  return files.map((f) => path.join(dir, f));
}

export const tasksPhase: BenchPhase = {
  name: "tasks",
  description: "end-to-end tasks/s and accept → RUNNING latency with the load framework",
  async run(ctx) {
    const availability = await masterAvailability();
    if (!availability.available) return skipped(`no master to measure: ${availability.reason}`);
    const o = ctx.options;
    const subjects = new Subjects(`bench${nuid.next().toLowerCase()}`);
    const nc = await connect({ servers: ctx.url, name: "bench-control" });
    const profileDir = path.join(REPO_ROOT, PROFILE_DIR);
    const profilesBefore = new Set<string>();
    if (o.profile) {
      await mkdir(profileDir, { recursive: true });
      for (const f of await readdir(profileDir)) profilesBefore.add(f);
    }
    let emulator: AgentEmulator | undefined;
    let master: Awaited<ReturnType<typeof startMasterProcess>> | undefined;
    try {
      ctx.log(`tasks: starting the master (${availability.via}${o.profile ? ", profiled" : ""})`);
      master = await startMasterProcess(nc, {
        url: ctx.url,
        subjects,
        via: availability.via,
        logLevel: o.masterLogLevel,
        args:
          o.masterAllocationInterval === undefined
            ? []
            : ["--allocation-interval", o.masterAllocationInterval],
        nodeArgs: o.profile ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [],
      });
      const pid = master.pid;
      const m = master;
      ctx.log(`tasks: ${o.taskAgents} emulated agents`);
      emulator = await startAgentEmulator({
        servers: ctx.url,
        subjects,
        count: o.taskAgents,
        connections: o.connections,
        registrationConcurrency: o.registrationConcurrency,
        taskDurationMs: o.taskDurationMs,
      });
      await within(emulator.ready, Math.max(60_000, o.taskAgents * 5), "registration");
      await sleep(SETTLE_MS);

      const common = {
        servers: ctx.url,
        subjects,
        frameworks: o.frameworks,
        shape: o.taskShape,
        transport: o.transport,
        maxInFlight: o.maxInFlight,
      } as const;

      // 1. memory per live task
      const memoryTasks = Math.min(
        o.memoryTasks,
        Math.floor(capacity(o.taskAgents, o.taskShape) * 0.9),
      );
      const rss0 = rssBytes(pid);
      const heap0 = await m.heap();
      const memory = await runLoad(
        ctx,
        m,
        {
          ...common,
          tasks: memoryTasks,
          until: "running",
          labels: { [TASK_DURATION_LABEL]: "Infinity" },
          name: "memory",
        },
        `memory: ${memoryTasks} tasks held running`,
      );
      await sleep(SETTLE_MS);
      const rss1 = rssBytes(pid);
      const heap1 = await m.heap();
      const rssPerTask =
        rss0 === undefined || rss1 === undefined || memory.stats.running === 0
          ? undefined
          : round((rss1 - rss0) / memory.stats.running);
      const bytesPerTask =
        heap0 === undefined || heap1 === undefined || memory.stats.running === 0
          ? undefined
          : round((liveBytes(heap1) - liveBytes(heap0)) / memory.stats.running);
      // tearing the frameworks down killed their tasks: wait until the agents forgot them
      await pollUntil(() => emulator?.stats().tasksActive === 0, 60_000);

      // 2. peak, 3. half of peak
      const peak = await runLoad(
        ctx,
        m,
        { ...common, tasks: o.tasks, name: "peak" },
        `peak: ${o.tasks} tasks, ${o.frameworks} ${o.transport} frameworks, ${o.maxInFlight || "unlimited"} in flight`,
      );
      const halfRate = Math.max(1, Math.round(peak.stats.tasksPerSec / 2));
      const halfTasks = Math.max(1, Math.ceil(o.tasks / 2));
      const half = await runLoad(
        ctx,
        m,
        { ...common, tasks: halfTasks, rate: halfRate, name: "half" },
        `half of peak: ${halfTasks} tasks at ${halfRate} tasks/s`,
      );
      await sleep(SETTLE_MS);
      const rssEnd = rssBytes(pid);

      const emulatorFinal = emulator.stats();
      await emulator.stop();
      emulator = undefined;
      await master.stop();
      const profiles = o.profile ? await newProfiles(profileDir, profilesBefore) : [];
      // node writes one profile per thread (tsx's loader hooks run in one of their own): the
      // main thread's is thread 0, `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`
      const profileFile = profiles.find((f) => /\.0\.\d+\.cpuprofile$/.test(f)) ?? profiles.at(-1);
      const profile =
        profileFile === undefined ? undefined : await summarizeProfileFile(profileFile);
      if (profile !== undefined) {
        ctx.log(`tasks: master CPU profile ${path.relative(REPO_ROOT, profileFile!)}`);
        const profiled = memory.stats.running + runDone(peak) + runDone(half);
        for (const line of formatProfileSummary(profile, profiled).split("\n")) {
          ctx.log(`  ${line}`);
        }
      }

      const reference = ctx.baseline?.reference;
      const pubsub = reference?.pubsub?.msgPerSec;
      const baselineName = `pub/sub msg/s, ${reference?.payloadBytes} B (ratio: tasks/s × messages per task ÷ it)`;
      const figures: Figure[] = [];
      const runFigures = (label: string, run: TaskRun, judgeLatency: boolean) => {
        const { stats } = run;
        const done = stats.finished + stats.failed;
        const suffix = run.timedOut ? " (timed out: partial)" : "";
        figures.push(
          {
            name: `${label}: tasks/s (${done} of ${stats.tasks} tasks${suffix})`,
            value: stats.tasksPerSec,
            unit: "tasks/s",
            ...(pubsub === undefined ? {} : { baseline: { name: baselineName, value: pubsub } }),
            ratio:
              run.messagesPerTask === undefined
                ? undefined
                : ratio(stats.tasksPerSec * run.messagesPerTask, pubsub),
            ...(label === "peak" && stats.tasks >= TARGET_SCALE_TASKS
              ? targetFigure(stats.tasksPerSec, ">=", TARGET_TASKS_PER_SEC)
              : {}),
          },
          {
            name: `${label}: latency p50 (accept → RUNNING)`,
            value: stats.latency.p50Ms,
            unit: "ms",
          },
          {
            name: `${label}: latency p99`,
            value: stats.latency.p99Ms,
            unit: "ms",
            ...(judgeLatency ? targetFigure(stats.latency.p99Ms, "<", TARGET_P99_MS) : {}),
          },
          { name: `${label}: latency max`, value: stats.latency.maxMs, unit: "ms" },
          { name: `${label}: messages per task`, value: run.messagesPerTask, unit: "msgs" },
          {
            name: `${label}: master CPU per task`,
            value: perTaskUs(run.span.masterCpuMs, done),
            unit: `µs (master at ${run.span.masterCpuPct ?? "?"}% of a core)`,
          },
          {
            name: `${label}: nats-server CPU per task`,
            value: perTaskUs(run.span.natsCpuMs, done),
            unit: `µs (server at ${run.span.natsCpuPct ?? "?"}%)`,
          },
          {
            name: `${label}: bench process CPU per task (emulator + frameworks)`,
            value: perTaskUs(run.span.benchCpuMs, done),
            unit: `µs (bench at ${run.span.benchCpuPct}%)`,
          },
        );
        if (stats.failed > 0) {
          figures.push({
            name: `${label}: tasks ended otherwise (${JSON.stringify(stats.failedByState)})`,
            value: stats.failed,
            unit: "tasks",
          });
        }
      };
      runFigures("peak", peak, false);
      figures.push({ name: "half: launch rate limit", value: halfRate, unit: "tasks/s" });
      runFigures("half", half, o.tasks >= TARGET_SCALE_TASKS);
      figures.push(
        {
          name: `master memory per live task (${memory.stats.running} running; live heap after GC)`,
          value: bytesPerTask,
          unit: "B/task",
          ...(memory.stats.running >= TARGET_SCALE_TASKS
            ? targetFigure(bytesPerTask, "<=", TARGET_BYTES_PER_TASK)
            : {}),
        },
        {
          name: "  VmRSS growth per live task (upper bound: garbage and heap slack included)",
          value: rssPerTask,
          unit: "B/task",
        },
        {
          name: "master RSS: registered → tasks held → end",
          value: rssEnd === undefined ? undefined : round(rssEnd / 2 ** 20, 1),
          unit: `MiB (from ${mib(rss0)} → ${mib(rss1)})`,
        },
      );
      if (profile !== undefined) {
        for (const area of profile.areas) {
          figures.push({
            name: `master profile: ${area.area}`,
            value: area.percent,
            unit: "% of master CPU",
          });
        }
      }
      return {
        status: "ok",
        figures,
        details: {
          master: {
            command: master.command,
            rssRegisteredBytes: rss0,
            rssHeldBytes: rss1,
            rssEndBytes: rssEnd,
            heapRegistered: heap0,
            heapHeld: heap1,
          },
          method: {
            tasksPerSec:
              "tasks done (FINISHED or failed) ÷ time from the first accept to the last terminal update at the scheduler",
            latency:
              "per task: performance.now() when its accept was published → when its TASK_RUNNING reached the framework",
            messagesPerTask:
              "nats-server /varz in_msgs over the run ÷ tasks done (everything published, heartbeats and cluster events included)",
            memoryPerTask:
              "master heapUsed + external after a full GC with N tasks held running minus the same before they were launched, ÷ N; VmRSS growth ÷ N as an upper bound",
          },
          memory,
          peak,
          half,
          emulator: emulatorFinal,
          profile:
            profile === undefined
              ? undefined
              : { file: path.relative(REPO_ROOT, profileFile!), ...profile },
        },
      };
    } finally {
      await emulator?.stop();
      await master?.stop();
      await closeGracefully(nc);
    }
  },
};

function runDone(run: TaskRun): number {
  return run.stats.finished + run.stats.failed;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? "?" : String(round(bytes / 2 ** 20, 1));
}

/**
 * Phase `allocation`: the master's allocation cycle time against the number
 * of agents and frameworks. The master runs in this process (createMaster,
 * public API only) on a virtual clock, so that its own batch timer never
 * fires while cycles are timed; agents are the emulator's, registered
 * through the master's real handlers over the bench's nats-server, and the
 * frameworks are load frameworks (lite transport) that decline or accept
 * every offer. Each timed cycle is one `master.allocate()`: building the
 * policy's view, the DRF policy (timed on its own through a wrapping
 * policy), creating the offers and publishing `event.offers` and the cluster
 * events.
 *
 * Scenarios, each with fresh frameworks, for every (agents, frameworks):
 * - `free`: every agent free each cycle; the frameworks decline everything
 *   without a filter (refuseSeconds 0) between cycles.
 * - `filtered`: the frameworks decline with a long refuse filter, so each
 *   cycle the agents go to frameworks that have not refused them yet, and
 *   the filters pile up (Mesos keeps them per agent and framework).
 * - `busy`: every agent runs one task of a framework (accepted in a first,
 *   untimed cycle); what is left of each agent is offered every cycle.
 * - `churn`: the frameworks hold every offer (a first, untimed cycle offers
 *   every agent); before each timed cycle they decline, without a filter,
 *   the offers of 1% of the agents (the oldest): the steady state of a busy
 *   cluster, where a cycle sees only the agents that changed since the last.
 *
 * With `--profile`, one more `free` cycle per size runs under the in-process
 * V8 profiler (only the `allocate()` call) and its summary is reported.
 */
import { mkdir, writeFile } from "node:fs/promises";
import inspector from "node:inspector/promises";
import path from "node:path";
import { nuid } from "@nats-io/nats-core";
import { createMaster, type Master, resolveMasterConfig } from "../../actors/master/index.ts";
import { VirtualClock } from "../../infra/clock.ts";
import { closeGracefully, connect } from "../../infra/connect.ts";
import { silentLogger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import { resolvePolicy } from "../../policies/index.ts";
import type { AllocationPolicy } from "../../policies/types.ts";
import { type Offer, TaskState, type TaskStatus } from "../../protocol/common.ts";
import { Subjects } from "../../protocol/subjects.ts";
import { type AgentEmulator, startAgentEmulator, TASK_DURATION_LABEL } from "../emulator/index.ts";
import { type FrameworkHandle, startFramework } from "../load/transports.ts";
import { masterAvailability, REPO_ROOT } from "../master-process.ts";
import {
  formatProfileSummary,
  PROFILE_DIR,
  type ProfileSummary,
  summarizeProfile,
} from "../profile-summary.ts";
import { percentile, round } from "../stats.ts";
import { type BenchPhase, type Figure, skipped, targetFigure } from "./types.ts";

/** Target of the issue: an allocation cycle at 50,000 agents and 100 frameworks. */
const TARGET_CYCLE_MS = 20;
const TARGET_AGENTS = 50_000;
const TARGET_FRAMEWORKS = 100;
/** Refuse filter of the `filtered` scenario: longer than the phase. */
const LONG_REFUSE_SECONDS = 3600;

/** Share of the agents whose offers come back before each `churn` cycle. */
const CHURN_SHARE = 0.01;

const SCENARIOS = ["free", "filtered", "busy", "churn"] as const;
type Scenario = (typeof SCENARIOS)[number];

/** Timings of one scenario at one size. */
export interface CycleSeries {
  agents: number;
  frameworks: number;
  scenario: Scenario;
  cycles: number;
  /** Whole `allocate()` calls, ms. */
  medianMs: number;
  p99Ms: number;
  maxMs: number;
  /** The DRF policy alone, median ms. */
  policyMedianMs: number;
  /** Offers made by each timed cycle. */
  offers: number[];
  /** Each cycle's time, ms. */
  cycleMs: number[];
  /** Why fewer cycles ran than asked, if so. */
  note?: string;
}

/** Goal of issue 14: a full cycle within this share of publishing {@link TARGET_AGENTS} bare messages. */
const TARGET_PUBLISH_RATIO = 0.25;

/**
 * The full-cycle scenarios (`free`, `filtered`, `busy`: every agent offered)
 * as ratios, in the same run, to the time the NATS baseline takes to publish
 * as many bare messages as there are agents (goal ≤ 1/4), and to the `churn`
 * cycle of the same size.
 */
export function fullCycleRatios(
  series: readonly CycleSeries[],
  publishedPerSec: number | undefined,
): Figure[] {
  const figures: Figure[] = [];
  for (const s of series) {
    if (s.scenario === "churn") continue;
    const label = `${s.agents} agents × ${s.frameworks} fw, ${s.scenario}`;
    const publishMs =
      publishedPerSec === undefined || publishedPerSec <= 0
        ? undefined
        : round((s.agents / publishedPerSec) * 1000, 1);
    const ratio =
      publishMs === undefined || publishMs === 0 ? undefined : round(s.medianMs / publishMs, 3);
    figures.push({
      name: `  ÷ NATS publish of ${s.agents} bare messages (${label})`,
      value: ratio,
      unit: "×",
      baseline: { name: `publish ${s.agents} messages`, value: publishMs },
      ratio,
      ...targetFigure(ratio, "<=", TARGET_PUBLISH_RATIO),
    });
    const churn = series.find(
      (c) => c.scenario === "churn" && c.agents === s.agents && c.frameworks === s.frameworks,
    );
    if (churn !== undefined && churn.medianMs > 0) {
      const toChurn = round(s.medianMs / churn.medianMs, 1);
      figures.push({
        name: `  ÷ churn cycle (${label})`,
        value: toChurn,
        unit: "×",
        baseline: { name: "churn cycle median", value: churn.medianMs },
        ratio: toChurn,
      });
    }
  }
  return figures;
}

/**
 * Bare messages (empty payload, no subscriber) published per second, flush
 * included: the best of three runs of `count` messages, for a run without the
 * baseline phase.
 */
async function barePublishRate(url: string, count: number): Promise<number> {
  const nc = await connect({ servers: url, name: "bench-alloc-publish" });
  try {
    const subject = `bench.bare.${nuid.next()}`;
    const empty = new Uint8Array(0);
    let best = Number.POSITIVE_INFINITY;
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      for (let i = 0; i < count; i++) nc.publish(subject, empty);
      await nc.flush();
      best = Math.min(best, performance.now() - t0);
    }
    return best > 0 ? (count / best) * 1000 : 0;
  } finally {
    await closeGracefully(nc);
  }
}

/** The DRF policy, timed. */
function timedPolicy(): { policy: AllocationPolicy; last: () => number } {
  const inner = resolvePolicy("drf");
  let lastMs = 0;
  return {
    policy: {
      name: inner.name,
      allocate(context) {
        const t0 = performance.now();
        try {
          return inner.allocate(context);
        } finally {
          lastMs = performance.now() - t0;
        }
      },
    },
    last: () => lastMs,
  };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The frameworks of one scenario and what they do with offers. */
class FrameworkSet {
  readonly handles: FrameworkHandle[] = [];
  readonly metrics = new Metrics();
  mode: "decline" | "filter" | "accept" | "hold" = "decline";
  received = 0;
  /** Offers held in `hold` mode, oldest first. */
  #held: Array<{ framework: FrameworkHandle; offerId: string }> = [];
  running = 0;
  #seq = 0;
  #waiter: { count: number; resolve: () => void } | undefined;

  offers(framework: FrameworkHandle, offers: readonly Offer[]): void {
    this.received += offers.length;
    if (this.mode === "hold") {
      for (const offer of offers) this.#held.push({ framework, offerId: offer.offerId });
    } else if (this.mode === "accept") {
      for (const offer of offers) {
        const taskId = `b${this.#seq++}`;
        void framework.accept(
          [offer.offerId],
          [
            {
              taskId,
              name: taskId,
              agentId: offer.agentId,
              resources: { cpus: 0.1, mem: 32 },
              command: { value: "true", shell: true },
              labels: { [TASK_DURATION_LABEL]: "Infinity" },
            },
          ],
          { refuseSeconds: 0 },
        );
      }
    } else {
      const refuseSeconds = this.mode === "filter" ? LONG_REFUSE_SECONDS : 0;
      void framework.decline(
        offers.map((o) => o.offerId),
        { refuseSeconds },
      );
    }
    this.#check();
  }

  update(status: TaskStatus): void {
    if (status.state === TaskState.Running) this.running++;
  }

  /** Resolves once `count` offers in all were received. */
  waitReceived(count: number): Promise<void> {
    if (this.received >= count) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiter = { count, resolve };
    });
  }

  #check(): void {
    if (this.#waiter !== undefined && this.received >= this.#waiter.count) {
      const { resolve } = this.#waiter;
      this.#waiter = undefined;
      resolve();
    }
  }

  /** Declines the `count` oldest held offers without a filter; resolves once the master has them. */
  async release(count: number): Promise<void> {
    const byFramework = new Map<FrameworkHandle, string[]>();
    for (const { framework, offerId } of this.#held.splice(0, count)) {
      const ids = byFramework.get(framework);
      if (ids === undefined) byFramework.set(framework, [offerId]);
      else ids.push(offerId);
    }
    for (const [framework, ids] of byFramework) void framework.decline(ids, { refuseSeconds: 0 });
    await this.barrier();
  }

  async barrier(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.barrier()));
  }

  /**
   * Waits until the master has nothing in flight for these frameworks: every
   * call handled, no cycle pending (one requested by a call runs on the next
   * turn), and the offers of such a cycle answered.
   */
  async quiesce(): Promise<void> {
    for (;;) {
      const before = this.received;
      await this.barrier();
      await nextTurn();
      await this.barrier();
      if (this.received === before) return;
    }
  }
}

async function startFrameworks(
  nc: Awaited<ReturnType<typeof connect>>,
  subjects: Subjects,
  count: number,
  tag: string,
): Promise<FrameworkSet> {
  const set = new FrameworkSet();
  const listener = {
    offers: (f: FrameworkHandle, offers: readonly Offer[]) => set.offers(f, offers),
    update: (_f: FrameworkHandle, status: TaskStatus) => set.update(status),
  };
  for (let i = 0; i < count; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, count - i) }, (_, j) =>
        startFramework("lite", {
          nc,
          subjects,
          name: `alloc-${tag}-${i + j}`,
          logger: silentLogger(),
          metrics: set.metrics,
          listener,
        }),
      ),
    );
    set.handles.push(...batch);
  }
  await set.quiesce();
  return set;
}

/** Times `cycles` cycles, answering every offer as the set's mode says. */
async function timeCycles(
  master: Master,
  set: FrameworkSet,
  policyMs: () => number,
  cycles: number,
  budgetMs: number,
  before?: () => Promise<void>,
): Promise<{ cycleMs: number[]; policyMs: number[]; offers: number[]; note?: string }> {
  const cycleMs: number[] = [];
  const policy: number[] = [];
  const offers: number[] = [];
  const started = performance.now();
  let disturbed = 0;
  const notes: string[] = [];
  for (let c = 0; c < cycles; c++) {
    await before?.();
    const expected = set.received;
    const t0 = performance.now();
    const made = await Promise.resolve(master.allocate());
    cycleMs.push(performance.now() - t0);
    policy.push(policyMs());
    offers.push(made);
    await set.waitReceived(expected + made);
    await set.barrier();
    if (set.received !== expected + made) disturbed++;
    if (c + 1 < cycles && performance.now() - started > budgetMs) {
      notes.push(`stopped after ${c + 1} of ${cycles} cycles: over the ${budgetMs} ms budget`);
      break;
    }
  }
  if (disturbed > 0) notes.push(`${disturbed} cycles saw offers of a cycle the master ran itself`);
  return {
    cycleMs,
    policyMs: policy,
    offers,
    ...(notes.length > 0 ? { note: notes.join("; ") } : {}),
  };
}

function series(
  agents: number,
  frameworks: number,
  scenario: Scenario,
  timed: Awaited<ReturnType<typeof timeCycles>>,
): CycleSeries {
  const sorted = [...timed.cycleMs].sort((a, b) => a - b);
  const policySorted = [...timed.policyMs].sort((a, b) => a - b);
  return {
    agents,
    frameworks,
    scenario,
    cycles: sorted.length,
    medianMs: round(percentile(sorted, 0.5), 2),
    p99Ms: round(percentile(sorted, 0.99), 2),
    maxMs: round(sorted.at(-1) ?? 0, 2),
    policyMedianMs: round(percentile(policySorted, 0.5), 2),
    offers: timed.offers,
    cycleMs: timed.cycleMs.map((ms) => round(ms, 2)),
    ...(timed.note === undefined ? {} : { note: timed.note }),
  };
}

/** How one agent count is measured. */
interface SizeSettings {
  url: string;
  agents: number;
  frameworkCounts: readonly number[];
  cycles: number;
  budgetMs: number;
  /** Where to write a CPU profile of one extra `free` cycle per size, when set. */
  profileDir: string | undefined;
  log: (line: string) => void;
}

/** A profile of one cycle, summarized. */
export interface CycleProfile {
  agents: number;
  frameworks: number;
  file: string;
  summary: ProfileSummary;
}

/**
 * Runs one more cycle under the in-process V8 profiler (100 µs sampling) and
 * writes its profile; only the `allocate()` call is profiled.
 */
async function profileCycle(
  master: Master,
  set: FrameworkSet,
  file: string,
): Promise<ProfileSummary> {
  const session = new inspector.Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 100 });
    const expected = set.received;
    await session.post("Profiler.start");
    const made = master.allocate();
    const { profile } = await session.post("Profiler.stop");
    await set.waitReceived(expected + made);
    await set.barrier();
    await writeFile(file, JSON.stringify(profile));
    return summarizeProfile(profile, 15);
  } finally {
    session.disconnect();
  }
}

/** Every scenario at `agents` agents and each framework count. */
async function measureSize(settings: SizeSettings): Promise<{
  series: CycleSeries[];
  profiles: CycleProfile[];
}> {
  const { url, agents, frameworkCounts, cycles, budgetMs, log } = settings;
  const profiles: CycleProfile[] = [];
  const subjects = new Subjects(`bench${nuid.next().toLowerCase()}`);
  const clock = new VirtualClock(Date.now());
  const { policy, last } = timedPolicy();
  const config = resolveMasterConfig({ overrides: {} });
  const masterNc = await connect({ servers: url, name: "bench-alloc-master" });
  const frameworksNc = await connect({ servers: url, name: "bench-alloc-frameworks" });
  const master = createMaster({
    nc: masterNc,
    logger: silentLogger(),
    subjects,
    config,
    clock,
    policy,
  });
  let emulator: AgentEmulator | undefined;
  const out: CycleSeries[] = [];
  try {
    await master.start();
    log(`allocation: registering ${agents} agents`);
    emulator = await startAgentEmulator({
      servers: url,
      subjects,
      count: agents,
      // heartbeats are not what is measured here
      heartbeatIntervalMs: 24 * 3600_000,
    });
    await emulator.ready;
    // One heartbeat each: the master counts an agent as listening (eligible for offers) after
    // its first message, and asks for a cycle at that moment; this way none comes later.
    const replies = emulator.stats().heartbeatReplies + emulator.heartbeatAll();
    while (emulator.stats().heartbeatReplies < replies) await sleep(10);
    let tag = 0;
    for (const frameworks of frameworkCounts) {
      for (const scenario of SCENARIOS) {
        log(`allocation: ${agents} agents, ${frameworks} frameworks, ${scenario}`);
        const set = await startFrameworks(frameworksNc, subjects, frameworks, String(tag++));
        try {
          if (scenario === "busy") {
            set.mode = "accept";
            const expected = set.received;
            const made = await Promise.resolve(master.allocate());
            await set.waitReceived(expected + made);
            // the agents' first updates ask for cycles of their own: those offers are declined
            set.mode = "decline";
            const deadline = performance.now() + 60_000 + made;
            while (set.running < made) {
              if (performance.now() > deadline) {
                throw new Error(`only ${set.running} of ${made} busy tasks started`);
              }
              await set.barrier();
              await nextTurn();
            }
            await set.quiesce();
          }
          if (scenario === "filtered") set.mode = "filter";
          let before: (() => Promise<void>) | undefined;
          if (scenario === "churn") {
            set.mode = "hold";
            const expected = set.received;
            const made = await Promise.resolve(master.allocate());
            await set.waitReceived(expected + made);
            await set.quiesce();
            const churn = Math.max(1, Math.round(agents * CHURN_SHARE));
            before = () => set.release(churn);
          }
          const timed = await timeCycles(master, set, last, cycles, budgetMs, before);
          out.push(series(agents, frameworks, scenario, timed));
          set.mode = "decline";
          if (scenario === "free" && settings.profileDir !== undefined) {
            const file = path.join(
              settings.profileDir,
              `allocation-${agents}a-${frameworks}f.cpuprofile`,
            );
            const summary = await profileCycle(master, set, file);
            profiles.push({ agents, frameworks, file: path.relative(REPO_ROOT, file), summary });
            log(`allocation: profile of one cycle, ${agents} agents × ${frameworks} frameworks`);
            for (const line of formatProfileSummary(summary).split("\n")) log(`  ${line}`);
          }
        } finally {
          await Promise.all(set.handles.map((h) => h.teardown()));
        }
      }
    }
    const violations = master.checkInvariants();
    if (violations.length > 0) {
      throw new Error(`master invariants violated: ${violations.slice(0, 3).join("; ")}`);
    }
    return { series: out, profiles };
  } finally {
    await emulator?.stop();
    await master.stop();
    await closeGracefully(frameworksNc);
    await closeGracefully(masterNc);
  }
}

export const allocationPhase: BenchPhase = {
  name: "allocation",
  description: "allocation cycle time (master.allocate()) against agents and frameworks",
  async run(ctx) {
    const availability = await masterAvailability();
    if (!availability.available) return skipped(`no master to measure: ${availability.reason}`);
    const o = ctx.options;
    const results: CycleSeries[] = [];
    const profiles: CycleProfile[] = [];
    const profileDir = o.profile ? path.join(REPO_ROOT, PROFILE_DIR) : undefined;
    if (profileDir !== undefined) await mkdir(profileDir, { recursive: true });
    for (const agents of o.allocationAgents) {
      const size = await measureSize({
        url: ctx.url,
        agents,
        frameworkCounts: o.allocationFrameworks,
        cycles: o.allocationCycles,
        budgetMs: o.allocationBudgetMs,
        profileDir,
        log: ctx.log,
      });
      results.push(...size.series);
      profiles.push(...size.profiles);
    }
    const figures: Figure[] = [];
    for (const s of results) {
      const label = `${s.agents} agents × ${s.frameworks} fw, ${s.scenario}`;
      // the target is at 50,000 agents and 100 frameworks: judged there only
      const atScale = s.agents >= TARGET_AGENTS && s.frameworks >= TARGET_FRAMEWORKS;
      const target = targetFigure(s.medianMs, "<", TARGET_CYCLE_MS);
      figures.push({
        name: `cycle median (${label})`,
        value: s.medianMs,
        unit: "ms",
        ...(atScale
          ? target
          : s.scenario === "free"
            ? { target: `${target.target} at 50k×100` }
            : {}),
      });
      figures.push({ name: `  p99 / max (${label})`, value: s.p99Ms, unit: `ms / ${s.maxMs} ms` });
      figures.push({
        name: `  of which DRF policy (${label})`,
        value: s.policyMedianMs,
        unit: "ms",
      });
      figures.push({
        name: `  offers per cycle (${label})`,
        value:
          s.offers.length === 0
            ? undefined
            : round(s.offers.reduce((a, b) => a + b, 0) / s.offers.length),
        unit: `offers${s.note ? ` (${s.note})` : ""}`,
      });
    }
    // the same run's publish rate: the baseline phase's when it ran, else measured here
    const publishedPerSec =
      ctx.baseline?.reference.pubsub?.publishedPerSec ??
      (await barePublishRate(ctx.url, Math.max(...o.allocationAgents)));
    figures.push(...fullCycleRatios(results, publishedPerSec));
    return {
      status: "ok",
      figures,
      details: {
        method:
          "createMaster in the bench process on a VirtualClock, agents from the emulator over NATS, " +
          "lite frameworks; each cycle is one master.allocate() timed with performance.now()",
        series: results,
        profiles,
      },
    };
  },
};

/**
 * Micro-benchmark of the master core without NATS: the network-free master
 * (`createMasterCore`) on a virtual clock, driven through the same handler
 * functions the NATS subscriptions call, with an outbox that counts (and
 * optionally encodes, to show the codec's share) what the master sends.
 *
 * It measures, for each agent count:
 * - registration: master time per `agent.register` + first heartbeat (with
 *   the coalesced allocation cycles they request run every few
 *   registrations, like one I/O turn), on average and for the last tenth
 *   (the marginal cost at that size); heartbeats; an idle batch cycle;
 * - memory: heap bytes per agent (after `global.gc()`);
 * - allocation cycles, for each framework count: the first cycle (all
 *   free), a steady cycle (everything offered), `free` (every offer declined
 *   with refuseSeconds 0 before each cycle), `filtered` (declined with a one
 *   hour filter) and `busy` (every agent runs a task; the rest is offered);
 * - tasks: accept → runTask, TASK_RUNNING, acknowledgement, TASK_FINISHED,
 *   acknowledgement: master µs per task for each step, heap bytes per live task.
 *
 * ```
 * node --expose-gc --import=tsx bench/micro/master-core.ts
 * node --expose-gc --import=tsx bench/micro/master-core.ts --agents 10000,50000 --frameworks 100 --tasks 100000
 * node --expose-gc --cpu-prof --cpu-prof-dir=bench/results/profiles --import=tsx bench/micro/master-core.ts --agents 50000
 * ```
 *
 * Options: `--agents LIST` (default 1000,10000,50000), `--frameworks LIST`
 * (default 10,100), `--cycles N` timed cycles per scenario (default 5),
 * `--tasks N` (default 100000; 0 skips), `--encode` (the outbox publishes
 * through a `Batcher`, encoding every message as the NATS outbox does; a cycle's
 * time includes publishing what it queued; cycles also report CPU time, `…CpuMs`), `--wire` (`--encode`, and inbound
 * task messages are decoded from bytes in the timed loops), `--resources TEXT`, `--only
 * registration,cycles,tasks` (and `scrape`: the cost of a `/metrics` scrape with the agents
 * registered and with the tasks live), `--scenarios free,filtered,busy`, `--json FILE`.
 */
import { writeFileSync } from "node:fs";
import {
  type AgentMessage,
  handleAgentMessage,
  handleRegister,
} from "../../actors/master/agent-handlers.ts";
import { resolveMasterConfig } from "../../actors/master/config.ts";
import { createMasterCore, type MasterCore } from "../../actors/master/core.ts";
import {
  type FrameworkCall,
  handleFrameworkCall,
  handleSubscribe,
} from "../../actors/master/framework-handlers.ts";
import type { Outbox } from "../../actors/master/outbox.ts";
import { registerMasterGauges } from "../../actors/master/prometheus.ts";
import { Batcher } from "../../infra/batch.ts";
import { VirtualClock } from "../../infra/clock.ts";
import { silentLogger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import { drfPolicy } from "../../policies/drf.ts";
import { decode, encode } from "../../protocol/codec.ts";
import type { Offer, TaskInfo, TaskStatus } from "../../protocol/common.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import { Resources } from "../../protocol/resources.ts";
import type { ClusterEventKind } from "../../protocol/subjects.ts";

interface Options {
  agents: number[];
  frameworks: number[];
  cycles: number;
  tasks: number;
  encode: boolean;
  wire: boolean;
  resources: string;
  only: Set<string>;
  scenarios: Set<string>;
  json: string | undefined;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    agents: [1000, 10_000, 50_000],
    frameworks: [10, 100],
    cycles: 5,
    tasks: 100_000,
    encode: false,
    wire: false,
    resources: "cpus:16;mem:65536;disk:102400;ports:[31000-32000]",
    only: new Set(["registration", "cycles", "tasks"]),
    scenarios: new Set(["free", "filtered", "busy"]),
    json: undefined,
  };
  const list = (v: string | undefined) => (v ?? "").split(",").filter(Boolean).map(Number);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => argv[++i];
    if (arg === "--agents") o.agents = list(next());
    else if (arg === "--frameworks") o.frameworks = list(next());
    else if (arg === "--cycles") o.cycles = Number(next());
    else if (arg === "--tasks") o.tasks = Number(next());
    else if (arg === "--encode") o.encode = true;
    else if (arg === "--wire") {
      o.encode = true;
      o.wire = true;
    } else if (arg === "--resources") o.resources = next() ?? o.resources;
    else if (arg === "--only") o.only = new Set((next() ?? "").split(","));
    else if (arg === "--json") o.json = next();
    else if (arg === "--scenarios") o.scenarios = new Set((next() ?? "").split(","));
    else {
      process.stderr.write(`unknown argument ${arg}\n`);
      process.exit(2);
    }
  }
  return o;
}

const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  if (gc !== undefined) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/**
 * An outbox that counts messages, hands offers and updates to the bench's
 * frameworks; with `encodeAll` it also publishes through a {@link Batcher}
 * (as the NATS outbox does) to a publisher that counts bytes.
 */
class BenchOutbox implements Outbox {
  readonly counts = new Map<string, number>();
  readonly offers = new Map<string, Offer[]>();
  readonly updates: Array<{ frameworkId: string; status: TaskStatus }> = [];
  keepUpdates = false;
  bytes = 0;
  readonly #batcher: Batcher | undefined;
  constructor(encodeAll: boolean) {
    this.#batcher = encodeAll
      ? new Batcher(
          {
            publish: (_subject, data) => {
              this.bytes += data?.length ?? 0;
            },
          },
          { logger: silentLogger(), metrics: new Metrics() },
        )
      : undefined;
  }

  #count(subject: string, msg: Message): void {
    this.counts.set(msg.type, (this.counts.get(msg.type) ?? 0) + 1);
    this.#batcher?.publish(subject, msg);
  }
  flush(): void {
    this.#batcher?.flush();
  }
  toAgent(agentId: string, msg: Message): void {
    this.#count(`agent.${agentId}`, msg);
  }
  toFramework(frameworkId: string, msg: Message): void {
    this.#count(`framework.${frameworkId}`, msg);
    if (msg.type === "event.offers") {
      const list = this.offers.get(frameworkId);
      if (list === undefined) this.offers.set(frameworkId, [...msg.offers]);
      else list.push(...msg.offers);
    } else if (msg.type === "event.update" && this.keepUpdates) {
      this.updates.push({ frameworkId, status: msg.status });
    }
  }
  cluster(kind: ClusterEventKind, msg: Message): void {
    this.#count(`events.${kind}`, msg);
  }
  takeOffers(frameworkId: string): Offer[] {
    const list = this.offers.get(frameworkId) ?? [];
    this.offers.delete(frameworkId);
    return list;
  }
}

/** A master core with its queue of requested cycles. */
class Bench {
  readonly clock = new VirtualClock(1_700_000_000_000);
  readonly outbox: BenchOutbox;
  readonly core: MasterCore;
  readonly queue: Array<() => void> = [];
  readonly agentIds: string[] = [];
  frameworkIds: string[] = [];
  /** Time of the policy in the last cycle, ms. */
  policyMs = 0;
  /** CPU time (user + system) of the process in the last cycle, ms. */
  cpuMs = 0;
  #frameworkSeq = 0;

  constructor(encodeAll: boolean) {
    this.outbox = new BenchOutbox(encodeAll);
    const config = resolveMasterConfig({ env: {}, overrides: { masterId: "m" } });
    this.core = createMasterCore({
      masterId: "m",
      config,
      clock: this.clock,
      logger: silentLogger(),
      metrics: new Metrics(),
      outbox: this.outbox,
      policy: {
        name: drfPolicy.name,
        allocate: (context) => {
          const t0 = performance.now();
          try {
            return drfPolicy.allocate(context);
          } finally {
            this.policyMs = performance.now() - t0;
          }
        },
      },
      schedule: (fn) => this.queue.push(fn),
    });
    this.core.start();
  }

  get ctx() {
    return this.core.ctx;
  }

  flush(): void {
    while (this.queue.length > 0) this.queue.shift()!();
    this.outbox.flush();
  }

  /** A message from an agent (decoded first when given as bytes, as the NATS handler does). */
  agent(agentId: string, msg: AgentMessage | Uint8Array): void {
    const m = msg instanceof Uint8Array ? (decode(msg) as AgentMessage) : msg;
    handleAgentMessage(this.ctx, agentId, m, false);
  }

  /** A scheduler call (decoded first when given as bytes). */
  call(frameworkId: string, call: FrameworkCall | Uint8Array): void {
    const m = call instanceof Uint8Array ? (decode(call) as FrameworkCall) : call;
    handleFrameworkCall(this.ctx, frameworkId, m, true);
  }

  register(i: number, resources: Record<string, unknown>): string {
    const reply = handleRegister(
      this.ctx,
      {
        type: "agent.register",
        hostname: `host-${i}.example.org`,
        resources: resources as MessageOf<"agent.register">["resources"],
        attributes: { rack: `r${i % 40}`, zone: `z${i % 3}` },
        version: "0.1.0",
      },
      true,
    ) as MessageOf<"agent.registered">;
    this.agent(reply.agentId, { type: "agent.heartbeat" });
    return reply.agentId;
  }

  addFrameworks(count: number): void {
    this.frameworkIds = [];
    for (let i = 0; i < count; i++) {
      const reply = handleSubscribe(
        this.ctx,
        {
          type: "scheduler.subscribe",
          framework: { name: `bench-${this.#frameworkSeq++}` },
        },
        true,
      ) as MessageOf<"event.subscribed">;
      this.call(reply.frameworkId, { type: "scheduler.heartbeat" });
      this.frameworkIds.push(reply.frameworkId);
    }
  }

  teardownFrameworks(): void {
    for (const id of this.frameworkIds) this.call(id, { type: "scheduler.teardown" });
    this.frameworkIds = [];
    this.outbox.offers.clear();
    this.flush();
  }

  /** Every framework declines all its offers. */
  declineAll(refuseSeconds: number): number {
    let n = 0;
    for (const id of this.frameworkIds) {
      const offers = this.outbox.takeOffers(id);
      if (offers.length === 0) continue;
      n += offers.length;
      this.call(id, {
        type: "scheduler.decline",
        offerIds: offers.map((o) => o.offerId),
        filters: { refuseSeconds },
      });
    }
    return n;
  }

  /**
   * Times one allocation cycle, its messages published (cycles requested
   * before are dropped: this one serves them); returns [ms, offers, policy ms]
   * and sets {@link cpuMs}.
   */
  cycle(): [number, number, number] {
    this.queue.length = 0;
    this.policyMs = 0;
    // what the frameworks' calls before it queued (their declines' events) is not the cycle's
    this.outbox.flush();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const offers = this.core.allocator.run();
    this.outbox.flush();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    this.cpuMs = (cpu.user + cpu.system) / 1000;
    return [ms, offers, this.policyMs];
  }
}

interface SizeResult {
  agents: number;
  registration?: Record<string, number>;
  cycles?: Array<Record<string, number | string>>;
  tasks?: Record<string, number>;
}

function measureRegistration(b: Bench, n: number, resources: Record<string, unknown>) {
  const batch = 8;
  const heap0 = heapUsed();
  const tail = Math.max(1, Math.floor(n / 10));
  const t0 = performance.now();
  let tTail = t0;
  for (let i = 0; i < n; i++) {
    if (i === n - tail) tTail = performance.now();
    b.agentIds.push(b.register(i, resources));
    if (i % batch === batch - 1) b.flush();
  }
  b.flush();
  const t1 = performance.now();
  const heap1 = heapUsed();
  const t2 = performance.now();
  for (const id of b.agentIds) b.agent(id, { type: "agent.heartbeat" });
  const t3 = performance.now();
  const idle: number[] = [];
  for (let c = 0; c < 5; c++) idle.push(b.cycle()[0]);
  const t4 = performance.now();
  b.clock.advance(b.ctx.config.agentPingTimeout);
  const sweepMs = performance.now() - t4;
  return {
    registrationUs: round(((t1 - t0) * 1000) / n),
    registrationLastTenthUs: round(((t1 - tTail) * 1000) / tail),
    heartbeatUs: round(((t3 - t2) * 1000) / n, 2),
    idleCycleMs: round(median(idle), 3),
    timersOnePingTimeoutMs: round(sweepMs, 2),
    bytesPerAgent: Math.round((heap1 - heap0) / n),
  };
}

function measureCycles(b: Bench, frameworks: number, cycles: number, scenarios: Set<string>) {
  const out: Record<string, number | string> = { frameworks };
  b.addFrameworks(frameworks);
  const [firstMs, firstOffers] = b.cycle();
  out.firstMs = round(firstMs, 2);
  out.firstOffers = firstOffers;
  const steady: number[] = [];
  for (let c = 0; c < cycles; c++) steady.push(b.cycle()[0]);
  out.steadyMs = round(median(steady), 3);
  /**
   * Cycles after every offer is declined with `refuseSeconds`: median ms, CPU
   * ms, policy ms, offers.
   */
  const declined = (scenario: string, refuseSeconds: number) => {
    const ms: number[] = [];
    const cpuMs: number[] = [];
    const policyMs: number[] = [];
    let offers = 0;
    for (let c = 0; c < (scenarios.has(scenario) ? cycles : 0); c++) {
      b.declineAll(refuseSeconds);
      const [cycleMs, made, cyclePolicyMs] = b.cycle();
      ms.push(cycleMs);
      cpuMs.push(b.cpuMs);
      policyMs.push(cyclePolicyMs);
      offers = made;
    }
    return {
      ms: round(median(ms), 2),
      cpuMs: round(median(cpuMs), 2),
      policyMs: round(median(policyMs), 2),
      offers,
    };
  };
  const free = declined("free", 0);
  out.freeMs = free.ms;
  out.freeCpuMs = free.cpuMs;
  out.freePolicyMs = free.policyMs;
  out.freeOffers = free.offers;
  const filtered = declined("filtered", 3600);
  out.filteredMs = filtered.ms;
  out.filteredCpuMs = filtered.cpuMs;
  out.filteredPolicyMs = filtered.policyMs;
  out.filteredOffers = filtered.offers;
  if (!scenarios.has("busy")) {
    b.teardownFrameworks();
    return out;
  }
  // busy: revive, one task on every agent (accepted untimed), the rest offered each cycle
  b.declineAll(0);
  for (const id of b.frameworkIds) b.call(id, { type: "scheduler.revive" });
  b.cycle();
  let seq = 0;
  for (const id of b.frameworkIds) {
    for (const offer of b.outbox.takeOffers(id)) {
      const taskId = `busy-${seq++}`;
      b.call(id, {
        type: "scheduler.accept",
        offerIds: [offer.offerId],
        operations: [
          {
            type: "launch",
            tasks: [
              {
                taskId,
                name: taskId,
                agentId: offer.agentId,
                resources: { cpus: 1, mem: 128 },
                command: { value: "true" },
              },
            ],
          },
        ],
        filters: { refuseSeconds: 0 },
      });
    }
  }
  const busy: number[] = [];
  const busyCpu: number[] = [];
  const busyPolicy: number[] = [];
  let busyOffers = 0;
  for (let c = 0; c < cycles; c++) {
    b.declineAll(0);
    const [ms, offers, policyMs] = b.cycle();
    busy.push(ms);
    busyCpu.push(b.cpuMs);
    busyPolicy.push(policyMs);
    busyOffers = offers;
  }
  out.busyMs = round(median(busy), 2);
  out.busyCpuMs = round(median(busyCpu), 2);
  out.busyPolicyMs = round(median(busyPolicy), 2);
  out.busyOffers = busyOffers;
  b.teardownFrameworks();
  return out;
}

/** The bench frameworks' live tasks, as the master holds them. */
function liveTasks(b: Bench): Array<{ frameworkId: string; taskId: string; agentId: string }> {
  const out: Array<{ frameworkId: string; taskId: string; agentId: string }> = [];
  for (const frameworkId of b.frameworkIds) {
    for (const task of b.ctx.frameworks.get(frameworkId)?.tasks.values() ?? []) {
      out.push({ frameworkId, taskId: task.taskId, agentId: task.agentId });
    }
  }
  return out;
}

/** Times `fn` over `items`, µs per item. */
function timeEach<T>(items: readonly T[], fn: (item: T) => void): number {
  const t0 = performance.now();
  for (const item of items) fn(item);
  return ((performance.now() - t0) * 1000) / Math.max(1, items.length);
}

/**
 * Times a `/metrics` scrape of the master (its gauges are computed from the
 * whole state then): median of 5, and the size of the text.
 */
async function measureScrape(b: Bench): Promise<Record<string, number>> {
  const metrics = b.ctx.metrics;
  registerMasterGauges(metrics, {
    context: () => b.ctx,
    elected: () => true,
    startTime: 0,
    now: () => b.clock.now(),
  });
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const text = await metrics.exposition();
    if (i > 0) times.push(performance.now() - t0); // the first one registers the counters
    bytes = text.length;
  }
  return { liveTasks: liveTasks(b).length, scrapeMs: round(median(times), 2), bytes };
}

async function measureTasks(b: Bench, total: number, wire: boolean, atPeak?: () => Promise<void>) {
  // with --wire, inbound messages are encoded beforehand and decoded in the timed loop
  const pack = <T extends Message>(msg: T): T | Uint8Array => (wire ? encode(msg) : msg);
  b.addFrameworks(10);
  b.cycle();
  let offers = b.frameworkIds.map((id) => [id, b.outbox.takeOffers(id)] as const);
  const heap0 = heapUsed();
  const perOffer = Math.ceil(total / b.agentIds.length);
  let accepts: Array<{ frameworkId: string; call: MessageOf<"scheduler.accept"> | Uint8Array }> =
    [];
  let launched = 0;
  for (const [frameworkId, list] of offers) {
    for (const offer of list) {
      if (launched >= total) continue;
      const tasks: TaskInfo[] = [];
      for (let k = 0; k < perOffer && launched < total; k++, launched++) {
        tasks.push({
          taskId: `task-${launched}`,
          name: `task ${launched}`,
          agentId: offer.agentId,
          resources: { cpus: 0.1, mem: 32 },
          command: { value: "sleep 1", shell: true },
        });
      }
      accepts.push({
        frameworkId,
        call: pack({
          type: "scheduler.accept",
          offerIds: [offer.offerId],
          operations: [{ type: "launch", tasks }],
          filters: { refuseSeconds: 0 },
        } satisfies MessageOf<"scheduler.accept">),
      });
    }
  }
  offers = [];
  const acceptUs = timeEach(accepts, (a) => b.call(a.frameworkId, a.call)) / perOffer;
  accepts = [];
  const updates = (state: TaskStatus["state"], n: number) =>
    liveTasks(b).map((t) => ({
      agentId: t.agentId,
      ack: {
        frameworkId: t.frameworkId,
        call: pack({
          type: "scheduler.acknowledge",
          agentId: t.agentId,
          taskId: t.taskId,
          uuid: `${t.taskId}-u${n}-0123456789abcdef`,
        } satisfies MessageOf<"scheduler.acknowledge">),
      },
      msg: pack({
        type: "agent.update",
        frameworkId: t.frameworkId,
        status: {
          taskId: t.taskId,
          state,
          agentId: t.agentId,
          executorId: t.taskId,
          source: "SOURCE_EXECUTOR",
          uuid: `${t.taskId}-u${n}-0123456789abcdef`,
          timestamp: b.clock.now(),
        },
      } satisfies MessageOf<"agent.update">),
    }));
  let running = updates("TASK_RUNNING", 1);
  const n = running.length;
  const runningUs = timeEach(running, (u) => b.agent(u.agentId, u.msg));
  const ackUs = timeEach(running, (u) => b.call(u.ack.frameworkId, u.ack.call));
  running = [];
  const heap1 = heapUsed();
  await atPeak?.();
  let finished = updates("TASK_FINISHED", 2);
  const finishedUs = timeEach(finished, (u) => b.agent(u.agentId, u.msg));
  const finalAckUs = timeEach(finished, (u) => b.call(u.ack.frameworkId, u.ack.call));
  finished = [];
  const violations = b.core.checkInvariants();
  if (violations.length > 0) throw new Error(`invariants: ${violations.slice(0, 3).join("; ")}`);
  b.teardownFrameworks();
  // what the live tasks held: the heap with them against the heap once they and their frameworks are gone
  const heapEnd = heapUsed();
  const result = {
    tasks: n,
    tasksPerAccept: perOffer,
    acceptUsPerTask: round(acceptUs, 2),
    runningUsPerTask: round(runningUs, 2),
    ackUsPerTask: round(ackUs, 2),
    finishedUsPerTask: round(finishedUs, 2),
    finalAckUsPerTask: round(finalAckUs, 2),
    totalUsPerTask: round(acceptUs + runningUs + ackUs + finishedUs + finalAckUs, 2),
    bytesPerLiveTask: Math.round((heap1 - heapEnd) / n),
    heapGrowthPerTaskAfterAccept: Math.round((heap1 - heap0) / n),
  };
  return result;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (gc === undefined) process.stderr.write("(run node with --expose-gc for memory figures)\n");
  const resources = Resources.parse(o.resources).toJSON() as Record<string, unknown>;
  const results: SizeResult[] = [];
  for (const n of o.agents) {
    const b = new Bench(o.encode);
    const result: SizeResult = { agents: n };
    const registration = measureRegistration(b, n, resources);
    if (o.only.has("registration")) {
      result.registration = registration;
      console.log(JSON.stringify({ agents: n, registration }));
    }
    if (o.only.has("cycles")) {
      result.cycles = [];
      for (const f of o.frameworks) {
        const r = measureCycles(b, f, o.cycles, o.scenarios);
        result.cycles.push(r);
        console.log(JSON.stringify({ agents: n, cycles: r }));
      }
    }
    if (o.only.has("scrape")) {
      console.log(JSON.stringify({ agents: n, scrape: await measureScrape(b) }));
    }
    if ((o.only.has("tasks") || o.only.has("scrape")) && o.tasks > 0) {
      const atPeak = o.only.has("scrape")
        ? async () => console.log(JSON.stringify({ agents: n, scrape: await measureScrape(b) }))
        : undefined;
      result.tasks = await measureTasks(b, o.tasks, o.wire, atPeak);
      if (o.only.has("tasks")) console.log(JSON.stringify({ agents: n, tasks: result.tasks }));
    }
    results.push(result);
  }
  if (o.json !== undefined) writeFileSync(o.json, `${JSON.stringify(results, null, 2)}\n`);
}

await main();

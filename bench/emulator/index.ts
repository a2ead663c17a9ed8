/**
 * The agent emulator: thousands of protocol-speaking agents in one process,
 * over one (or a few) NATS connections. Each agent registers with the master,
 * heartbeats at the interval the master gives, and runs the tasks it is sent
 * with emulated executors that report TASK_RUNNING and TASK_FINISHED without
 * forking, through the real status update stream (ordered, acknowledged,
 * retried). Every inbound message is decoded and validated by the real codec.
 *
 * ```ts
 * const emulator = await startAgentEmulator({ servers: url, subjects, count: 10_000 });
 * await emulator.ready;           // every agent registered
 * console.log(emulator.stats());
 * await emulator.stop();
 * ```
 *
 * Process-wide structure, so that 50,000 agents cost little: one wildcard
 * subscription for all agents' commands, one heartbeat-reply inbox per
 * connection, and one interval timer driving three timer wheels (heartbeats,
 * status update retries, task finishes).
 */
import { createInbox, nuid, type Subscription } from "@nats-io/nats-core";
import { Batcher } from "../../infra/batch.ts";
import { systemClock, type Timer } from "../../infra/clock.ts";
import { closeGracefully } from "../../infra/connect.ts";
import { silentLogger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import type { TaskState } from "../../protocol/common.ts";
import { percentile, round } from "../stats.ts";
import { serveCommands, serveHeartbeatReplies } from "./commands.ts";
import { type EmulatedAgent, EmulatedAgentState, type EmulatorContext, taskKey } from "./model.ts";
import { heartbeatDue, heartbeatNow, registerAgent } from "./registration.ts";
import { Reregistrations } from "./reregistration.ts";
import { type AgentEmulatorOptions, connections, settingsOf } from "./settings.ts";
import { finishDue, retryDue } from "./tasks.ts";
import { TickWheel } from "./wheel.ts";

export {
  type AgentEmulatorOptions,
  DEFAULT_EMULATED_RESOURCES,
} from "./settings.ts";
export { TASK_DURATION_LABEL } from "./tasks.ts";

/** Registration figures of the first registration of every agent. */
export interface RegistrationStats {
  registered: number;
  /** ms from start until the last agent registered (or until now, when not all are). */
  durationMs: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** Counters and gauges of the emulator. */
export interface EmulatorStats {
  agents: number;
  registered: number;
  registration: RegistrationStats;
  registrationFailures: number;
  /** Successful reregistrations. */
  reregistrations: number;
  reregistrationFailures: number;
  /** Agents with an id waiting for (or running) a reregistration now. */
  reregistering: number;
  /** Reregistration requests in flight now. */
  reregistrationsInFlight: number;
  heartbeatsSent: number;
  heartbeatReplies: number;
  heartbeatErrors: number;
  tasksLaunched: number;
  tasksActive: number;
  tasksFinished: number;
  tasksKilled: number;
  tasksDropped: number;
  updatesSent: number;
  updatesRetried: number;
  updatesAcked: number;
  acksUnexpected: number;
  messagesReceived: number;
  messagesInvalid: number;
  messagesUnknownAgent: number;
  /** Every raw counter. */
  counters: Record<string, number>;
}

/** What the emulator knows of one task. */
export interface EmulatedTaskView {
  agentId: string | undefined;
  state: TaskState;
  /** States of the unacknowledged updates, the one in flight first. */
  pending: TaskState[];
}

/** A running emulator. */
export interface AgentEmulator {
  /** Ids of the registered agents, in agent order. */
  readonly agents: string[];
  /** Resolves once every agent has registered; rejects if the emulator stops first. */
  readonly ready: Promise<void>;
  stats(): EmulatorStats;
  /**
   * Sends one heartbeat from every registered agent now (their schedule goes
   * on); returns how many were sent. With `heartbeatMode: "request"` their
   * replies count in `stats().heartbeatReplies`.
   */
  heartbeatAll(): number;
  /**
   * How many agents are registered (heartbeating) with the master `masterId`,
   * as its last `agent.registered` reply named it, and how many tasks they run.
   */
  registeredWith(masterId: string): { agents: number; tasks: number };
  /** A task still known (its terminal update not yet acknowledged). */
  task(frameworkId: string, taskId: string): EmulatedTaskView | undefined;
  /** Stops timers and subscriptions; closes the connections it opened. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts `count` emulated agents. Resolves once the subscriptions are in
 * place; registration goes on in the background (await `ready`).
 * @throws AgoraError UNAVAILABLE when it must connect and cannot
 */
export async function startAgentEmulator(options: AgentEmulatorOptions): Promise<AgentEmulator> {
  const settings = settingsOf(options);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const logger = (options.logger ?? silentLogger()).child({ actor: "agent-emulator" });
  const { ncs, owned } = await connections(options);
  const metrics = new Metrics();
  const replyMetrics = new Metrics();
  const now = clock.now();
  const sleepers = new Set<() => void>();
  const ctx: EmulatorContext = {
    subjects: options.subjects,
    clock,
    logger,
    metrics,
    settings,
    agents: [],
    byId: new Map(),
    heartbeats: new TickWheel(settings.tickMs, now),
    retries: new TickWheel(settings.tickMs, now),
    finishes: new TickWheel(settings.tickMs, now),
    reregistrations: new TickWheel(settings.tickMs, now),
    registrationLatencies: [],
    activeTasks: 0,
    stopped: false,
    sleep(ms) {
      if (ctx.stopped) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(handle);
          sleepers.delete(wake);
          resolve();
        };
        const handle = setTimeout(wake, ms);
        sleepers.add(wake);
      });
    },
    reregister(agent, urgent) {
      reregistrations.request(agent, urgent);
    },
  };
  const reregistrations = new Reregistrations(ctx, random);

  const inboxes = ncs.map(() => createInbox());
  const batchers = ncs.map((nc) => new Batcher(nc, { logger, metrics }));
  for (let i = 0; i < settings.count; i++) {
    const c = i % ncs.length;
    const agent: EmulatedAgent = {
      index: i,
      hostname: `${settings.hostnamePrefix}-${i}`,
      attributes: settings.attributes(i),
      nc: ncs[c]!,
      batcher: batchers[c]!,
      heartbeatInbox: `${inboxes[c]}.${i}`,
      state: EmulatedAgentState.Unregistered,
      id: undefined,
      masterSubject: undefined,
      masterId: undefined,
      reregisterAt: Number.POSITIVE_INFINITY,
      reregisterAttempt: 0,
      reregisterInFlight: false,
      heartbeatIntervalMs: 0,
      nextHeartbeatAt: Number.POSITIVE_INFINITY,
      tasks: new Map(),
    };
    ctx.agents.push(agent);
  }

  const queue = ncs.length > 1 ? `agent-emulator-${nuid.next()}` : undefined;
  const subscriptions: Subscription[] = [];
  ncs.forEach((nc, c) => {
    subscriptions.push(serveCommands(ctx, nc, queue));
    subscriptions.push(serveHeartbeatReplies(ctx, nc, inboxes[c]!, replyMetrics));
  });
  await Promise.all(ncs.map((nc) => nc.flush()));

  const tick = () => {
    const t = clock.now();
    ctx.heartbeats.drain(t, (agent) => heartbeatDue(ctx, agent, t));
    ctx.retries.drain(t, (task) => retryDue(ctx, task, t));
    ctx.finishes.drain(t, (task) => finishDue(ctx, task, t));
    reregistrations.tick(t);
  };
  const timer: Timer = clock.every(settings.tickMs, tick);

  const startedAt = performance.now();
  let registeredAt: number | undefined;
  let registeredOnce = 0;
  let resolveReady: () => void = () => {};
  let rejectReady: (err: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);
  const finishOne = () => {
    registeredOnce++;
    if (registeredOnce === settings.count) {
      registeredAt = performance.now();
      logger.info({ agents: settings.count }, "all emulated agents registered");
      resolveReady();
    }
  };
  if (settings.count === 0) {
    registeredAt = startedAt;
    resolveReady();
  }
  let next = 0;
  const worker = async () => {
    while (!ctx.stopped && next < settings.count) {
      const agent = ctx.agents[next++]!;
      if (await registerAgent(ctx, agent, random)) finishOne();
    }
  };
  // workers notice `ctx.stopped` after their request in flight; stop() does not wait for them
  void Promise.all(
    Array.from({ length: Math.min(settings.registrationConcurrency, settings.count) }, worker),
  ).catch((err: unknown) => logger.error({ err }, "registration worker failed"));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ctx.stopped = true;
      timer.cancel();
      rejectReady(new Error("the agent emulator stopped before every agent registered"));
      for (const batcher of batchers) batcher.flush();
      for (const sub of subscriptions) {
        try {
          sub.unsubscribe();
        } catch {
          // the connection is closed already
        }
      }
      ctx.heartbeats.clear();
      ctx.retries.clear();
      ctx.finishes.clear();
      reregistrations.clear();
      for (const wake of Array.from(sleepers)) wake();
      if (owned) {
        await Promise.all(ncs.map((nc) => closeGracefully(nc)));
      } else {
        await Promise.all(
          ncs.map((nc) => (nc.isClosed() ? undefined : nc.flush().catch(() => {}))),
        );
      }
    })();
    return stopping;
  };

  const stats = (): EmulatorStats => {
    const c = metrics.snapshot();
    const get = (name: string) => c[name] ?? 0;
    const latencies = [...ctx.registrationLatencies].sort((a, b) => a - b);
    const durationMs = (registeredAt ?? performance.now()) - startedAt;
    return {
      agents: settings.count,
      registered: ctx.byId.size,
      registration: {
        registered: registeredOnce,
        durationMs: round(durationMs, 1),
        perSec: durationMs > 0 ? round((registeredOnce * 1000) / durationMs) : 0,
        p50Ms: round(percentile(latencies, 0.5), 3),
        p99Ms: round(percentile(latencies, 0.99), 3),
      },
      registrationFailures: get("registration_failures"),
      reregistrations: get("reregistrations"),
      reregistrationFailures: get("reregistration_failures"),
      reregistering: ctx.agents.reduce(
        (n, a) => (a.state === EmulatedAgentState.Reregistering ? n + 1 : n),
        0,
      ),
      reregistrationsInFlight: reregistrations.inFlight,
      heartbeatsSent: get("heartbeats_sent"),
      heartbeatReplies: replyMetrics.get("heartbeat_replies"),
      heartbeatErrors: replyMetrics.get("heartbeat_errors") + replyMetrics.get("messages_invalid"),
      tasksLaunched: get("tasks_launched"),
      tasksActive: ctx.activeTasks,
      tasksFinished: get("tasks_finished"),
      tasksKilled: get("kills"),
      tasksDropped: get("tasks_dropped"),
      updatesSent: get("updates_sent"),
      updatesRetried: get("updates_retried"),
      updatesAcked: get("updates_acked"),
      acksUnexpected: get("acks_unexpected"),
      messagesReceived: get("messages_received"),
      messagesInvalid: get("messages_invalid"),
      messagesUnknownAgent: get("messages_unknown_agent"),
      counters: { ...c, ...prefixed("heartbeat_reply_", replyMetrics.snapshot()) },
    };
  };

  return {
    get agents() {
      const ids: string[] = [];
      for (const agent of ctx.agents) if (agent.id !== undefined) ids.push(agent.id);
      return ids;
    },
    ready,
    stats,
    heartbeatAll() {
      let sent = 0;
      for (const agent of ctx.agents) if (heartbeatNow(ctx, agent)) sent++;
      return sent;
    },
    registeredWith(masterId) {
      let agents = 0;
      let tasks = 0;
      for (const agent of ctx.agents) {
        if (agent.state === EmulatedAgentState.Registered && agent.masterId === masterId) {
          agents++;
          tasks += agent.tasks.size;
        }
      }
      return { agents, tasks };
    },
    task(frameworkId, taskId) {
      const key = taskKey(frameworkId, taskId);
      for (const agent of ctx.agents) {
        const task = agent.tasks.get(key);
        if (task !== undefined) {
          return {
            agentId: agent.id,
            state: task.status.state,
            pending: task.pending.map((s) => s.state),
          };
        }
      }
      return undefined;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function prefixed(prefix: string, counters: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counters)) out[prefix + k] = v;
  return out;
}

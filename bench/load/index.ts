/**
 * The load framework: K frameworks that launch tasks of one shape on every
 * offer, as many as fit, until a total count is reached; optionally at most
 * R tasks/s. Per task it records when it was accepted and when its
 * TASK_RUNNING reached the scheduler, and counts how tasks ended.
 *
 * ```ts
 * const load = await startLoad({ servers: url, subjects, frameworks: 10, tasks: 100_000 });
 * await load.done;                 // every task FINISHED (or ended otherwise)
 * console.log(load.stats());       // tasks/s, latency p50/p99/max, counts
 * await load.stop();               // tears the frameworks down
 * ```
 *
 * Offers of every framework go through one queue: with no rate limit an
 * offer is used as soon as it arrives; with one, offers wait in the queue
 * (they are held, not declined) until the {@link Pacer} lets a whole offer's
 * worth of tasks go; with `maxInFlight`, also until fewer tasks than that
 * wait for their TASK_RUNNING. What an accept leaves is declined with `refuseSeconds`;
 * once every task is launched, offers are declined and the frameworks
 * suppress.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { closeGracefully, connect } from "../../infra/connect.ts";
import { DEFAULT_REFUSE_SECONDS } from "../../infra/defaults.ts";
import { type Logger, silentLogger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import type { ExecutorInfo, Offer, TaskInfo, TaskStatus } from "../../protocol/common.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { round } from "../stats.ts";
import { Pacer } from "./pacer.ts";
import { type LatencySummary, type RecorderCounts, TaskRecorder, taskIdOf } from "./recorder.ts";
import { parseShape, tasksThatFit } from "./shape.ts";
import { type FrameworkHandle, startFramework, type TransportKind } from "./transports.ts";

export type { LatencySummary } from "./recorder.ts";
export type { FrameworkHandle, TransportKind } from "./transports.ts";

/** Default task shape of the load. */
export const DEFAULT_TASK_SHAPE = "cpus:0.1;mem:32";
/** Refuse filter of offers that arrive after every task was launched. */
const DONE_REFUSE_SECONDS = 3600;

/** A rate, with decimals when it is small. */
function rate(perSec: number): number {
  return round(perSec, perSec < 100 ? 2 : 0);
}

/** Options of {@link startLoad}. */
export interface LoadOptions {
  /** A connection for every framework; the caller keeps it. Without it the load connects. */
  nc?: NatsConnection;
  servers?: string | string[];
  subjects: Subjects;
  /** Number of frameworks. @default 1 */
  frameworks?: number;
  /** Tasks to launch over all frameworks. */
  tasks: number;
  /** A Mesos resource string of unreserved scalars. @default "cpus:0.1;mem:32" */
  shape?: string;
  /** At most this many tasks launched per second; absent = as fast as offers allow. */
  rate?: number;
  /** @default "lite" */
  transport?: TransportKind;
  /** The shell command of every task. @default "true" */
  command?: string;
  /**
   * Launch the tasks of each accept as one task group in this DEFAULT
   * executor (one executor per agent, reused) instead of one command executor per task.
   */
  groupExecutor?: ExecutorInfo;
  /** Labels of every task (e.g. the emulator's duration label). */
  labels?: Record<string, string>;
  /** Decline filter of what an accept leaves. @default DEFAULT_REFUSE_SECONDS (5) */
  refuseSeconds?: number;
  /** Tasks per accept at most. @default unlimited */
  maxTasksPerOffer?: number;
  /**
   * Tasks accepted and not yet RUNNING at most: offers wait while the window is
   * full (as a framework that watches its launches would). 0 = unlimited. @default 0
   */
  maxInFlight?: number;
  /** `done` resolves when every task is terminal (`finished`) or has run (`running`). @default "finished" */
  until?: "finished" | "running";
  /** Framework names are `<name>-<i>`. @default "load" */
  name?: string;
  requestTimeoutMs?: number;
  /** @default silentLogger() */
  logger?: Logger;
}

/** Figures of a load run (times in ms). */
export interface LoadStats extends RecorderCounts {
  tasks: number;
  frameworks: number;
  transport: TransportKind;
  shape: string;
  rateLimit: number | undefined;
  /** The in-flight window (0 = unlimited). */
  maxInFlight: number;
  offersReceived: number;
  offersUsed: number;
  offersDeclined: number;
  accepts: number;
  /** Tasks per accept, on average. */
  tasksPerAccept: number;
  /** First accept → last task done (FINISHED or failed, or RUNNING with `until: running`). */
  durationMs: number;
  /** Tasks done ÷ durationMs. */
  tasksPerSec: number;
  /** First → last accept: the rate at which tasks were launched. */
  launchPerSec: number;
  latency: LatencySummary;
  /** NATS client counters of the frameworks' connection. */
  connection: { inMsgs: number; outMsgs: number; inBytes: number; outBytes: number };
  /** Call failures and error events, by code. */
  errors: Record<string, number>;
  /** Lite frameworks that subscribed again (a new leader: NOT_SUBSCRIBED or event.resubscribe). */
  resubscriptions: number;
}

/** A running load. */
export interface LoadRun {
  readonly frameworks: readonly FrameworkHandle[];
  readonly recorder: TaskRecorder;
  /** Resolves once every task is done (see `until`). */
  readonly done: Promise<void>;
  stats(): LoadStats;
  /** `stats().resubscriptions`, without computing the rest. */
  resubscriptions(): number;
  /** Tears the frameworks down; closes the connection the load opened. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Subscribes the frameworks; they launch as offers come. Resolves once all
 * are subscribed.
 */
export async function startLoad(options: LoadOptions): Promise<LoadRun> {
  if (!Number.isInteger(options.tasks) || options.tasks < 0) {
    throw new RangeError(`tasks must be an integer >= 0, got ${options.tasks}`);
  }
  const count = Math.max(1, options.frameworks ?? 1);
  const total = options.tasks;
  const shape = parseShape(options.shape ?? DEFAULT_TASK_SHAPE);
  const transport = options.transport ?? "lite";
  const command = options.command ?? "true";
  const refuseSeconds = options.refuseSeconds ?? DEFAULT_REFUSE_SECONDS;
  const maxPerOffer = options.maxTasksPerOffer ?? Number.POSITIVE_INFINITY;
  const until = options.until ?? "finished";
  const maxInFlight = options.maxInFlight ?? 0;
  const logger = (options.logger ?? silentLogger()).child({ actor: "load" });
  const nc = options.nc ?? (await connect({ servers: options.servers, name: "bench-load" }));
  const ownsConnection = options.nc === undefined;
  const metrics = new Metrics();
  const recorder = new TaskRecorder(total);
  const pacer = new Pacer(options.rate);
  const queue: Array<{ framework: FrameworkHandle; offer: Offer }> = [];
  let queueHead = 0;
  let nextSeq = 0;
  let wake: NodeJS.Timeout | undefined;
  let stopped = false;
  const suppressed = new Set<FrameworkHandle>();
  const stats0 = nc.stats();

  const isDone = () => {
    const c = recorder.counts();
    return (until === "finished" ? c.finished : c.running) + c.failed >= total;
  };
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  let windowFull = false;
  const offChange = recorder.onChange(() => {
    if (windowFull && recorder.inFlight < maxInFlight) pump();
    if (isDone()) {
      offChange();
      resolveDone();
    }
  });
  if (total === 0) resolveDone();

  /** Declines offers of frameworks that launched everything: one call per framework. */
  const declineDone = (offers: ReadonlyArray<{ framework: FrameworkHandle; offer: Offer }>) => {
    const byFramework = new Map<FrameworkHandle, string[]>();
    for (const { framework, offer } of offers) {
      const ids = byFramework.get(framework);
      if (ids === undefined) byFramework.set(framework, [offer.offerId]);
      else ids.push(offer.offerId);
    }
    metrics.inc("offers_declined", offers.length);
    for (const [framework, ids] of byFramework) {
      void framework.decline(ids, { refuseSeconds: DONE_REFUSE_SECONDS });
      if (!suppressed.has(framework)) {
        suppressed.add(framework);
        void framework.suppress();
      }
    }
  };

  const launch = (framework: FrameworkHandle, offer: Offer, n: number) => {
    const tasks: TaskInfo[] = new Array(n);
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const seq = nextSeq++;
      const taskId = taskIdOf(seq);
      tasks[i] = {
        taskId,
        name: taskId,
        agentId: offer.agentId,
        resources: shape.json,
        command: { value: command, shell: true },
        ...(options.labels === undefined ? {} : { labels: options.labels }),
      };
      recorder.accepted(seq, t);
    }
    pacer.take(n);
    metrics.inc("accepts");
    metrics.inc("offers_used");
    void framework.accept([offer.offerId], tasks, { refuseSeconds }, options.groupExecutor);
  };

  /** What of an offer the tasks may use: a group's executor takes its own resources first. */
  function fitFor(offer: Offer): Offer {
    const own = options.groupExecutor?.resources;
    if (own === undefined) return offer;
    const resources = { ...offer.resources };
    for (const [name, v] of Object.entries(own)) {
      const have = resources[name];
      if (typeof v === "number" && typeof have === "number") resources[name] = have - v;
    }
    return { ...offer, resources };
  }

  function pump(): void {
    wake = undefined;
    windowFull = false;
    while (queueHead < queue.length && !stopped) {
      const { framework, offer } = queue[queueHead]!;
      const remaining = total - nextSeq;
      if (remaining <= 0) {
        declineDone(queue.slice(queueHead));
        break;
      }
      if (maxInFlight > 0 && recorder.inFlight >= maxInFlight) {
        // an update that settles a task pumps again
        windowFull = true;
        compact();
        return;
      }
      if (!pacer.ready()) {
        compact();
        wake = setTimeout(pump, Math.max(1, pacer.waitMs()));
        return;
      }
      queueHead++;
      const n = Math.min(tasksThatFit(shape, fitFor(offer)), remaining, maxPerOffer);
      if (n === 0) {
        metrics.inc("offers_declined");
        void framework.decline([offer.offerId], { refuseSeconds });
        continue;
      }
      launch(framework, offer, n);
    }
    queue.length = 0;
    queueHead = 0;
  }

  /** Drops the used head of the queue once it is long. */
  function compact(): void {
    if (queueHead > 1024) {
      queue.splice(0, queueHead);
      queueHead = 0;
    }
  }

  const listener = {
    offers(framework: FrameworkHandle, offers: readonly Offer[]) {
      metrics.inc("offers_received", offers.length);
      for (const offer of offers) queue.push({ framework, offer });
      if (wake === undefined && !windowFull) pump();
    },
    update(_framework: FrameworkHandle, status: TaskStatus) {
      recorder.update(status.taskId, status.state, performance.now());
    },
  };

  const frameworks: FrameworkHandle[] = [];
  try {
    const name = options.name ?? "load";
    const started = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        startFramework(transport, {
          nc,
          subjects: options.subjects,
          name: `${name}-${i}`,
          logger,
          metrics,
          listener,
          requestTimeoutMs: options.requestTimeoutMs,
        }),
      ),
    );
    frameworks.push(...started);
  } catch (err) {
    if (ownsConnection) await closeGracefully(nc);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      stopped = true;
      if (wake !== undefined) clearTimeout(wake);
      offChange();
      await Promise.all(frameworks.map((f) => f.teardown()));
      if (ownsConnection) await closeGracefully(nc);
    })();
    return stopping;
  };

  const stats = (): LoadStats => {
    const c = recorder.counts();
    const endAt = until === "finished" ? recorder.lastEndAt : recorder.lastRunningAt;
    const doneCount = (until === "finished" ? c.finished : c.running) + c.failed;
    const durationMs = Number.isNaN(endAt) ? 0 : endAt - recorder.firstAcceptAt;
    const launchMs = recorder.lastAcceptAt - recorder.firstAcceptAt;
    const s = nc.stats();
    const snapshot = metrics.snapshot();
    const errors: Record<string, number> = {};
    for (const [k, v] of Object.entries(snapshot)) {
      if (k.startsWith("call_failed_") || k.startsWith("event_error_") || k.includes("invalid")) {
        errors[k] = v;
      }
    }
    const accepts = metrics.get("accepts");
    return {
      tasks: total,
      frameworks: count,
      transport,
      shape: shape.text,
      rateLimit: pacer.rate,
      maxInFlight,
      ...c,
      offersReceived: metrics.get("offers_received"),
      resubscriptions: metrics.get("resubscriptions"),
      offersUsed: metrics.get("offers_used"),
      offersDeclined: metrics.get("offers_declined"),
      accepts,
      tasksPerAccept: accepts === 0 ? 0 : round(c.accepted / accepts, 1),
      durationMs: round(durationMs, 1),
      tasksPerSec: durationMs > 0 ? rate((doneCount * 1000) / durationMs) : 0,
      launchPerSec: launchMs > 0 ? rate((c.accepted * 1000) / launchMs) : 0,
      latency: recorder.latency(),
      connection: {
        inMsgs: s.inMsgs - stats0.inMsgs,
        outMsgs: s.outMsgs - stats0.outMsgs,
        inBytes: s.inBytes - stats0.inBytes,
        outBytes: s.outBytes - stats0.outBytes,
      },
      errors,
    };
  };

  return {
    frameworks,
    recorder,
    done,
    stats,
    resubscriptions: () => metrics.get("resubscriptions"),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

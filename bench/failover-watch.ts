/**
 * What the failover phase watches after it kills the leading master, each
 * as ms since the kill:
 *
 * - a master serving as leader: the first answer on `master.operator` (only
 *   a leader serves it) to `operator.getWeights`, a small request sent every
 *   few ms once the killed process has exited;
 * - agents back: the distinct agent ids of the `cluster.agentReregistered`
 *   and `cluster.agentAdded` events published after the kill (only a leader
 *   publishes them: the killed one is gone);
 * - allocation resumed: the first `cluster.offersSent` with an offer id the new
 *   leader assigned (ids start with the master's id), and the first
 *   `event.offers` a framework subscribed after the failover receives.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { serve } from "../infra/dispatch.ts";
import { silentLogger } from "../infra/logger.ts";
import { Metrics } from "../infra/metrics.ts";
import { request } from "../infra/request.ts";
import { ClusterEventKind, type Subjects } from "../protocol/subjects.ts";
import { type LoadRun, startLoad } from "./load/index.ts";
import { sleep } from "./sampling.ts";

/** Cluster events of agents and offers after a kill. */
export class FailoverEvents {
  readonly #subs: Subscription[] = [];
  readonly #agents = new Set<string>();
  #t0 = Number.NaN;
  #newMasterId: string | undefined;
  /** ms after the kill when the agents' events counted `target` distinct agents. */
  agentsBackMs: number | undefined;
  firstOfferSentMs: number | undefined;
  #target = Number.POSITIVE_INFINITY;
  readonly metrics = new Metrics();

  constructor(nc: NatsConnection, subjects: Subjects) {
    const logger = silentLogger();
    const onAgent = (agentId: string) => {
      if (Number.isNaN(this.#t0)) return;
      this.#agents.add(agentId);
      if (this.agentsBackMs === undefined && this.#agents.size >= this.#target) {
        this.agentsBackMs = performance.now() - this.#t0;
      }
    };
    this.#subs.push(
      serve(
        nc,
        subjects.event(ClusterEventKind.AgentAdded),
        { types: ["cluster.agentAdded"], logger, metrics: this.metrics },
        (msg) => {
          onAgent(msg.agentId);
          return undefined;
        },
      ),
      serve(
        nc,
        subjects.event(ClusterEventKind.AgentReregistered),
        { types: ["cluster.agentReregistered"], logger, metrics: this.metrics },
        (msg) => {
          onAgent(msg.agentId);
          return undefined;
        },
      ),
      serve(
        nc,
        subjects.event(ClusterEventKind.OfferSent),
        { types: ["cluster.offersSent"], logger, metrics: this.metrics },
        (msg) => {
          const id = this.#newMasterId;
          if (this.firstOfferSentMs !== undefined || id === undefined) return undefined;
          if (msg.offers.some((o) => o.offerId.startsWith(id)))
            this.firstOfferSentMs = performance.now() - this.#t0;
          return undefined;
        },
      ),
    );
  }

  /** Starts counting at the kill (`t0`, performance.now()): `agents` distinct agents are "all". */
  arm(t0: number, agents: number, newMasterId: string): void {
    this.#t0 = t0;
    this.#target = agents;
    this.#newMasterId = newMasterId;
  }

  /** Distinct agents seen back so far. */
  get agentsBack(): number {
    return this.#agents.size;
  }

  stop(): void {
    for (const sub of this.#subs) sub.unsubscribe();
  }
}

/**
 * Polls `master.operator` with `operator.getWeights` every `everyMs` until a
 * master answers; resolves ms since `t0`, or undefined after `timeoutMs`.
 */
export async function leaderServing(
  nc: NatsConnection,
  subjects: Subjects,
  t0: number,
  timeoutMs: number,
  everyMs = 5,
): Promise<number | undefined> {
  const deadline = t0 + timeoutMs;
  while (performance.now() < deadline) {
    try {
      await request(
        nc,
        subjects.masterOperator(),
        { type: "operator.getWeights" },
        ["operator.weights"],
        250,
      );
      return performance.now() - t0;
    } catch {
      await sleep(everyMs);
    }
  }
  return undefined;
}

/**
 * Subscribes one new framework (the load framework, lite) until the leader
 * takes it, then waits for its first offer; resolves ms since `t0` and the
 * run (stop it), or undefined after `timeoutMs`.
 */
export async function firstOfferToNewFramework(
  nc: NatsConnection,
  subjects: Subjects,
  t0: number,
  timeoutMs: number,
): Promise<{ ms: number | undefined; load: LoadRun | undefined }> {
  const deadline = t0 + timeoutMs;
  let load: LoadRun | undefined;
  while (load === undefined && performance.now() < deadline) {
    try {
      load = await startLoad({
        nc,
        subjects,
        frameworks: 1,
        tasks: 0,
        name: "failover-probe",
        requestTimeoutMs: 1000,
      });
    } catch {
      await sleep(20);
    }
  }
  if (load === undefined) return { ms: undefined, load };
  while (performance.now() < deadline) {
    if (load.stats().offersReceived > 0) return { ms: performance.now() - t0, load };
    await sleep(5);
  }
  return { ms: undefined, load };
}

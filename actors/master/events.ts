/**
 * The cluster event stream: what happens in the master, published on
 * `events.<kind>` for observers (CLI, dashboard, scripts). Fire and forget.
 */
import type { Clock } from "../../infra/clock.ts";
import type { SentOffer } from "../../protocol/cluster.ts";
import { MAX_OFFERS_PER_MESSAGE, type TaskReason, type TaskState } from "../../protocol/common.ts";
import { type Tail, withTails } from "../../protocol/fast-pack.ts";
import type { Resources } from "../../protocol/resources.ts";
import { ClusterEventKind } from "../../protocol/subjects.ts";
import { interned } from "./intern.ts";
import type { Outbox } from "./outbox.ts";
import type { AgentEntry, FrameworkEntry, OfferEntry, TaskEntry } from "./records.ts";

/** Publishes typed cluster events, stamped with the clock's time. */
export class ClusterEvents {
  readonly #outbox: Outbox;
  readonly #clock: Clock;

  constructor(outbox: Outbox, clock: Clock) {
    this.#outbox = outbox;
    this.#clock = clock;
  }

  agentAdded(agent: AgentEntry): void {
    this.#outbox.cluster(ClusterEventKind.AgentAdded, {
      type: "cluster.agentAdded",
      timestamp: this.#clock.now(),
      agentId: agent.id,
      hostname: agent.hostname,
      resources: interned.json(agent.total),
      attributes: agent.attributes,
    });
  }

  agentReregistered(agent: AgentEntry): void {
    this.#outbox.cluster(ClusterEventKind.AgentReregistered, {
      type: "cluster.agentReregistered",
      timestamp: this.#clock.now(),
      agentId: agent.id,
      hostname: agent.hostname,
    });
  }

  agentUnreachable(agentId: string): void {
    this.#outbox.cluster(ClusterEventKind.AgentUnreachable, {
      type: "cluster.agentUnreachable",
      timestamp: this.#clock.now(),
      agentId,
    });
  }

  agentUpdated(agent: Pick<AgentEntry, "id" | "deactivated" | "drain">): void {
    this.#outbox.cluster(ClusterEventKind.AgentUpdated, {
      type: "cluster.agentUpdated",
      timestamp: this.#clock.now(),
      agentId: agent.id,
      deactivated: agent.deactivated === true,
      ...(agent.drain === undefined ? {} : { drain: { ...agent.drain } }),
    });
  }

  agentRemoved(agentId: string, reason: string): void {
    this.#outbox.cluster(ClusterEventKind.AgentRemoved, {
      type: "cluster.agentRemoved",
      timestamp: this.#clock.now(),
      agentId,
      reason,
    });
  }

  frameworkAdded(framework: FrameworkEntry): void {
    this.#outbox.cluster(ClusterEventKind.FrameworkAdded, {
      type: "cluster.frameworkAdded",
      timestamp: this.#clock.now(),
      frameworkId: framework.id,
      name: framework.name,
      roles: framework.roles,
    });
  }

  frameworkDisconnected(frameworkId: string): void {
    this.#outbox.cluster(ClusterEventKind.FrameworkDisconnected, {
      type: "cluster.frameworkDisconnected",
      timestamp: this.#clock.now(),
      frameworkId,
    });
  }

  frameworkRemoved(frameworkId: string, reason: string): void {
    this.#outbox.cluster(ClusterEventKind.FrameworkRemoved, {
      type: "cluster.frameworkRemoved",
      timestamp: this.#clock.now(),
      frameworkId,
      reason,
    });
  }

  /**
   * Offers were made: one `cluster.offersSent` per {@link MAX_OFFERS_PER_MESSAGE}
   * of them; `tails[i]`: the entries `offers[i]` ends with (protocol/fast-pack.ts).
   */
  offersSent(offers: readonly SentOffer[], tails: readonly (Tail | undefined)[]): void {
    if (offers.length === 0) return;
    const timestamp = this.#clock.now();
    for (let i = 0; i < offers.length; i += MAX_OFFERS_PER_MESSAGE) {
      const whole = i === 0 && offers.length <= MAX_OFFERS_PER_MESSAGE;
      this.#outbox.cluster(ClusterEventKind.OfferSent, {
        type: "cluster.offersSent",
        timestamp,
        offers: withTails(
          whole ? (offers as SentOffer[]) : offers.slice(i, i + MAX_OFFERS_PER_MESSAGE),
          whole ? tails : tails.slice(i, i + MAX_OFFERS_PER_MESSAGE),
        ),
      });
    }
  }

  offerRescinded(offer: OfferEntry, reason: string): void {
    this.#outbox.cluster(ClusterEventKind.OfferRescinded, {
      type: "cluster.offerRescinded",
      timestamp: this.#clock.now(),
      offerId: offer.offerId,
      frameworkId: offer.frameworkId,
      agentId: offer.agentId,
      reason,
    });
  }

  /** An offer was accepted or declined. */
  offerEnded(offer: OfferEntry, how: "accepted" | "declined"): void {
    this.#outbox.cluster(ClusterEventKind.OfferEnded, {
      type: "cluster.offerEnded",
      timestamp: this.#clock.now(),
      offerId: offer.offerId,
      frameworkId: offer.frameworkId,
      agentId: offer.agentId,
      how,
    });
  }

  /** A task changed state (or was rejected with TASK_ERROR / TASK_DROPPED before it existed). */
  taskUpdated(
    task: Pick<TaskEntry, "taskId" | "frameworkId" | "agentId" | "name"> & { resources: Resources },
    state: TaskState,
    previousState: TaskState | undefined,
    reason?: TaskReason,
    message?: string,
    healthy?: boolean,
  ): void {
    this.#outbox.cluster(ClusterEventKind.TaskUpdated, {
      type: "cluster.taskUpdated",
      timestamp: this.#clock.now(),
      frameworkId: task.frameworkId,
      agentId: task.agentId,
      taskId: task.taskId,
      name: task.name,
      state,
      previousState,
      reason,
      message,
      ...(healthy === undefined ? {} : { healthy }),
      resources: interned.json(task.resources),
    });
  }

  /** Dominant shares after an allocation cycle. */
  allocation(
    roles: Record<string, { dominantShare: number }>,
    frameworks: Record<string, { dominantShare: number; role?: string }>,
    cycle?: { cycleMs: number; offers: number },
  ): void {
    this.#outbox.cluster(ClusterEventKind.Allocation, {
      type: "cluster.allocation",
      timestamp: this.#clock.now(),
      ...(cycle === undefined ? {} : { cycleMs: cycle.cycleMs, offers: cycle.offers }),
      roles,
      frameworks,
    });
  }
}

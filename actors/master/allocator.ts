/**
 * The allocation loop: a batch every allocation interval, plus a cycle soon
 * after a new agent, a new framework or a revive (requests are coalesced: many
 * in one I/O turn make one cycle). A cycle hands the policy the free
 * resources and the frameworks' standing, checks its decision, makes one
 * offer per allocation and publishes one `event.offers` per framework.
 * A batch cycle applies a large decision in chunks, one per event-loop turn
 * (`DEFAULT_ALLOCATION_CHUNK_OFFERS`), each allocation checked again when its
 * turn comes; no other cycle starts before the last chunk.
 */

import { performance } from "node:perf_hooks";
import type { Timer } from "../../infra/clock.ts";
import { ALLOCATION_RUN_BUCKETS_S, DEFAULT_ALLOCATION_CHUNK_OFFERS } from "../../infra/defaults.ts";
import { isAllocatable } from "../../policies/allocatable.ts";
import { dominantShare } from "../../policies/shares.ts";
import {
  type AgentSlot,
  type Allocation,
  type AllocationContext,
  type AllocationDecision,
  type FrameworkStanding,
  offerableTo,
} from "../../policies/types.ts";
import type { SentOffer } from "../../protocol/cluster.ts";
import { MAX_OFFERS_PER_MESSAGE, type Offer } from "../../protocol/common.ts";
import { type Tail, withTails } from "../../protocol/fast-pack.ts";
import { AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import { Resources } from "../../protocol/resources.ts";
import { pruneFilters } from "./filters.ts";
import { heldOn, placeGangs } from "./gang.ts";
import { allocationOf, freeOf, totalAllocationOf } from "./ledger.ts";
import type { AgentEntry, FrameworkEntry, MasterContext } from "./model.ts";
import { createOffer, offerToWire, sentOffer } from "./offers.ts";
import { demandServed, preemptNow } from "./preemption.ts";
import { roleStandings, roleSummaries } from "./roles.ts";

/**
 * Whether a framework may receive offers: it is subscribed, and it has shown
 * it listens (a call after subscribing) or one allocation interval has passed.
 */
function frameworkEligible(ctx: MasterContext, framework: FrameworkEntry, now: number): boolean {
  return (
    framework.status === FrameworkState.Subscribed &&
    (framework.contacted || now - framework.subscribedAt >= ctx.config.allocationInterval)
  );
}

/** The total resources of the active agents (kept incrementally by the pool). */
export function clusterTotal(ctx: MasterContext): Resources {
  return ctx.pool.total();
}

/**
 * Builds the policy's view of the cluster; prunes expired decline filters.
 * `agents` lists the agents with allocatable free resources (Mesos's
 * `min_allocatable_resources`) that may be offered now — active, and heard
 * from since they registered or registered one allocation interval ago — in
 * registration order; agents with nothing to offer are left out.
 */
export function buildContext(ctx: MasterContext): AllocationContext {
  return viewOf(ctx).context;
}

/** {@link buildContext}, with the agent record of each slot (at the same position). */
function viewOf(ctx: MasterContext): { context: AllocationContext; entries: AgentEntry[] } {
  const now = ctx.clock.now();
  const agents: AgentSlot[] = [];
  const entries: AgentEntry[] = [];
  const holds = ctx.gangs.heldOnAgent.size > 0;
  for (const agent of ctx.pool.candidates(now, ctx.config.allocationInterval)) {
    let free = agent.free ?? freeOf(agent);
    // what gangs hold is offered to nobody (gang.ts)
    const held = holds ? heldOn(ctx, agent.id) : undefined;
    if (held !== undefined) {
      free = free.subtractSaturating(held);
      if (free.isEmpty() || !isAllocatable(free, ctx.minAllocatable)) continue;
    }
    let slot = agent.slot;
    if (
      slot === undefined ||
      slot.free !== free ||
      slot.total !== agent.total ||
      slot.hostname !== agent.hostname ||
      slot.attributes !== agent.attributes
    ) {
      slot = {
        agentId: agent.id,
        hostname: agent.hostname,
        total: agent.total,
        free,
        attributes: agent.attributes,
      };
      agent.slot = slot;
    }
    agents.push(slot);
    entries.push(agent);
  }
  const frameworks: FrameworkStanding[] = [];
  for (const framework of ctx.frameworks.values()) {
    pruneFilters(framework, now);
    frameworks.push({
      frameworkId: framework.id,
      roles: framework.roles,
      active: frameworkEligible(ctx, framework, now),
      allocation: allocationOf(framework),
      suppressedRoles: Array.from(framework.suppressed),
      filters: framework.filters,
      filterIndex: framework.filterIndex,
      allocations: framework.allocations,
      ...(framework.priority === undefined ? {} : { priority: framework.priority }),
    });
  }
  const context: AllocationContext = {
    now,
    total: ctx.pool.total(),
    agents,
    frameworks,
    roles: roleStandings(ctx),
    allocationInterval: ctx.config.allocationInterval,
    minAllocatable: ctx.minAllocatable,
  };
  return { context, entries };
}

/** How far ahead of the last agent found {@link AgentFinder} looks before asking the map. */
const FIND_AHEAD = 8;

/**
 * Finds the record of an allocation's agent. Policies list allocations in
 * about the order of the context's agents (the built-in ones exactly), so the
 * finder looks a few slots ahead of the last one it found before it falls
 * back to `ctx.agents`: a string-keyed lookup in a map of every agent costs
 * a few cache misses, 50,000 times in a full cycle. A record found by
 * position is the one `ctx.agents` holds while it is in the pool.
 */
class AgentFinder {
  readonly #entries: readonly AgentEntry[];
  #next = 0;

  constructor(entries: readonly AgentEntry[]) {
    this.#entries = entries;
  }

  find(ctx: MasterContext, agentId: string): AgentEntry | undefined {
    const entries = this.#entries;
    const end = Math.min(entries.length, this.#next + FIND_AHEAD);
    for (let i = this.#next; i < end; i++) {
      const entry = entries[i]!;
      if (entry.id === agentId && ctx.pool.holds(entry)) {
        // an agent may get several allocations (roles, frameworks): stay on it
        this.#next = i;
        return entry;
      }
    }
    return ctx.agents.get(agentId);
  }
}

/** Runs allocation cycles for a master. */
export class Allocator {
  readonly #ctx: MasterContext;
  readonly #schedule: (fn: () => void) => void;
  #timer: Timer | undefined;
  #pending = false;
  #stopped = false;
  /** The shares last published, to publish only changes. */
  #lastShares = "";
  /** What is left to apply of a chunked cycle's decision. */
  #applying:
    | {
        allocations: readonly Allocation[];
        next: number;
        total: Resources;
        decideMs: number;
        agents: AgentFinder;
      }
    | undefined;
  /** A cycle was asked for while a chunked one was being applied. */
  #again = false;
  readonly #chunk: number;
  /** Wall time of each cycle's decision (Mesos `allocator/mesos/allocation_run_ms`). */
  readonly #runSeconds: { observe(seconds: number): void };

  /**
   * `schedule` runs a requested cycle, or the next chunk of one, soon; default
   * `setImmediate` (after the current I/O turn). `chunk`: offers per turn of a batch cycle.
   */
  constructor(
    ctx: MasterContext,
    schedule: (fn: () => void) => void = (fn) => setImmediate(fn),
    chunk = DEFAULT_ALLOCATION_CHUNK_OFFERS,
  ) {
    this.#ctx = ctx;
    this.#schedule = schedule;
    this.#chunk = Math.max(1, chunk);
    this.#runSeconds = ctx.metrics.histogram(
      "agora_allocator_allocation_run_seconds",
      "Wall time of an allocation cycle: building the policy's view and its decision",
      ALLOCATION_RUN_BUCKETS_S,
    );
  }

  /** Starts the batch timer. */
  start(): void {
    this.#stopped = false;
    this.#timer ??= this.#ctx.clock.every(this.#ctx.config.allocationInterval, () => this.#batch());
  }

  stop(): void {
    this.#stopped = true;
    this.#applying = undefined;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Asks for a cycle soon; requests made before it runs are coalesced into it. */
  request(): void {
    if (this.#pending || this.#stopped) return;
    this.#pending = true;
    this.#schedule(() => {
      if (!this.#pending || this.#stopped) return;
      this.#batch();
    });
  }

  /** A cycle of the loop: its decision applied in chunks; deferred while one is applied. */
  #batch(): void {
    if (this.#applying !== undefined) {
      this.#pending = false;
      this.#again = true;
      return;
    }
    this.#cycle(true);
  }

  /**
   * Runs one cycle now and applies its whole decision (after what is left of
   * a chunked one); returns the number of offers made.
   */
  run(): number {
    let count = 0;
    while (this.#applying !== undefined) count += this.#applyChunk(Number.POSITIVE_INFINITY);
    return count + this.#cycle(false);
  }

  #cycle(chunked: boolean): number {
    this.#pending = false;
    const ctx = this.#ctx;
    // after a failover, nothing is offered until enough agents are back with their tasks
    if (ctx.recovery?.paused || !ctx.isLeading()) return 0;
    // gangs first: a gang whose whole set fits is offered it, the others hold what they fit on
    const gangOffers = placeGangs(ctx, () => buildContext(ctx));
    const now = ctx.clock.now();
    let active = false;
    for (const framework of ctx.frameworks.values()) {
      pruneFilters(framework, now);
      if (frameworkEligible(ctx, framework, now)) active = true;
    }
    // nothing to decide without an agent that may be offered or a framework that may receive
    if (!active || !ctx.pool.hasEligible(now, ctx.config.allocationInterval)) {
      this.#preempt();
      return gangOffers;
    }
    const started = performance.now();
    const { context, entries } = viewOf(ctx);
    let decision: AllocationDecision;
    try {
      decision = ctx.policy.allocate(context);
    } catch (err) {
      ctx.metrics.inc("allocation_failures");
      ctx.logger.error({ err, policy: ctx.policy.name }, "allocation policy failed");
      return gangOffers;
    }
    const decideMs = performance.now() - started;
    this.#runSeconds.observe(decideMs / 1000);
    ctx.metrics.inc("allocation_runs");
    this.#applying = {
      allocations: decision.allocations,
      next: 0,
      total: context.total,
      decideMs,
      agents: new AgentFinder(entries),
    };
    return gangOffers + this.#applyChunk(chunked ? this.#chunk : Number.POSITIVE_INFINITY);
  }

  /**
   * Applies the next `max` allocations of the cycle being applied; schedules
   * the rest for the next turn, or, after the last chunk, publishes the
   * shares and runs a cycle asked for meanwhile.
   */
  #applyChunk(max: number): number {
    const applying = this.#applying;
    if (applying === undefined) return 0;
    const { allocations } = applying;
    const end = Math.min(allocations.length, applying.next + max);
    const count = this.#apply(allocations, applying.next, end, applying.agents);
    applying.next = end;
    if (end < allocations.length) {
      if (!this.#stopped) {
        this.#schedule(() => {
          if (this.#applying === applying) this.#applyChunk(this.#chunk);
        });
      }
      return count;
    }
    this.#applying = undefined;
    this.#publishShares(applying.total, {
      cycleMs: Math.round(applying.decideMs * 1000) / 1000,
      offers: allocations.length,
    });
    this.#preempt();
    if (this.#again) {
      this.#again = false;
      this.request();
    }
    return count;
  }

  /** With preemption on and demands standing: plans and kills (nothing else costs when off). */
  #preempt(): void {
    const ctx = this.#ctx;
    if (!ctx.preemption.enabled || ctx.preemption.demands.size === 0) return;
    preemptNow(ctx, () => buildContext(ctx));
  }

  #apply(
    allocations: readonly Allocation[],
    from: number,
    to: number,
    agents: AgentFinder,
  ): number {
    const ctx = this.#ctx;
    // per framework its offers and, in step, the agents' tails of their wire forms (offers.ts)
    const byFramework = new Map<string, { offers: Offer[]; tails: Array<Tail | undefined> }>();
    const sent: SentOffer[] = [];
    const sentTails: Array<Tail | undefined> = [];
    const now = ctx.clock.now();
    for (let i = from; i < to; i++) {
      const allocation = allocations[i] as Allocation;
      const agent = agents.find(ctx, allocation.agentId);
      const framework = ctx.frameworks.get(allocation.frameworkId);
      const { resources, role } = allocation;
      if (
        agent === undefined ||
        framework === undefined ||
        agent.status !== AgentState.Active ||
        framework.status !== FrameworkState.Subscribed ||
        !framework.roles.includes(role) ||
        !(resources instanceof Resources) ||
        resources.isEmpty() ||
        !offerableTo(resources, role).equals(resources) ||
        !ctx.pool.freeOf(agent).contains(resources)
      ) {
        ctx.metrics.inc("allocations_invalid");
        ctx.logger.warn(
          { frameworkId: allocation.frameworkId, agentId: allocation.agentId, role },
          "policy allocation rejected",
        );
        continue;
      }
      if (framework.suppressed.has(role)) {
        // suppressed after the cycle decided, before this chunk's turn
        ctx.metrics.inc("allocations_skipped");
        continue;
      }
      const offer = createOffer(ctx, agent, framework, role, resources, now);
      framework.allocations += 1;
      if (ctx.preemption.demands.size > 0) demandServed(ctx, framework.id, role, resources);
      const wire = offerToWire(offer, agent);
      const list = byFramework.get(framework.id);
      if (list === undefined)
        byFramework.set(framework.id, { offers: [wire], tails: [agent.offerTail] });
      else {
        list.offers.push(wire);
        list.tails.push(agent.offerTail);
      }
      sent.push(sentOffer(wire, agent));
      sentTails.push(agent.sentTail);
    }
    ctx.events.offersSent(sent, sentTails);
    let count = 0;
    for (const [frameworkId, { offers, tails }] of byFramework) {
      for (let i = 0; i < offers.length; i += MAX_OFFERS_PER_MESSAGE) {
        const end = i + MAX_OFFERS_PER_MESSAGE;
        ctx.outbox.toFramework(frameworkId, {
          type: "event.offers",
          offers:
            offers.length <= MAX_OFFERS_PER_MESSAGE
              ? withTails(offers, tails)
              : withTails(offers.slice(i, end), tails.slice(i, end)),
        });
      }
      count += offers.length;
    }
    if (count > 0) ctx.metrics.inc("offers_sent", count);
    return count;
  }

  /**
   * Publishes `cluster.allocation` with the dominant share of every role
   * (with its sub-roles) and framework, when they changed since the last one.
   */
  #publishShares(total: Resources, cycle: { cycleMs: number; offers: number }): void {
    const ctx = this.#ctx;
    const frameworks: Record<string, { dominantShare: number; role?: string }> = {};
    for (const framework of ctx.frameworks.values()) {
      frameworks[framework.id] = {
        dominantShare: dominantShare(totalAllocationOf(framework), total),
        ...(framework.roles.length === 1 ? { role: framework.roles[0] } : {}),
      };
    }
    const roles: Record<string, { dominantShare: number }> = {};
    for (const [role, summary] of Object.entries(roleSummaries(ctx, total))) {
      roles[role] = { dominantShare: summary.dominantShare };
    }
    const key = JSON.stringify([roles, frameworks]);
    if (key === this.#lastShares) return;
    this.#lastShares = key;
    ctx.events.allocation(roles, frameworks, cycle);
  }
}

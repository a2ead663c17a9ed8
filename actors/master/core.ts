/**
 * The master without a network: its records, the allocator and the periodic
 * timers (allocation batch, agent liveness sweep, framework heartbeats). The
 * NATS actor in `index.ts` wraps it; unit tests drive it directly with a
 * recording outbox and a virtual clock.
 */

import { randomBytes } from "node:crypto";
import type { Clock, Timer } from "../../infra/clock.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { allocatableBy, parseMinAllocatable } from "../../policies/allocatable.ts";
import type { AllocationPolicy } from "../../policies/types.ts";
import { sweepAgents } from "./agents.ts";
import { Allocator } from "./allocator.ts";
import { ALLOW_ALL, type Authorizer } from "./authorizer.ts";
import type { MasterConfig } from "./config.ts";
import { ClusterEvents } from "./events.ts";
import { FilterBook } from "./filter-book.ts";
import { heartbeatFrameworks } from "./frameworks.ts";
import { stopGangs } from "./gang.ts";
import { createGangState } from "./gang-state.ts";
import { checkInvariants } from "./ledger.ts";
import type { LeadershipView, MasterContext } from "./model.ts";
import { OfferBook } from "./offer-book.ts";
import type { Outbox } from "./outbox.ts";
import { AgentPool } from "./pool.ts";
import { createPreemptionState } from "./preemption-state.ts";
import { MemoryRegistry, type Registry } from "./registry.ts";

/** What the master core needs. */
export interface MasterCoreDeps {
  masterId: string;
  config: MasterConfig;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  outbox: Outbox;
  policy: AllocationPolicy;
  /** Runs a requested allocation cycle, or the next chunk of one, soon; default `setImmediate`. */
  schedule?: (fn: () => void) => void;
  /** Offers per turn of a batch cycle; default `DEFAULT_ALLOCATION_CHUNK_OFFERS`. */
  allocationChunk?: number;
  /** Where the registry is written; default a fresh {@link MemoryRegistry}. */
  registry?: Registry;
  /** Whether the master holds a valid lease now; default always. */
  isLeading?: () => boolean;
  /** Who leads; default this master. */
  leadership?: () => LeadershipView;
  /** The ACLs calls are checked against; default allow everything. */
  authorizer?: Authorizer;
  /** Id counters shared with earlier cores of the same process, so ids never repeat. */
  sequence?: { agents: number; frameworks: number; offers: number };
}

/** The master's state machine and timers, without NATS. */
export interface MasterCore {
  readonly ctx: MasterContext;
  readonly allocator: Allocator;
  /** Starts the periodic timers. */
  start(): void;
  /** Cancels every timer (periodic, offer timeouts, failover timers). */
  stop(): void;
  /** Resource accounting violations; empty when the books balance. */
  checkInvariants(): string[];
}

/** A master id like Mesos's: `<yyyymmdd>-<hhmmss>-<random>`, a valid subject token. */
export function generateMasterId(now: number): string {
  const iso = new Date(now).toISOString();
  const date = iso.slice(0, 10).replaceAll("-", "");
  const time = iso.slice(11, 19).replaceAll(":", "");
  return `${date}-${time}-${randomBytes(3).toString("hex")}`;
}

/** Creates the network-free master. */
export function createMasterCore(deps: MasterCoreDeps): MasterCore {
  let allocator: Allocator | undefined;
  const minAllocatable = parseMinAllocatable(deps.config.minAllocatableResources);
  const ctx: MasterContext = {
    masterId: deps.masterId,
    config: deps.config,
    clock: deps.clock,
    logger: deps.logger,
    metrics: deps.metrics,
    outbox: deps.outbox,
    events: new ClusterEvents(deps.outbox, deps.clock),
    policy: deps.policy,
    startTime: deps.clock.now(),
    agents: new Map(),
    removedAgents: new Set(),
    frameworks: new Map(),
    removedFrameworks: new Set(),
    offers: new OfferBook(deps.masterId),
    minAllocatable,
    filterBook: new FilterBook(),
    pool: new AgentPool(allocatableBy(minAllocatable)),
    roles: new Map(),
    sequence: deps.sequence ?? { agents: 0, frameworks: 0, offers: 0 },
    registry: deps.registry ?? new MemoryRegistry(),
    authorizer: deps.authorizer ?? ALLOW_ALL,
    isLeading: deps.isLeading ?? (() => true),
    leadership: deps.leadership ?? (() => ({ leader: true, leaderId: deps.masterId })),
    recovery: undefined,
    requestAllocation: () => allocator?.request(),
    maintenance: { windows: [], inverseOffers: new Map(), timer: undefined, timerAt: undefined },
    preemption: createPreemptionState(deps.config.preemption),
    gangs: createGangState(),
  };
  allocator = new Allocator(ctx, deps.schedule, deps.allocationChunk);
  const alloc = allocator;
  let timers: Timer[] = [];
  return {
    ctx,
    allocator: alloc,
    start() {
      if (timers.length > 0) return;
      alloc.start();
      timers = [
        deps.clock.every(deps.config.agentPingTimeout, () => {
          if (ctx.isLeading()) sweepAgents(ctx);
        }),
        deps.clock.every(deps.config.frameworkHeartbeatInterval, () => {
          if (ctx.isLeading()) heartbeatFrameworks(ctx);
        }),
      ];
    },
    stop() {
      alloc.stop();
      ctx.recovery?.timer?.cancel();
      ctx.recovery = undefined;
      ctx.maintenance.timer?.cancel();
      ctx.maintenance.timer = undefined;
      ctx.maintenance.timerAt = undefined;
      stopGangs(ctx);
      for (const timer of timers) timer.cancel();
      timers = [];
      for (const offer of ctx.offers.values()) offer.timer?.cancel();
      for (const framework of ctx.frameworks.values()) {
        framework.failoverTimer?.cancel();
        framework.failoverTimer = undefined;
      }
    },
    checkInvariants: () => checkInvariants(ctx),
  };
}

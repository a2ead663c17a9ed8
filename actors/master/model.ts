/**
 * The context every part of the master works on, with the records of roles,
 * leadership and recovery. The records of agents, frameworks, tasks and offers
 * are in `records.ts` (a leaf, so `pool.ts` and `events.ts` need not import
 * this file) and re-exported here.
 */
import type { Clock, Timer } from "../../infra/clock.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import type { MinAllocatable } from "../../policies/allocatable.ts";
import type { AllocationPolicy } from "../../policies/types.ts";
import type {
  InverseOfferStatus,
  MaintenanceWindow,
  Unavailability,
} from "../../protocol/maintenance.ts";
import type { Resources } from "../../protocol/resources.ts";
import type { Authorizer } from "./authorizer.ts";
import type { MasterConfig } from "./config.ts";
import type { ClusterEvents } from "./events.ts";
import type { FilterBook } from "./filter-book.ts";
import type { GangState } from "./gang-state.ts";
import type { OfferBook } from "./offer-book.ts";
import type { Outbox } from "./outbox.ts";
import type { AgentPool } from "./pool.ts";
import type { PreemptionState } from "./preemption-state.ts";
import type { AgentEntry, FrameworkEntry, KillRequest, OfferEntry } from "./records.ts";
import type { Registry } from "./registry.ts";

export type {
  AgentEntry,
  ExecutorEntry,
  FrameworkEntry,
  KillRequest,
  OfferEntry,
  TaskEntry,
} from "./records.ts";

/** A role's settings: weight, priority and quota (see `roles.ts`, the one place they change). */
export interface RoleEntry {
  /** Relative weight (Mesos `--weights`); undefined = 1. */
  weight: number | undefined;
  /** Priority for the `priority` policy; undefined = inherited or 0. */
  priority: number | undefined;
  /** Unreserved scalars kept allocatable to the role while it is below them. */
  guarantee: Resources | undefined;
  /** Unreserved scalars the role (with its sub-roles) never holds more of. */
  limit: Resources | undefined;
  /** Kueue's: the most of its siblings' lent guarantee it may use (undefined: no cap). */
  borrowingLimit?: Resources | undefined;
  /** Kueue's: how much of its unused guarantee it lends to its siblings (undefined: none). */
  lendingLimit?: Resources | undefined;
}

/** Who leads, as this master knows it (the state's `leader`, `leaderId`, `masters`). */
export interface LeadershipView {
  leader: boolean;
  leaderId?: string | undefined;
  masters?: Array<{ id: string; hostname: string; leader: boolean }> | undefined;
}

/** A new leader's recovery: allocation waits until enough of the registry's agents are back. */
export interface RecoveryState {
  /** Agents the registry admitted (the ones asked to reregister). */
  readonly expected: number;
  /** How many of them reregistered so far. */
  reregistered: number;
  /** Whether allocation is still paused. */
  paused: boolean;
  readonly startedAt: number;
  /** Fires at the agent reregister timeout. */
  timer: Timer | undefined;
  /**
   * Kills for tasks not known yet that named no agent, by
   * `frameworkId\u0000taskId`: delivered by whichever agent reregisters with
   * them live; forgotten when the recovery ends.
   */
  kills?: Map<string, KillRequest> | undefined;
}

/** What every part of the master works on. */
export interface MasterContext {
  readonly masterId: string;
  readonly config: MasterConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly outbox: Outbox;
  readonly events: ClusterEvents;
  readonly policy: AllocationPolicy;
  readonly startTime: number;
  readonly agents: Map<string, AgentEntry>;
  /** Ids of removed agents: they may not reregister. */
  readonly removedAgents: Set<string>;
  readonly frameworks: Map<string, FrameworkEntry>;
  /** Ids of removed frameworks: they may not resubscribe. */
  readonly removedFrameworks: Set<string>;
  readonly offers: OfferBook<OfferEntry>;
  /** `--min-allocatable-resources`, parsed: what free resources must hold to be offered. */
  readonly minAllocatable: MinAllocatable;
  /** The frameworks' decline filters by agent (`filters.ts`). */
  readonly filterBook: FilterBook;
  /** The cluster total and the agents allocation may visit, kept incrementally. */
  readonly pool: AgentPool;
  /** Roles with settings (weight, priority, quota); a role not here has the defaults. */
  readonly roles: Map<string, RoleEntry>;
  /** Counters behind the ids this master assigns (kept across the cores of one process). */
  readonly sequence: { agents: number; frameworks: number; offers: number };
  /** Where what must survive the master is written before it is acknowledged. */
  readonly registry: Registry;
  /** The ACLs calls are checked against (`--acls`); allows everything without them. */
  readonly authorizer: Authorizer;
  /**
   * Whether this master may act now (it holds a valid lease). Every handler,
   * timer and the outbox check it; always true without leader election.
   */
  isLeading(): boolean;
  /** Who leads, for the state. */
  leadership(): LeadershipView;
  /** Set while a new leader recovers; undefined otherwise. */
  recovery: RecoveryState | undefined;
  /** Asks for an allocation cycle soon (coalesced). */
  requestAllocation(): void;
  /** Preemption: whether it is on, the frameworks' demands, the rounds under way (`preemption.ts`). */
  readonly preemption: PreemptionState;
  /** Gang placement: the gangs, what they hold, the frameworks' back-offs (`gang.ts`). */
  readonly gangs: GangState;
  /** The maintenance schedule, inverse offers and drain deadlines (maintenance.ts). */
  readonly maintenance: MaintenanceState;
}

/** An inverse offer the master made (Mesos `InverseOffer`). */
export interface InverseOfferEntry {
  readonly inverseOfferId: string;
  readonly agentId: string;
  readonly frameworkId: string;
  readonly unavailability: Unavailability;
  status: InverseOfferStatus;
}

/** The master's maintenance records. */
export interface MaintenanceState {
  windows: MaintenanceWindow[];
  /** Outstanding and answered inverse offers, by id. */
  readonly inverseOffers: Map<string, InverseOfferEntry>;
  /** The timer of the next deadline, window start or window end. */
  timer: Timer | undefined;
  /** When {@link timer} fires, ms since the epoch. */
  timerAt: number | undefined;
}

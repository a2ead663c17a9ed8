/**
 * The master's in-memory records and the context every part of the master
 * works on. Records are plain mutable objects (no live XState actor per
 * object); their lifecycles advance through the transition tables derived from
 * the machines in `protocol/lifecycles`.
 */
import type { Clock, Timer } from "../../infra/clock.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import type { AllocationPolicy, DeclineFilter } from "../../policies/types.ts";
import type { Attributes, TaskState, TaskStatus } from "../../protocol/common.ts";
import type { FrameworkInfo } from "../../protocol/frameworks.ts";
import type { AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import type { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import type { OfferState } from "../../protocol/lifecycles/offer.machine.ts";
import type {
  DrainInfo,
  InverseOfferStatus,
  MaintenanceWindow,
  Unavailability,
} from "../../protocol/maintenance.ts";
import type { Resources } from "../../protocol/resources.ts";
import type { Authorizer } from "./authorizer.ts";
import type { MasterConfig } from "./config.ts";
import type { ClusterEvents } from "./events.ts";
import type { Outbox } from "./outbox.ts";
import type { AgentPool } from "./pool.ts";
import type { Registry } from "./registry.ts";
import type { RoleSums } from "./sums.ts";

/**
 * An agent as the master knows it. For every agent: total = free + offered + used.
 * A compact record: its collections exist only once something is in them,
 * and its total and attributes are shared with other agents that have equal ones.
 */
export interface AgentEntry {
  readonly id: string;
  /**
   * The agent principal that registered it (the principal token of
   * `master.register.<principal>`); only that principal's subject may speak for it.
   */
  readonly principal: string;
  /** Its position in registration order (the order allocation visits agents in). */
  readonly ordinal: number;
  hostname: string;
  total: Resources;
  attributes: Attributes;
  version: string | undefined;
  status: AgentState;
  /** When it last (re)registered, ms since the epoch. */
  registeredAt: number;
  /** When it was last heard from. */
  lastSeen: number;
  /**
   * Whether it sent a message after its (re)registration reply: its
   * subscription to `agent.<id>` is then in place (NATS keeps a connection's
   * order), so tasks may be launched on it without racing its subscription.
   */
  contacted: boolean;
  unreachableSince: number | undefined;
  /**
   * Kills for tasks it has not reported yet (named with this agent while it
   * was recovered or unreachable), by `frameworkId\u0000taskId`; delivered
   * when it reregisters with them live, then forgotten. Undefined when none.
   */
  kills?: Map<string, KillRequest> | undefined;
  /** Sum of its outstanding offers. */
  offered: Resources;
  /** Sum of its accounted tasks and executors. */
  used: Resources;
  /** Its tasks that are not completed (terminal and acknowledged); undefined when none. */
  tasks: Set<TaskEntry> | undefined;
  /** Custom executors with accounted tasks, by `executorKey`; undefined when none. */
  executors: Map<string, ExecutorEntry> | undefined;
  /** Its outstanding offers (a few at most: one per framework and role); undefined when none. */
  offers: OfferEntry[] | undefined;
  /** The total counted in the cluster total (while active), see `pool.ts`. */
  counted: Resources | undefined;
  /** Its free resources while it is an allocation candidate (allocatable free resources). */
  free: Resources | undefined;
  /** Whether `offered`, `used`, status or total changed since the pool last looked. */
  dirty: boolean;
  /** Deactivated (drained or by the operator): not offered. Undefined: active. */
  deactivated?: boolean | undefined;
  /** Its drain, while draining or drained (maintenance.ts). */
  drain?: DrainInfo | undefined;
}

/** A custom executor on an agent: its own resources are counted once. */
export interface ExecutorEntry {
  readonly frameworkId: string;
  readonly executorId: string;
  readonly role: string;
  readonly resources: Resources;
  /** Accounted tasks that run through it. */
  tasks: number;
}

/** A framework as the master knows it. */
export interface FrameworkEntry {
  readonly id: string;
  info: FrameworkInfo;
  name: string;
  roles: string[];
  status: FrameworkState;
  /** Known only from agents' reregistration (e.g. after a master restart), never subscribed here. */
  recovered: boolean;
  /** Whether it sent a call since (re)subscribing: its event subscription is then in place. */
  contacted: boolean;
  subscribedAt: number;
  lastSeen: number;
  failoverTimeoutMs: number;
  failoverTimer: Timer | undefined;
  readonly suppressed: Set<string>;
  /** Decline filters (the allocator prunes expired ones); they change through `filters.ts`. */
  filters: DeclineFilter[];
  /** The same filters by agent id (see `filters.ts`). */
  filterIndex: Map<string, DeclineFilter[]>;
  /** When the first of the filters expires (Infinity when there are none). */
  filtersExpireAt: number;
  /** Outstanding offers per role (quantities). */
  readonly offered: RoleSums;
  /** Accounted tasks and executors per role (quantities). */
  readonly used: RoleSums;
  /** Tasks not completed yet, by task id (terminal ones until their update is acknowledged). */
  readonly tasks: Map<string, TaskEntry>;
  /** The most recent completed tasks, oldest first (bounded). */
  readonly completed: TaskEntry[];
  readonly offers: Set<OfferEntry>;
  /** Allocations made to it (DRF tie-breaker). */
  allocations: number;
  /** Its priority within its roles (`FrameworkInfo.priority`, the `priority` policy). */
  priority: number | undefined;
}

/** A task: a compact record, not a live state machine. */
export interface TaskEntry {
  readonly taskId: string;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly name: string;
  readonly role: string;
  /** The task's own resources. */
  readonly resources: Resources;
  /** The custom executor's id, or the id reported by the agent. */
  executorId: string | undefined;
  /** Key of the custom executor whose resources this task holds a share of. */
  readonly executorKey: string | undefined;
  state: TaskState;
  /** The latest status applied. */
  status: TaskStatus | undefined;
  /** Whether its resources are counted in its agent's and framework's `used`. */
  accounted: boolean;
  /** Whether the scheduler acknowledged `status.uuid` (false while an update with a uuid awaits it). */
  acknowledged: boolean;
  /**
   * The scheduler asked to kill it (Mesos `killedTasks`): sent again when its
   * agent reregisters and reports it live, so a kill the agent missed
   * (unreachable, partitioned) is not lost.
   */
  kill?: KillRequest | undefined;
}

/** A kill the scheduler asked for. */
export interface KillRequest {
  /** Overrides the task's kill grace period, in seconds. */
  readonly gracePeriodSeconds: number | undefined;
  /** Bounds the task's grace period (a drain's `maxGracePeriodSeconds`). */
  readonly maxGracePeriodSeconds?: number | undefined;
}

/** An outstanding offer. Ended offers are removed: an offer id is usable once. */
export interface OfferEntry {
  readonly offerId: string;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly role: string;
  readonly resources: Resources;
  readonly createdAt: number;
  /** Where it is in the offer lifecycle (protocol/lifecycles/offer.machine.ts). */
  state: OfferState;
  /** The timer of its state's named delay (the offer timeout), if one runs. */
  timer: Timer | undefined;
}

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
  readonly offers: Map<string, OfferEntry>;
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

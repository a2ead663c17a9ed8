/**
 * The master's records of agents, frameworks, tasks and offers: plain mutable
 * objects (no live XState actor per object) whose lifecycles advance through
 * the transition tables derived from the machines in `protocol/lifecycles`.
 * A leaf of the master's import graph (`model.ts` re-exports these types).
 */
import type { Timer } from "../../infra/clock.ts";
import type { AgentSlot, DeclineFilter } from "../../policies/types.ts";
import type { SentOffer } from "../../protocol/cluster.ts";
import type {
  Attributes,
  Offer,
  TaskReason,
  TaskState,
  TaskStatus,
} from "../../protocol/common.ts";
import type { Tail } from "../../protocol/fast-pack.ts";
import type { FrameworkInfo } from "../../protocol/frameworks.ts";
import type { AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import type { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import type { OfferState } from "../../protocol/lifecycles/offer.machine.ts";
import type { DrainInfo } from "../../protocol/maintenance.ts";
import type { Resources } from "../../protocol/resources.ts";
import type { FrameworkFilters } from "./filter-book.ts";
import type { FrameworkOffers, Linked } from "./offer-book.ts";
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
  /** Its position in the pool's list of candidates; -1 when it is not one (`pool.ts`). */
  candidateAt: number;
  /**
   * Its entries at the end of the wire form of its offers (`event.offers`,
   * `cluster.offersSent`), frozen and shared by its offers while they hold:
   * the codec copies their bytes (protocol/fast-pack.ts tails; `offers.ts`).
   */
  offerTail?: OfferTail | undefined;
  sentTail?: SentTail | undefined;
  /** Its slot in the last allocation context, reused while nothing in it changed (`allocator.ts`). */
  slot?: AgentSlot | undefined;
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
  /** The same filters by agent id, with their expiry (see `filters.ts`). */
  readonly filterIndex: FrameworkFilters;
  /** Outstanding offers per role (quantities). */
  readonly offered: RoleSums;
  /** Accounted tasks and executors per role (quantities). */
  readonly used: RoleSums;
  /** Tasks not completed yet, by task id (terminal ones until their update is acknowledged). */
  readonly tasks: Map<string, TaskEntry>;
  /** The most recent completed tasks, oldest first (bounded). */
  readonly completed: TaskEntry[];
  readonly offers: FrameworkOffers<OfferEntry>;
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
  /** Set when the master kills it on its own (preemption): the reason its terminal update gets. */
  readonly reason?: TaskReason | undefined;
}

/** An agent's part of an offer's wire form: its last entries, in this order. */
export type OfferTail = Tail<
  Pick<Offer, "agentId" | "agentPrincipal" | "hostname" | "resources" | "attributes">
>;

/** An agent's part of an offer as `cluster.offersSent` lists it: its last entries. */
export type SentTail = Tail<Pick<SentOffer, "agentId" | "resources">>;

/** An outstanding offer. Ended offers are removed: an offer id is usable once. */
export interface OfferEntry extends Linked<OfferEntry> {
  readonly offerId: string;
  /** Its number in the master's offer sequence (the book's key: offer-book.ts). */
  readonly seq: number;
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

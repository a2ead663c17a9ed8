/*
 * Changed for roles, quota and priority (kept backward compatible: every new
 * field is optional, nothing was removed or renamed):
 * - `RoleStanding` gained `priority?` and `quota?` ({@link RoleQuotaStanding}:
 *   `guarantee?` / `limit?` as unreserved scalar {@link Resources}).
 * - `AllocationContext.roles` now lists every role the master knows a
 *   setting of (weight, priority, quota), with or without frameworks.
 * - `FrameworkStanding` gained `priority?`; `DeclineFilter` gained `role?`
 *   (filters are per role as in Mesos; `isFiltered` takes an optional role).
 * - `AllocationContext` gained `allocationInterval?` (ms).
 * - `AllocationContext` gained `minAllocatable?` (the master's
 *   `--min-allocatable-resources`; absent: Mesos's `cpus:0.01|mem:32`).
 * - helpers `rolePriority`, `roleQuota`, `isSubrole`, `offerableTo`.
 *
 * Changed for scale (fields and their types unchanged):
 * - `AllocationContext.agents` lists only the agents with allocatable free
 *   resources (the master no longer lists agents that have nothing to offer).
 * - `FrameworkStanding.filterIndex?`: the filters by agent, which `isFilteredFor`
 *   and `filtersOnAgent` use (the master keeps the index; `isFiltered` scans a list);
 *   `DeclineFilterIndex.isFiltered?` answers a check without building a list.
 */
/**
 * The allocation policy interface: a pure function from the cluster's standing
 * (free resources per agent, frameworks' allocations, filters, suppressed
 * roles, role weights) to a list of allocations, each of which the master
 * turns into one offer.
 *
 * The context holds only plain data and {@link Resources} values (which
 * serialize with `toJSON()` and come back with `Resources.fromJSON`), so the
 * same policy can run inside the master, behind an `agora policy` actor over
 * NATS, or in an offline simulator on a virtual clock. Time comes in as
 * `now`; a policy never reads the clock itself.
 */

import type { Attributes } from "../protocol/common.ts";
import type { Resources } from "../protocol/resources.ts";
import type { MinAllocatable } from "./allocatable.ts";

/** One agent as the policy sees it. */
export interface AgentSlot {
  readonly agentId: string;
  readonly hostname: string;
  /** The agent's total resources. */
  readonly total: Resources;
  /** What is neither offered nor used: the resources the policy may allocate. */
  readonly free: Resources;
  readonly attributes?: Attributes;
}

/**
 * A decline filter (Mesos's `RefusedOfferFilter`): until `expiresAt`, the
 * framework is not offered resources of `agentId` that `resources` contains.
 * A larger offer (e.g. after a task ended there) passes the filter.
 */
export interface DeclineFilter {
  readonly agentId: string;
  /** The role of the declined offer; absent: every role (Mesos keeps filters per role). */
  readonly role?: string;
  readonly resources: Resources;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** One framework's standing. */
export interface FrameworkStanding {
  readonly frameworkId: string;
  /** The roles the framework subscribed with. */
  readonly roles: readonly string[];
  /** False when disconnected: it keeps its allocation but gets no offers. */
  readonly active: boolean;
  /** Current allocation (used plus offered) per role. Absent roles hold nothing. */
  readonly allocation: Readonly<Record<string, Resources>>;
  /** Roles for which the framework wants no offers (`scheduler.suppress`). */
  readonly suppressedRoles: readonly string[];
  /** Active decline filters. */
  readonly filters: readonly DeclineFilter[];
  /**
   * The same filters by agent, when the master keeps such an index (it does):
   * {@link isFilteredFor} looks filters up in it instead of scanning the list.
   */
  readonly filterIndex?: DeclineFilterIndex;
  /** Allocations made to the framework so far (tie-breaker between equal shares). */
  readonly allocations?: number;
  /** Priority of the framework within its roles (the `priority` policy); default 0, higher first. */
  readonly priority?: number;
}

/**
 * A role's quota (Mesos quota): unreserved scalar resources. `guarantee` is
 * kept allocatable to the role (held back from other roles as headroom while
 * the role is below it); `limit` caps what the role (with its sub-roles) holds.
 */
export interface RoleQuotaStanding {
  readonly guarantee?: Resources;
  readonly limit?: Resources;
  /**
   * Kueue's `borrowingLimit`: the most of its siblings' lent guarantee the
   * role may use beyond its own guarantee (absent: no cap). See `lendingLimit`.
   */
  readonly borrowingLimit?: Resources;
  /**
   * Kueue's `lendingLimit`: how much of its unused guarantee the role lends to
   * its siblings (roles of the same parent); absent: nothing is lent (Mesos:
   * headroom is held for the guarantee). Borrowed resources are the first
   * preempted when the lender's demand returns.
   */
  readonly lendingLimit?: Resources;
}

/** A role's standing. */
export interface RoleStanding {
  /** Relative weight of the role (Mesos `--weights`); default 1. */
  readonly weight: number;
  /** Priority of the role (the `priority` policy); default 0, higher first. */
  readonly priority?: number;
  /** The role's quota; absent when it has none. */
  readonly quota?: RoleQuotaStanding;
}

/** Everything a policy may look at. */
export interface AllocationContext {
  /** Milliseconds since the epoch (possibly virtual). */
  readonly now: number;
  /** The total resources of the agents in the pool. */
  readonly total: Resources;
  /**
   * Agents whose resources may be allocated, in the order the master wants
   * them visited: those with allocatable free resources ({@link
   * AllocationContext.minAllocatable}, by default at least `cpus:0.01` or
   * `mem:32`, Mesos's `min_allocatable_resources`). Agents with
   * nothing to offer are left out, so that a cycle costs what there is to
   * allocate, not the size of the cluster; `total` still covers every agent.
   */
  readonly agents: readonly AgentSlot[];
  readonly frameworks: readonly FrameworkStanding[];
  /**
   * Every role with a setting (weight, priority, quota), whether or not a
   * framework is subscribed to it; a role not listed has weight 1, priority 0
   * and no quota.
   */
  readonly roles: Readonly<Record<string, RoleStanding>>;
  /** The master's allocation interval in ms (informational). */
  readonly allocationInterval?: number;
  /**
   * What free resources must hold to be offered (the master's
   * `--min-allocatable-resources`); absent: Mesos's default `cpus:0.01|mem:32`.
   * Test with `allocatableBy(context.minAllocatable)` (allocatable.ts).
   */
  readonly minAllocatable?: MinAllocatable;
}

/** One allocation: the master makes it one offer. */
export interface Allocation {
  readonly frameworkId: string;
  readonly role: string;
  readonly agentId: string;
  readonly resources: Resources;
}

/** The outcome of one allocation cycle. */
export interface AllocationDecision {
  readonly allocations: readonly Allocation[];
}

/** An allocation policy: a pure function of the context, no I/O, no clock. */
export interface AllocationPolicy {
  /** The registry name, e.g. `drf`. */
  readonly name: string;
  allocate(context: AllocationContext): AllocationDecision;
}

/** Filters of one framework by agent: how {@link isFiltered} looks them up. */
export interface DeclineFilterIndex {
  /** The filters on `agentId` (possibly expired), or undefined when there are none. */
  get(agentId: string): readonly DeclineFilter[] | undefined;
  /**
   * Optional: whether one of the filters on `agentId` keeps `resources` from
   * being offered at `now` (to `role`, when given), as {@link isFiltered} of
   * `get(agentId)` says, without building the list (the master's index has it).
   */
  isFiltered?(agentId: string, resources: Resources, now: number, role?: string): boolean;
}

/** Up to this many filters are scanned; longer lists are looked up through an index. */
const FILTER_SCAN_MAX = 16;

/** An index by agent of `filters`, built anew (callers keep it for the cycle). */
export function filterIndexOf(filters: readonly DeclineFilter[]): DeclineFilterIndex {
  const byAgent = new Map<string, DeclineFilter[]>();
  for (const filter of filters) {
    const list = byAgent.get(filter.agentId);
    if (list === undefined) byAgent.set(filter.agentId, [filter]);
    else list.push(filter);
  }
  return byAgent;
}

/** The filters of a framework on `agentId`: through its index when the context has one. */
export function filtersOnAgent(
  framework: Pick<FrameworkStanding, "filters" | "filterIndex">,
  agentId: string,
): readonly DeclineFilter[] | undefined {
  if (framework.filterIndex !== undefined) return framework.filterIndex.get(agentId);
  const on = framework.filters.filter((f) => f.agentId === agentId);
  return on.length > 0 ? on : undefined;
}

function scan(
  filters: readonly DeclineFilter[],
  agentId: string,
  resources: Resources,
  now: number,
  role: string | undefined,
): boolean {
  for (const filter of filters) {
    if (
      filter.agentId === agentId &&
      (role === undefined || filter.role === undefined || filter.role === role) &&
      filter.expiresAt > now &&
      filter.resources.contains(resources)
    ) {
      return true;
    }
  }
  return false;
}

/**
 * Whether one of `filters` keeps `resources` of `agentId` from being offered
 * at `now` (to `role`, when given: a filter with a role applies to that role only).
 */
export function isFiltered(
  filters: readonly DeclineFilter[],
  agentId: string,
  resources: Resources,
  now: number,
  role?: string,
): boolean {
  return filters.length > 0 && scan(filters, agentId, resources, now, role);
}

/**
 * {@link isFiltered} for a framework of the context: through its
 * `filterIndex` when the context has one, else by scanning its list.
 */
export function isFilteredFor(
  framework: Pick<FrameworkStanding, "filters" | "filterIndex">,
  agentId: string,
  resources: Resources,
  now: number,
  role?: string,
): boolean {
  const { filters, filterIndex } = framework;
  if (filters.length === 0) return false;
  if (filterIndex === undefined || filters.length <= FILTER_SCAN_MAX) {
    return scan(filters, agentId, resources, now, role);
  }
  return isFilteredIn(filterIndex, agentId, resources, now, role);
}

/** {@link isFiltered} with the filters' index at hand ({@link filterIndexOf}). */
export function isFilteredIn(
  index: DeclineFilterIndex,
  agentId: string,
  resources: Resources,
  now: number,
  role?: string,
): boolean {
  if (index.isFiltered !== undefined) return index.isFiltered(agentId, resources, now, role);
  const onAgent = index.get(agentId);
  return onAgent !== undefined && scan(onAgent, agentId, resources, now, role);
}

/** The weight of `role` in `context` (1 when not listed or not positive). */
export function roleWeight(context: AllocationContext, role: string): number {
  const weight = context.roles[role]?.weight;
  return weight !== undefined && weight > 0 ? weight : 1;
}

/** The priority of `role` in `context` (0 when not listed). */
export function rolePriority(context: AllocationContext, role: string): number {
  const priority = context.roles[role]?.priority;
  return priority !== undefined && Number.isFinite(priority) ? priority : 0;
}

/** The quota of `role` in `context`, or undefined. */
export function roleQuota(context: AllocationContext, role: string): RoleQuotaStanding | undefined {
  return context.roles[role]?.quota;
}

/** Whether `role` is `ancestor` or one of its sub-roles (`a/b` is a sub-role of `a`). */
export function isSubrole(role: string, ancestor: string): boolean {
  return role === ancestor || role.startsWith(`${ancestor}/`);
}

/**
 * What of `resources` may be offered to `role`: the unreserved resources plus
 * those reserved to `role` or to one of its ancestors (Mesos's hierarchical
 * reservations: `cpus(eng):2` may be offered to `eng` and to `eng/web`).
 */
export function offerableTo(resources: Resources, role: string): Resources {
  if (!resources.hasReservations()) return resources;
  let out = resources.unreserved();
  for (const reservation of resources.roles()) {
    if (reservation !== "*" && isSubrole(role, reservation)) {
      out = out.add(resources.reserved(reservation));
    }
  }
  return out;
}

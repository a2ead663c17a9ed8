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
  /** Allocations made to the framework so far (tie-breaker between equal shares). */
  readonly allocations?: number;
}

/** A role's standing. */
export interface RoleStanding {
  /** Relative weight of the role (Mesos `--weights`); default 1. */
  readonly weight: number;
}

/** Everything a policy may look at. */
export interface AllocationContext {
  /** Milliseconds since the epoch (possibly virtual). */
  readonly now: number;
  /** The total resources of the agents in the pool. */
  readonly total: Resources;
  /** Agents whose resources may be allocated, in the order the master wants them visited. */
  readonly agents: readonly AgentSlot[];
  readonly frameworks: readonly FrameworkStanding[];
  /** Role weights; a role not listed has weight 1. */
  readonly roles: Readonly<Record<string, RoleStanding>>;
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

/** Whether one of `filters` keeps `resources` of `agentId` from being offered at `now`. */
export function isFiltered(
  filters: readonly DeclineFilter[],
  agentId: string,
  resources: Resources,
  now: number,
): boolean {
  for (const filter of filters) {
    if (
      filter.agentId === agentId &&
      filter.expiresAt > now &&
      filter.resources.contains(resources)
    ) {
      return true;
    }
  }
  return false;
}

/** The weight of `role` in `context` (1 when not listed or not positive). */
export function roleWeight(context: AllocationContext, role: string): number {
  const weight = context.roles[role]?.weight;
  return weight !== undefined && weight > 0 ? weight : 1;
}

/**
 * The allocation cycle shared by the built-in policies, as Mesos's
 * `HierarchicalAllocatorProcess::__allocate` (1.9+). A policy only decides
 * the order of roles and of the frameworks within a role ({@link Ordering});
 * the cycle does the rest:
 *
 * - Quota. A role's consumed quota is its reservations (allocated or not)
 *   plus its unreserved allocation, both including its sub-roles. The
 *   required headroom is the sum of the unsatisfied guarantees (guarantee −
 *   consumed) of the roles with a guarantee; the available headroom is the
 *   unallocated unreserved scalars of the cluster.
 * - Stage 1, every agent, roles below their guarantee only: a framework of
 *   the role gets the unreserved scalars that help its guarantee (chopped to
 *   what is unsatisfied), plus the role's reservations and the non-scalar
 *   resources, plus other unreserved scalars up to the role's limit and the
 *   surplus headroom (available − required).
 * - Stage 2, every agent, every role: a framework gets the reservations of
 *   its role (and its ancestors: `cpus(eng)` is offered to `eng/web` too) and
 *   the non-scalar resources whole, plus the unreserved scalars chopped to
 *   the limits of its role and of its ancestors and to the surplus headroom.
 * - An offer must be allocatable (`cpus:0.01` or `mem:32`, Mesos's
 *   `min_allocatable_resources`) and must pass the framework's decline
 *   filters for the (agent, role); otherwise the next framework is tried.
 *   Shares and counts are updated after every allocation, so each agent goes
 *   to whoever is poorest at that moment.
 * - Offers are coarse-grained: what one framework gets of one agent for one
 *   role in a cycle is merged into one allocation (one offer).
 *
 * Unlike Mesos, agents are visited in the order the context lists them (no
 * random shuffle in stage 2), so that a cycle is deterministic.
 */

import { isAllocatable } from "../../../../policies/allocatable.ts";
import { dominantShare } from "../../../../policies/shares.ts";
import type {
  Allocation,
  AllocationContext,
  AllocationDecision,
  FrameworkStanding,
} from "../../../../policies/types.ts";
import { Resources } from "../../../../protocol/resources.ts";
import { isFiltered, offerableTo, roleQuota, roleWeight } from "./helpers.ts";
import { nonQuotaPart, shrinkTo, shrinkToLimit, unreservedScalars } from "./quantities.ts";
import { selfAndAncestors } from "./role-tree.ts";

/** A framework's standing while a cycle runs. */
export interface Candidate {
  readonly standing: FrameworkStanding;
  readonly suppressed: ReadonlySet<string>;
  /** Allocation per role, kept up to date as the cycle allocates. */
  readonly allocation: Map<string, Resources>;
  /** Allocations made to it (the tie-breaker), counting this cycle's. */
  allocations: number;
}

/** What an ordering may read: the context and the allocation so far. */
export interface CycleView {
  readonly context: AllocationContext;
  /** Dominant share of `r` in the cluster total. */
  share(r: Resources | undefined): number;
  /** What the frameworks of exactly `role` hold. */
  roleAllocation(role: string): Resources;
  /** What `role` and its sub-roles hold (`""` is the whole cluster). */
  subtreeAllocation(role: string): Resources;
  /** Allocations made to exactly `role`. */
  roleCount(role: string): number;
  /** Allocations made to `role` and its sub-roles. */
  subtreeCount(role: string): number;
}

/** What a policy decides: who comes first. */
export interface Ordering {
  /** Orders the roles (those with frameworks that want offers). */
  sortRoles(view: CycleView, roles: readonly string[]): string[];
  /** Orders the frameworks of a role (active and not suppressed for it). */
  sortFrameworks(view: CycleView, role: string, candidates: readonly Candidate[]): Candidate[];
}

function addTo(map: Map<string, Resources>, key: string, r: Resources): void {
  if (r.isEmpty()) return;
  map.set(key, (map.get(key) ?? Resources.empty()).add(r));
}

function inc(map: Map<string, number>, key: string, by: number): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** The mutable state of one cycle. */
class Cycle implements CycleView {
  readonly context: AllocationContext;
  readonly byRole = new Map<string, Candidate[]>();
  /** Allocation per exact role and per subtree (every ancestor path, and `""`). */
  readonly #own = new Map<string, Resources>();
  readonly #subtree = new Map<string, Resources>();
  readonly #ownCount = new Map<string, number>();
  readonly #subtreeCount = new Map<string, number>();
  /** Consumed quota per role (subtree): reservations + unreserved allocation, as quantities. */
  readonly consumed = new Map<string, Resources>();
  requiredHeadroom = Resources.empty();
  availableHeadroom = Resources.empty();
  /** Free resources per agent, as the cycle allocates. */
  readonly free = new Map<string, Resources>();
  readonly #out = new Map<string, { allocation: Allocation; index: number }>();

  constructor(context: AllocationContext) {
    this.context = context;
    for (const standing of context.frameworks) {
      const candidate: Candidate = {
        standing,
        suppressed: new Set(standing.suppressedRoles),
        allocation: new Map(Object.entries(standing.allocation)),
        allocations: standing.allocations ?? 0,
      };
      for (const [role, r] of candidate.allocation) this.#track(role, r);
      for (const role of new Set(standing.roles)) {
        const list = this.byRole.get(role);
        if (list === undefined) this.byRole.set(role, [candidate]);
        else list.push(candidate);
        this.#count(role, candidate.allocations);
      }
    }
    for (const agent of context.agents) this.free.set(agent.agentId, agent.free);
    this.#initQuota();
  }

  #track(role: string, r: Resources): void {
    addTo(this.#own, role, r);
    addTo(this.#subtree, "", r);
    for (const path of selfAndAncestors(role)) addTo(this.#subtree, path, r);
  }

  #count(role: string, by: number): void {
    inc(this.#ownCount, role, by);
    inc(this.#subtreeCount, "", by);
    for (const path of selfAndAncestors(role)) inc(this.#subtreeCount, path, by);
  }

  #initQuota(): void {
    const { total } = this.context;
    const quotaRoles = Object.keys(this.context.roles).filter(
      (role) => roleQuota(this.context, role) !== undefined,
    );
    let allocatedUnreserved = Resources.empty();
    for (const [role, r] of this.#own) {
      const unreserved = unreservedScalars(r);
      allocatedUnreserved = allocatedUnreserved.add(unreserved);
      for (const path of selfAndAncestors(role)) addTo(this.consumed, path, unreserved);
    }
    for (const reservation of total.roles()) {
      if (reservation === "*") continue;
      const quantities = unreservedScalars(total.reserved(reservation).flatten());
      for (const path of selfAndAncestors(reservation)) addTo(this.consumed, path, quantities);
    }
    // Guarantees of nested roles are part of their ancestors' guarantees: only the
    // top-most roles with a guarantee count towards the required headroom.
    for (const role of quotaRoles) {
      const guarantee = roleQuota(this.context, role)?.guarantee;
      if (guarantee === undefined || guarantee.isEmpty()) continue;
      const covered = selfAndAncestors(role)
        .slice(1)
        .some((a) => !(roleQuota(this.context, a)?.guarantee?.isEmpty() ?? true));
      if (covered) continue;
      this.requiredHeadroom = this.requiredHeadroom.add(
        guarantee.subtractSaturating(this.consumedBy(role)),
      );
    }
    this.availableHeadroom = unreservedScalars(total).subtractSaturating(allocatedUnreserved);
  }

  share(r: Resources | undefined): number {
    return r === undefined ? 0 : dominantShare(r, this.context.total);
  }

  roleAllocation(role: string): Resources {
    return this.#own.get(role) ?? Resources.empty();
  }

  subtreeAllocation(role: string): Resources {
    return this.#subtree.get(role) ?? Resources.empty();
  }

  roleCount(role: string): number {
    return this.#ownCount.get(role) ?? 0;
  }

  subtreeCount(role: string): number {
    return this.#subtreeCount.get(role) ?? 0;
  }

  consumedBy(role: string): Resources {
    return this.consumed.get(role) ?? Resources.empty();
  }

  /** The frameworks of `role` that want offers for it. */
  eligible(role: string): Candidate[] {
    return (this.byRole.get(role) ?? []).filter(
      (c) => c.standing.active && !c.suppressed.has(role),
    );
  }

  /** `quantities` chopped to the limits of `role` and of its ancestors. */
  chopToLimits(role: string, quantities: Resources, pending = Resources.empty()): Resources {
    let out = quantities;
    for (const path of selfAndAncestors(role)) {
      const limit = roleQuota(this.context, path)?.limit;
      if (limit === undefined || out.isEmpty()) continue;
      out = shrinkToLimit(out, limit, this.consumedBy(path).add(pending));
    }
    return out;
  }

  /** `quantities` chopped so that the required headroom stays available. */
  chopToHeadroom(quantities: Resources): Resources {
    if (this.requiredHeadroom.isEmpty() || quantities.isEmpty()) return quantities;
    return shrinkTo(quantities, this.availableHeadroom.subtractSaturating(this.requiredHeadroom));
  }

  /** Records an allocation and updates shares, counts, consumption and headroom. */
  record(candidate: Candidate, role: string, agentId: string, resources: Resources): void {
    const quantities = unreservedScalars(resources);
    candidate.allocation.set(
      role,
      (candidate.allocation.get(role) ?? Resources.empty()).add(resources),
    );
    candidate.allocations += 1;
    this.#track(role, resources);
    this.#count(role, 1);
    for (const path of selfAndAncestors(role)) addTo(this.consumed, path, quantities);
    this.availableHeadroom = this.availableHeadroom.subtractSaturating(quantities);
    this.free.set(
      agentId,
      (this.free.get(agentId) ?? Resources.empty()).subtractSaturating(resources),
    );
    const key = `${candidate.standing.frameworkId}\u0000${role}\u0000${agentId}`;
    const previous = this.#out.get(key);
    if (previous === undefined) {
      this.#out.set(key, {
        allocation: { frameworkId: candidate.standing.frameworkId, role, agentId, resources },
        index: this.#out.size,
      });
    } else {
      previous.allocation = {
        ...previous.allocation,
        resources: previous.allocation.resources.add(resources),
      };
    }
  }

  allocations(): Allocation[] {
    return Array.from(this.#out.values())
      .sort((a, b) => a.index - b.index)
      .map((x) => x.allocation);
  }
}

/** Whether an offer is worth making (Mesos's `min_allocatable_resources`). */
function allocatable(r: Resources): boolean {
  return !r.isEmpty() && isAllocatable(r);
}

/** The roles with frameworks that want offers, in the ordering's order. */
function rolesInOrder(cycle: Cycle, ordering: Ordering): string[] {
  const roles: string[] = [];
  for (const role of cycle.byRole.keys()) if (cycle.eligible(role).length > 0) roles.push(role);
  return ordering.sortRoles(cycle, roles);
}

/** Stage 1: roles below their quota guarantee get what helps it. */
function stageOne(cycle: Cycle, ordering: Ordering): void {
  const { context } = cycle;
  for (const agent of context.agents) {
    for (const role of rolesInOrder(cycle, ordering)) {
      const guarantee = roleQuota(context, role)?.guarantee;
      if (guarantee === undefined || guarantee.isEmpty()) continue;
      if (!allocatable(cycle.free.get(agent.agentId) ?? Resources.empty())) break;
      let unsatisfied = guarantee.subtractSaturating(cycle.consumedBy(role));
      if (unsatisfied.isEmpty()) continue;
      for (const candidate of ordering.sortFrameworks(cycle, role, cycle.eligible(role))) {
        if (unsatisfied.isEmpty()) break;
        const available = offerableTo(cycle.free.get(agent.agentId) ?? Resources.empty(), role);
        if (available.isEmpty()) break;
        if (!allocatable(available)) continue;
        const quotaResources = unreservedScalars(available);
        const guaranteed = shrinkTo(quotaResources, unsatisfied);
        if (guaranteed.isEmpty()) continue;
        let additional = quotaResources.subtractSaturating(guaranteed);
        additional = cycle.chopToLimits(role, additional, guaranteed);
        additional = cycle.chopToHeadroom(additional);
        const toOffer = nonQuotaPart(available).add(guaranteed).add(additional);
        const { standing } = candidate;
        if (!allocatable(toOffer)) continue;
        if (isFiltered(standing.filters, agent.agentId, toOffer, context.now, role)) continue;
        cycle.record(candidate, role, agent.agentId, toOffer);
        unsatisfied = unsatisfied.subtractSaturating(guaranteed.add(additional));
        cycle.requiredHeadroom = cycle.requiredHeadroom.subtractSaturating(guaranteed);
      }
    }
  }
}

/** Stage 2: every role, within its limits and the headroom. */
function stageTwo(cycle: Cycle, ordering: Ordering): void {
  const { context } = cycle;
  for (const agent of context.agents) {
    for (const role of rolesInOrder(cycle, ordering)) {
      if (!allocatable(cycle.free.get(agent.agentId) ?? Resources.empty())) break;
      for (const candidate of ordering.sortFrameworks(cycle, role, cycle.eligible(role))) {
        const available = offerableTo(cycle.free.get(agent.agentId) ?? Resources.empty(), role);
        if (available.isEmpty()) break;
        if (!allocatable(available)) continue;
        let additional = unreservedScalars(available);
        additional = cycle.chopToLimits(role, additional);
        additional = cycle.chopToHeadroom(additional);
        const toOffer = nonQuotaPart(available).add(additional);
        const { standing } = candidate;
        if (!allocatable(toOffer)) continue;
        if (isFiltered(standing.filters, agent.agentId, toOffer, context.now, role)) continue;
        cycle.record(candidate, role, agent.agentId, toOffer);
      }
    }
  }
}

/**
 * Runs one allocation cycle with `ordering`. Pure: the context is not
 * modified; the decision lists one allocation per (framework, role, agent).
 */
export function allocateWith(context: AllocationContext, ordering: Ordering): AllocationDecision {
  const cycle = new Cycle(context);
  stageOne(cycle, ordering);
  stageTwo(cycle, ordering);
  return { allocations: cycle.allocations() };
}

/** Weighted dominant share of a role's subtree, for orderings. */
export function weightedShare(view: CycleView, role: string): number {
  return view.share(view.subtreeAllocation(role)) / roleWeight(view.context, role);
}

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
 *
 * Cost. A cycle is linear in the agents it is given (the master gives only
 * those with allocatable free resources) with a small constant: shares are
 * kept as numbers (thousandths per resource name of the cluster total) and
 * updated as allocations are made; sums of resource sets that an ordering
 * may ask for are folded only when asked; the roles are ordered again only
 * after an allocation changed the shares; with an ordering that has
 * {@link Ordering.compareFrameworks}, each role's frameworks stay sorted and
 * only the framework that received something moves; stage 1 runs only when
 * a role has a guarantee, and quota bookkeeping only when a role has quota;
 * an agent is skipped as soon as what is left of it is not allocatable.
 */

import { allocatableBy } from "./allocatable.ts";
import { Cycle } from "./cycle.ts";
import type { Ordering } from "./ordering.ts";
import { nonQuotaPart, shrinkTo, unreservedScalars } from "./quantities.ts";
import type { CandidateState } from "./tally.ts";
import {
  type AllocationContext,
  type AllocationDecision,
  offerableTo,
  roleQuota,
} from "./types.ts";

export type { Candidate, CycleView, Ordering } from "./ordering.ts";

/** Stage 1: roles below their quota guarantee get what helps it. */
function stageOne(cycle: Cycle): void {
  const { context } = cycle;
  // whether an offer is worth making (Mesos's `min_allocatable_resources`)
  const allocatable = allocatableBy(context.minAllocatable);
  for (let i = 0; i < cycle.free.length; i++) {
    if (!allocatable(cycle.free[i]!)) continue;
    const agentId = cycle.agentIds[i]!;
    cycle.beginAgent(true);
    for (const role of cycle.rolesInOrder()) {
      const guarantee = roleQuota(context, role)?.guarantee;
      if (guarantee === undefined || guarantee.isEmpty()) continue;
      if (!allocatable(cycle.free[i]!)) break;
      let unsatisfied = guarantee.subtractSaturating(cycle.consumedBy(role));
      if (unsatisfied.isEmpty()) continue;
      const order = cycle.frameworksInOrder(role);
      for (let k = 0; k < order.length; k++) {
        const candidate = order.at(k)!;
        if (unsatisfied.isEmpty()) break;
        const available = offerableTo(cycle.free[i]!, role);
        if (available.isEmpty()) break;
        if (!allocatable(available)) continue;
        const quotaResources = unreservedScalars(available);
        const guaranteed = shrinkTo(quotaResources, unsatisfied);
        if (guaranteed.isEmpty()) continue;
        let additional = quotaResources.subtractSaturating(guaranteed);
        additional = cycle.chopToLimits(role, additional, guaranteed);
        additional = cycle.chopToHeadroom(additional, role);
        const toOffer = nonQuotaPart(available).add(guaranteed).add(additional);
        if (!allocatable(toOffer)) continue;
        if ((candidate as CandidateState).filtered(agentId, toOffer, context.now, role)) continue;
        cycle.record(candidate, role, i, toOffer);
        unsatisfied = unsatisfied.subtractSaturating(guaranteed.add(additional));
        cycle.requiredHeadroom = cycle.requiredHeadroom.subtractSaturating(guaranteed);
      }
    }
  }
}

/** Stage 2: every role, within its limits and the headroom. */
function stageTwo(cycle: Cycle): void {
  const { now } = cycle.context;
  const allocatable = allocatableBy(cycle.context.minAllocatable);
  for (let i = 0; i < cycle.free.length; i++) {
    // `known`: the last free set found allocatable (a set is checked once, not per role and framework)
    let known = cycle.free[i]!;
    if (!allocatable(known)) continue;
    const agentId = cycle.agentIds[i]!;
    cycle.beginAgent(false);
    for (const role of cycle.rolesInOrder()) {
      const free = cycle.free[i]!;
      if (free !== known) {
        if (!allocatable(free)) break;
        known = free;
      }
      // Without a limit or headroom to respect, what is offered is what is available (the
      // general expression below then equals it: its scalars plus everything else).
      const unlimited = cycle.unlimited(role);
      const order = cycle.frameworksInOrder(role);
      for (let k = 0; k < order.length; k++) {
        const candidate = order.at(k)!;
        const available = offerableTo(cycle.free[i]!, role);
        if (available !== known) {
          if (available.isEmpty()) break;
          if (!allocatable(available)) continue;
        }
        let toOffer = available;
        if (!unlimited) {
          let additional = unreservedScalars(available);
          additional = cycle.chopToLimits(role, additional);
          additional = cycle.chopToHeadroom(additional, role);
          toOffer = nonQuotaPart(available).add(additional);
          if (!allocatable(toOffer)) continue;
        }
        if ((candidate as CandidateState).filtered(agentId, toOffer, now, role)) continue;
        cycle.record(candidate, role, i, toOffer);
      }
    }
  }
}

/**
 * Runs one allocation cycle with `ordering`. Pure: the context is not
 * modified; the decision lists one allocation per (framework, role, agent).
 */
export function allocateWith(context: AllocationContext, ordering: Ordering): AllocationDecision {
  if (context.agents.length === 0 || context.frameworks.length === 0) return { allocations: [] };
  const cycle = new Cycle(context, ordering);
  if (cycle.roles.length === 0) return { allocations: [] };
  if (cycle.hasGuarantee) stageOne(cycle);
  stageTwo(cycle);
  return { allocations: cycle.allocations() };
}

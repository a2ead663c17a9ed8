/**
 * Dominant Resource Fairness (Ghodsi, Zaharia, Hindman, Konwinski, Shenker,
 * Stoica: "Dominant Resource Fairness: Fair Allocation of Multiple Resource
 * Types", NSDI 2011), hierarchical as in Mesos's `HierarchicalDRFAllocator`:
 *
 * For each agent with allocatable free resources, visit the roles in order of
 * dominant share ÷ weight; for each role, offer everything of the agent that
 * the role may use (unreserved plus reserved to the role) to the framework of
 * the role with the lowest dominant share (ties: fewer allocations, then id)
 * that is active, not suppressed for the role and not filtered for those
 * resources. Offers are coarse-grained: one per (agent, role), the whole
 * allocatable remainder to one framework. Shares are updated as we go, so the
 * next agent goes to whoever is now the poorest.
 *
 * A remainder is allocatable when it holds at least 0.01 cpus or 32 MB of mem
 * (Mesos's `min_allocatable_resources`).
 */
import { Resources } from "../protocol/resources.ts";
import {
  type Allocation,
  type AllocationContext,
  type AllocationDecision,
  type AllocationPolicy,
  type FrameworkStanding,
  isFiltered,
  roleWeight,
} from "./types.ts";

/** A framework's standing while one decision is being built. */
interface Candidate {
  readonly standing: FrameworkStanding;
  readonly suppressed: ReadonlySet<string>;
  readonly allocation: Map<string, Resources>;
  /** Dominant share per role, kept in step with `allocation`. */
  readonly shares: Map<string, number>;
  allocations: number;
}

/** Dominant share of `allocated`, 0 when the total is empty. */
function share(allocated: Resources | undefined, total: Resources): number {
  return allocated === undefined ? 0 : Resources.dominantShare(allocated, total);
}

/** Builds one allocation decision with DRF. Pure: the context is not modified. */
export function allocateDrf(context: AllocationContext): AllocationDecision {
  const { total, now } = context;
  const roleAllocation = new Map<string, Resources>();
  const roleShares = new Map<string, number>();
  const byRole = new Map<string, Candidate[]>();

  for (const standing of context.frameworks) {
    const candidate: Candidate = {
      standing,
      suppressed: new Set(standing.suppressedRoles),
      allocation: new Map(Object.entries(standing.allocation)),
      shares: new Map(),
      allocations: standing.allocations ?? 0,
    };
    for (const [role, resources] of candidate.allocation) {
      candidate.shares.set(role, share(resources, total));
      roleAllocation.set(role, (roleAllocation.get(role) ?? Resources.empty()).add(resources));
    }
    for (const role of new Set(standing.roles)) {
      const list = byRole.get(role);
      if (list === undefined) byRole.set(role, [candidate]);
      else list.push(candidate);
    }
  }

  for (const [role, resources] of roleAllocation) roleShares.set(role, share(resources, total));

  const roleOrder = (): string[] => {
    const keyed = Array.from(byRole.keys(), (role) => ({
      role,
      key: (roleShares.get(role) ?? 0) / roleWeight(context, role),
    }));
    keyed.sort((a, b) => a.key - b.key || (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
    return keyed.map((k) => k.role);
  };

  const frameworkOrder = (role: string): Candidate[] => {
    const keyed = (byRole.get(role) ?? []).map((c) => ({
      c,
      key: c.shares.get(role) ?? 0,
    }));
    keyed.sort(
      (a, b) =>
        a.key - b.key ||
        a.c.allocations - b.c.allocations ||
        (a.c.standing.frameworkId < b.c.standing.frameworkId ? -1 : 1),
    );
    return keyed.map((k) => k.c);
  };

  const allocations: Allocation[] = [];
  for (const agent of context.agents) {
    let free = agent.free;
    if (!Resources.isAllocatable(free)) continue;
    for (const role of roleOrder()) {
      const offerable = free.allocatableTo(role);
      if (!Resources.isAllocatable(offerable)) continue;
      for (const candidate of frameworkOrder(role)) {
        const { standing } = candidate;
        if (!standing.active || candidate.suppressed.has(role)) continue;
        if (isFiltered(standing.filters, agent.agentId, offerable, now)) continue;
        allocations.push({
          frameworkId: standing.frameworkId,
          role,
          agentId: agent.agentId,
          resources: offerable,
        });
        free = free.subtractSaturating(offerable);
        const mine = (candidate.allocation.get(role) ?? Resources.empty()).add(offerable);
        candidate.allocation.set(role, mine);
        candidate.shares.set(role, share(mine, total));
        const ours = (roleAllocation.get(role) ?? Resources.empty()).add(offerable);
        roleAllocation.set(role, ours);
        roleShares.set(role, share(ours, total));
        candidate.allocations += 1;
        break;
      }
      if (!Resources.isAllocatable(free)) break;
    }
  }
  return { allocations };
}

/** The DRF policy. */
export const drfPolicy: AllocationPolicy = {
  name: "drf",
  allocate: allocateDrf,
};

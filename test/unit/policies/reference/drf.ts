/**
 * Dominant Resource Fairness (Ghodsi, Zaharia, Hindman, Konwinski, Shenker,
 * Stoica: "Dominant Resource Fairness: Fair Allocation of Multiple Resource
 * Types", NSDI 2011), hierarchical and weighted as in Mesos's
 * `HierarchicalDRFAllocator`:
 *
 * - Roles form a tree (`eng`, `eng/web`, `eng/batch`). At every level the
 *   children are ordered by the dominant share of their whole subtree ÷ their
 *   weight, ties to fewer allocations, then by name; a role with frameworks of
 *   its own and sub-roles competes with them as a virtual leaf of weight 1
 *   (Mesos's `DRFSorter`).
 * - Within a role, frameworks are ordered by their dominant share in the
 *   role, ties to fewer allocations, then by id.
 * - Quota, reservations, filters and coarse-grained offers per (agent, role)
 *   are the shared allocation cycle's ({@link allocateWith}).
 *
 * Shares are of the cluster total and are updated after every allocation, so
 * that the next agent goes to whoever is now the poorest (progressive filling).
 */

import type {
  AllocationContext,
  AllocationDecision,
  AllocationPolicy,
} from "../../../../policies/types.ts";
import { allocateWith, type Candidate, type CycleView, type Ordering } from "./engine.ts";
import { sortRoleTree } from "./role-tree.ts";

/** Frameworks of `role` by dominant share in the role, then fewer allocations, then id. */
export function sortFrameworksDrf(
  view: CycleView,
  role: string,
  candidates: readonly Candidate[],
): Candidate[] {
  const keyed = candidates.map((c) => ({ c, share: view.share(c.allocation.get(role)) }));
  keyed.sort(
    (a, b) =>
      a.share - b.share ||
      a.c.allocations - b.c.allocations ||
      (a.c.standing.frameworkId < b.c.standing.frameworkId
        ? -1
        : a.c.standing.frameworkId > b.c.standing.frameworkId
          ? 1
          : 0),
  );
  return keyed.map((k) => k.c);
}

/** Roles in hierarchical weighted-DRF order. */
export function sortRolesDrf(view: CycleView, roles: readonly string[]): string[] {
  const weights = view.context.roles;
  return sortRoleTree(roles, (path, own) => {
    if (own) return { share: view.share(view.roleAllocation(path)), count: view.roleCount(path) };
    const weight = weights[path]?.weight;
    return {
      share:
        view.share(view.subtreeAllocation(path)) /
        (weight !== undefined && weight > 0 ? weight : 1),
      count: view.subtreeCount(path),
    };
  });
}

/** The DRF ordering. */
export const drfOrdering: Ordering = {
  sortRoles: sortRolesDrf,
  sortFrameworks: sortFrameworksDrf,
};

/** Builds one allocation decision with hierarchical DRF. Pure: the context is not modified. */
export function allocateDrf(context: AllocationContext): AllocationDecision {
  return allocateWith(context, drfOrdering);
}

/** The DRF policy. */
export const drfPolicy: AllocationPolicy = {
  name: "drf",
  allocate: allocateDrf,
};

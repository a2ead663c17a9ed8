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

import { allocateWith, type Candidate, type CycleView, type Ordering } from "./engine.ts";
import { roleTreeOf } from "./role-tree.ts";
import type { AllocationContext, AllocationDecision, AllocationPolicy } from "./types.ts";

/** DRF order of two frameworks of `role`: dominant share in the role, then fewer allocations, then id. */
export function compareFrameworksDrf(
  view: CycleView,
  role: string,
  a: Candidate,
  b: Candidate,
): number {
  const ida = a.standing.frameworkId;
  const idb = b.standing.frameworkId;
  return (
    view.frameworkShare(a, role) - view.frameworkShare(b, role) ||
    a.allocations - b.allocations ||
    (ida < idb ? -1 : ida > idb ? 1 : 0)
  );
}

/** Frameworks of `role` by dominant share in the role, then fewer allocations, then id. */
function sortFrameworksDrf(
  view: CycleView,
  role: string,
  candidates: readonly Candidate[],
): Candidate[] {
  return candidates.slice().sort((a, b) => compareFrameworksDrf(view, role, a, b));
}

/** Roles in hierarchical weighted-DRF order. */
function sortRolesDrf(view: CycleView, roles: readonly string[]): string[] {
  const weights = view.context.roles;
  return roleTreeOf(roles).sort((path, own) => {
    if (own) return { share: view.roleShare(path), count: view.roleCount(path) };
    const weight = weights[path]?.weight;
    return {
      share: view.subtreeShare(path) / (weight !== undefined && weight > 0 ? weight : 1),
      count: view.subtreeCount(path),
    };
  });
}

/** The DRF ordering. */
export const drfOrdering: Ordering = {
  sortRoles: sortRolesDrf,
  sortFrameworks: sortFrameworksDrf,
  compareFrameworks: compareFrameworksDrf,
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

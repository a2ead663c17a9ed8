/**
 * Strict priority: a role of higher priority is always offered first, and a
 * framework of higher priority first within its role; lower ones get only
 * what higher ones leave (because they are filtered, suppressed, limited by
 * quota, or the agent still has something after them). Equal priorities fall
 * back to weighted DRF (dominant share ÷ weight, fewer allocations, name).
 *
 * A role's priority is `roles[role].priority`; a role without one takes its
 * nearest ancestor's (`eng/web` inherits from `eng`), else 0. Roles are
 * ordered flat, not as a tree: priority wins over the hierarchy. A
 * framework's priority is `FrameworkStanding.priority` (default 0). Higher
 * numbers come first. Quota guarantees and limits, reservations, filters and
 * coarse-grained offers are the shared allocation cycle's ({@link allocateWith}):
 * as with DRF, roles below their quota guarantee are served first (stage 1,
 * in priority order among them) and guarantee headroom is held back from
 * every other role, whatever its priority.
 */
import { compareFrameworksDrf } from "./drf.ts";
import { allocateWith, type Candidate, type CycleView, type Ordering } from "./engine.ts";
import { selfAndAncestors } from "./role-tree.ts";
import {
  type AllocationContext,
  type AllocationDecision,
  type AllocationPolicy,
  roleWeight,
} from "./types.ts";

/** The priority of `role`: its own, else its nearest ancestor's, else 0. */
export function effectivePriority(context: AllocationContext, role: string): number {
  for (const path of selfAndAncestors(role)) {
    const priority = context.roles[path]?.priority;
    if (priority !== undefined && Number.isFinite(priority)) return priority;
  }
  return 0;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Roles by priority (highest first), then weighted dominant share, allocations, name. */
function sortRolesByPriority(view: CycleView, roles: readonly string[]): string[] {
  const keyed = roles.map((role) => ({
    role,
    priority: effectivePriority(view.context, role),
    share: view.roleShare(role) / roleWeight(view.context, role),
    count: view.roleCount(role),
  }));
  keyed.sort(
    (a, b) =>
      b.priority - a.priority || a.share - b.share || a.count - b.count || byName(a.role, b.role),
  );
  return keyed.map((k) => k.role);
}

/** Priority order of two frameworks of `role`: higher priority first, then as DRF. */
function compareFrameworksByPriority(
  view: CycleView,
  role: string,
  a: Candidate,
  b: Candidate,
): number {
  return (
    (b.standing.priority ?? 0) - (a.standing.priority ?? 0) ||
    compareFrameworksDrf(view, role, a, b)
  );
}

/** Frameworks by priority (highest first), then as DRF. */
function sortFrameworksByPriority(
  view: CycleView,
  role: string,
  candidates: readonly Candidate[],
): Candidate[] {
  return candidates.slice().sort((a, b) => compareFrameworksByPriority(view, role, a, b));
}

/** The strict priority ordering. */
export const priorityOrdering: Ordering = {
  sortRoles: sortRolesByPriority,
  sortFrameworks: sortFrameworksByPriority,
  compareFrameworks: compareFrameworksByPriority,
};

/** Builds one allocation decision by strict priority. Pure: the context is not modified. */
export function allocatePriority(context: AllocationContext): AllocationDecision {
  return allocateWith(context, priorityOrdering);
}

/** The strict priority policy. */
export const priorityPolicy: AllocationPolicy = {
  name: "priority",
  allocate: allocatePriority,
};

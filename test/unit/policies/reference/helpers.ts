/**
 * The policy helpers as they were before the allocation cycle was made
 * incremental (a linear scan of the filters, `offerableTo` by roles), for
 * the reference engine in this folder.
 */
import type {
  AllocationContext,
  DeclineFilter,
  RoleQuotaStanding,
} from "../../../../policies/types.ts";
import type { Resources } from "../../../../protocol/resources.ts";

export function isFiltered(
  filters: readonly DeclineFilter[],
  agentId: string,
  resources: Resources,
  now: number,
  role?: string,
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

export function roleWeight(context: AllocationContext, role: string): number {
  const weight = context.roles[role]?.weight;
  return weight !== undefined && weight > 0 ? weight : 1;
}

export function roleQuota(context: AllocationContext, role: string): RoleQuotaStanding | undefined {
  return context.roles[role]?.quota;
}

function isSubrole(role: string, ancestor: string): boolean {
  return role === ancestor || role.startsWith(`${ancestor}/`);
}

export function offerableTo(resources: Resources, role: string): Resources {
  let out = resources.unreserved();
  for (const reservation of resources.roles()) {
    if (reservation !== "*" && isSubrole(role, reservation)) {
      out = out.add(resources.reserved(reservation));
    }
  }
  return out;
}

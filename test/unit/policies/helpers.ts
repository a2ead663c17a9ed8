/** Builders of allocation contexts for policy unit tests. */
import type {
  AgentSlot,
  AllocationContext,
  AllocationDecision,
  FrameworkStanding,
  RoleStanding,
} from "../../../policies/types.ts";
import { Resources } from "../../../protocol/resources.ts";

export const R = (s: string) => Resources.parse(s);

export function agent(agentId: string, total: string, free = total): AgentSlot {
  return { agentId, hostname: agentId, total: R(total), free: R(free) };
}

export function framework(
  frameworkId: string,
  options: Partial<Omit<FrameworkStanding, "allocation">> & {
    allocation?: Record<string, string>;
  } = {},
): FrameworkStanding {
  const allocation: Record<string, Resources> = {};
  for (const [role, r] of Object.entries(options.allocation ?? {})) allocation[role] = R(r);
  return {
    frameworkId,
    roles: options.roles ?? ["*"],
    active: options.active ?? true,
    allocation,
    suppressedRoles: options.suppressedRoles ?? [],
    filters: options.filters ?? [],
    allocations: options.allocations ?? 0,
    ...(options.priority === undefined ? {} : { priority: options.priority }),
  };
}

/** A role standing from text: `{weight: 2, guarantee: "cpus:2", limit: "cpus:4"}`. */
export function role(
  options: { weight?: number; priority?: number; guarantee?: string; limit?: string } = {},
): RoleStanding {
  const quota =
    options.guarantee === undefined && options.limit === undefined
      ? undefined
      : {
          ...(options.guarantee === undefined ? {} : { guarantee: R(options.guarantee) }),
          ...(options.limit === undefined ? {} : { limit: R(options.limit) }),
        };
  return {
    weight: options.weight ?? 1,
    ...(options.priority === undefined ? {} : { priority: options.priority }),
    ...(quota === undefined ? {} : { quota }),
  };
}

export function context(
  agents: AgentSlot[],
  frameworks: FrameworkStanding[],
  extra: Partial<AllocationContext> = {},
): AllocationContext {
  let total = Resources.empty();
  for (const a of agents) total = total.add(a.total);
  return { now: 1000, total, agents, frameworks, roles: {}, ...extra };
}

/** `agent->framework(role):resources`, one per allocation, in order. */
export function summary(decision: AllocationDecision): string[] {
  return decision.allocations.map(
    (a) => `${a.agentId}->${a.frameworkId}(${a.role}):${a.resources}`,
  );
}

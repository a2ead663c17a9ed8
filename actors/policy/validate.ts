/**
 * Checks of a remote policy's decision at the master's boundary.
 *
 * {@link checkDecision} judges the decision against the context it answers:
 * one bad allocation (unknown or inactive framework, a role the framework did
 * not subscribe with or suppressed, an unknown agent, resources that are
 * malformed, empty, not allocatable to the role, filtered, or beyond the
 * agent's free resources) rejects the whole decision.
 *
 * {@link stillValid} then keeps, in the context of the cycle that applies the
 * decision, only the allocations that can still be made.
 */

import {
  type AgentSlot,
  type Allocation,
  type AllocationContext,
  type FrameworkStanding,
  isFilteredFor,
  offerableTo,
} from "../../policies/types.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { PolicyAllocationJson } from "../../protocol/policy.ts";
import { Resources } from "../../protocol/resources.ts";

/** Most allocations accepted in one decision. */
const MAX_ALLOCATIONS = 100_000;

function reject(index: number, reason: string): AgoraError {
  return new AgoraError(
    ErrorCode.InvalidMessage,
    `decision rejected: allocation ${index} ${reason}`,
  );
}

/** Why `resources` cannot go to (framework, role) on the agent, given what is left there. */
function problemOf(
  framework: FrameworkStanding | undefined,
  agent: AgentSlot | undefined,
  role: string,
  resources: Resources,
  left: Resources,
  now: number,
): string | undefined {
  if (framework === undefined) return "names an unknown framework";
  if (!framework.active) return `names framework ${framework.frameworkId}, which is not active`;
  if (!framework.roles.includes(role)) {
    return `gives role ${role}, which framework ${framework.frameworkId} did not subscribe with`;
  }
  if (framework.suppressedRoles.includes(role)) {
    return `gives role ${role}, which framework ${framework.frameworkId} suppressed`;
  }
  if (agent === undefined) return "names an unknown agent";
  if (resources.isEmpty()) return "gives no resources";
  if (!offerableTo(resources, role).equals(resources)) {
    return `gives resources reserved to another role than ${role}`;
  }
  if (isFilteredFor(framework, agent.agentId, resources, now, role)) {
    return `gives ${resources} of agent ${agent.agentId}, which framework ${framework.frameworkId} declined`;
  }
  if (!left.contains(resources)) {
    return `gives ${resources} of agent ${agent.agentId}, which has only ${left} free`;
  }
  return undefined;
}

/**
 * Turns a decision from the wire into allocations, checking it against the
 * context it answers.
 * @throws AgoraError INVALID_MESSAGE (or INVALID_RESOURCES) naming the first bad allocation
 */
export function checkDecision(
  allocations: readonly PolicyAllocationJson[],
  context: AllocationContext,
): Allocation[] {
  if (allocations.length > MAX_ALLOCATIONS) {
    throw new AgoraError(
      ErrorCode.InvalidMessage,
      `decision rejected: ${allocations.length} allocations (at most ${MAX_ALLOCATIONS})`,
    );
  }
  const frameworks = new Map(context.frameworks.map((f) => [f.frameworkId, f]));
  const agents = new Map(context.agents.map((a) => [a.agentId, a]));
  const left = new Map(context.agents.map((a) => [a.agentId, a.free]));
  const seen = new Set<string>();
  const out: Allocation[] = [];
  allocations.forEach((wire, index) => {
    let resources: Resources;
    try {
      resources = Resources.fromJSON(wire.resources);
    } catch (err) {
      throw reject(index, `has malformed resources: ${AgoraError.from(err).message}`);
    }
    const key = `${wire.frameworkId}\u0000${wire.agentId}\u0000${wire.role}`;
    if (seen.has(key)) {
      throw reject(index, "repeats a (framework, agent, role) of the decision");
    }
    seen.add(key);
    const agent = agents.get(wire.agentId);
    const free = left.get(wire.agentId) ?? Resources.empty();
    const problem = problemOf(
      frameworks.get(wire.frameworkId),
      agent,
      wire.role,
      resources,
      free,
      context.now,
    );
    if (problem !== undefined) throw reject(index, problem);
    left.set(wire.agentId, free.subtract(resources));
    out.push({
      frameworkId: wire.frameworkId,
      role: wire.role,
      agentId: wire.agentId,
      resources,
    });
  });
  return out;
}

/**
 * The allocations that can still be made in `context` (resources still free,
 * framework still active with the role, agent still there, not declined
 * since), in order.
 */
export function stillValid(
  allocations: readonly Allocation[],
  context: AllocationContext,
): Allocation[] {
  const frameworks = new Map(context.frameworks.map((f) => [f.frameworkId, f]));
  const agents = new Map(context.agents.map((a) => [a.agentId, a]));
  const left = new Map(context.agents.map((a) => [a.agentId, a.free]));
  const out: Allocation[] = [];
  for (const allocation of allocations) {
    const free = left.get(allocation.agentId) ?? Resources.empty();
    const problem = problemOf(
      frameworks.get(allocation.frameworkId),
      agents.get(allocation.agentId),
      allocation.role,
      allocation.resources,
      free,
      context.now,
    );
    if (problem !== undefined) continue;
    left.set(allocation.agentId, free.subtract(allocation.resources));
    out.push(allocation);
  }
  return out;
}

/**
 * binpack: an example allocation policy to copy. It packs work together
 * instead of spreading it fairly like DRF:
 *
 * - agents are visited fullest first (least free share of their total), so
 *   that partly used agents fill up before empty ones are touched;
 * - each agent's remainder goes to the framework that already holds the most
 *   (largest dominant share), so a framework's tasks land on few agents.
 *
 * Like every policy it is a pure function of the context: no I/O, no clock
 * (time comes in as `context.now`). Serve it as an actor and point a master
 * at it:
 *
 *   agora policy serve --name binpack --module examples/policies/binpack.ts
 *   agora policy use binpack        # or: agora master --policy binpack
 *
 * Its test is test/integration/policy/binpack.test.ts.
 */

import { isAllocatable } from "../../policies/allocatable.ts";
import { dominantShare } from "../../policies/shares.ts";
import {
  type Allocation,
  type AllocationContext,
  type AllocationDecision,
  type AllocationPolicy,
  isFilteredFor,
  offerableTo,
} from "../../policies/types.ts";
import { Resources } from "../../protocol/resources.ts";

/** How much of an agent is in use: 1 − its free dominant share (0 for an idle agent). */
function fullness(total: Resources, free: Resources): number {
  return 1 - dominantShare(free, total);
}

/** Decides who gets what: fullest agents first, richest frameworks first. */
export function allocateBinpack(context: AllocationContext): AllocationDecision {
  // What each framework holds, kept up to date as we allocate.
  const held = new Map<string, Resources>();
  for (const framework of context.frameworks) {
    let sum = Resources.empty();
    for (const resources of Object.values(framework.allocation)) sum = sum.add(resources);
    held.set(framework.frameworkId, sum);
  }
  const richestFirst = () =>
    [...context.frameworks].sort((a, b) => {
      const share = (id: string) => dominantShare(held.get(id)!, context.total);
      return (
        share(b.frameworkId) - share(a.frameworkId) ||
        (a.frameworkId < b.frameworkId ? -1 : a.frameworkId > b.frameworkId ? 1 : 0)
      );
    });
  const agents = [...context.agents].sort(
    (a, b) =>
      fullness(b.total, b.free) - fullness(a.total, a.free) ||
      (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0),
  );

  const allocations: Allocation[] = [];
  for (const agent of agents) {
    let free = agent.free;
    for (const framework of richestFirst()) {
      if (!framework.active) continue;
      for (const role of framework.roles) {
        if (framework.suppressedRoles.includes(role)) continue;
        // Everything of the agent this role may use: unreserved plus reserved to it.
        const offerable = offerableTo(free, role);
        if (!isAllocatable(offerable)) continue;
        if (isFilteredFor(framework, agent.agentId, offerable, context.now, role)) continue;
        allocations.push({
          frameworkId: framework.frameworkId,
          role,
          agentId: agent.agentId,
          resources: offerable,
        });
        free = free.subtractSaturating(offerable);
        held.set(framework.frameworkId, held.get(framework.frameworkId)!.add(offerable));
      }
      if (!isAllocatable(free)) break;
    }
  }
  return { allocations };
}

/** The policy object `agora policy serve --module` loads (the default export). */
const binpack: AllocationPolicy = { name: "binpack", allocate: allocateBinpack };
export default binpack;

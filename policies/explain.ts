/**
 * "Why not?": for one framework and each of its roles, why an allocation
 * cycle run now on `context` would give it nothing (or only part of the
 * agents). It replays the checks of the cycle (stage 1 for a role below its
 * quota guarantee, else stage 2: {@link allocateWith} in `engine.ts`) for
 * this framework alone, on a fresh {@link Cycle} of the
 * same context and ordering, so the reasons are the allocator's own
 * arithmetic (limits, headroom, filters, min allocatable, order) — computed
 * only when someone asks, at no cost to the cycles themselves.
 *
 * Per agent of the context (those with allocatable free resources), the
 * first check that fails is counted: nothing offerable to the role
 * (reserved for another role), the offer below min allocatable, chopped away
 * by a quota limit of the role or an ancestor, held back as headroom for
 * other roles' guarantees, or a decline filter. The agents that pass every
 * check go to the frameworks and roles ahead in the order first (outranked,
 * with their shares); when none is ahead, the framework would receive them.
 */

import { Resources } from "../protocol/resources.ts";
import { allocatableBy, describeMinAllocatable } from "./allocatable.ts";
import { Cycle } from "./cycle.ts";
import { drfOrdering } from "./drf.ts";
import { listOf } from "./framework-order.ts";
import type { Ordering } from "./ordering.ts";
import { priorityOrdering } from "./priority.ts";
import { nonQuotaPart, shrinkTo, unreservedScalars } from "./quantities.ts";
import { CandidateState } from "./tally.ts";
import {
  type AllocationContext,
  type DeclineFilter,
  filtersOnAgent,
  offerableTo,
  roleQuota,
} from "./types.ts";

/** Why a framework's role receives nothing (or less); `message` is one English line. */
export type ReasonKind =
  | "inactive"
  | "suppressed"
  | "noAgents"
  | "reservedElsewhere"
  | "belowMinimum"
  | "quotaLimit"
  | "headroom"
  | "borrowing"
  | "filtered"
  | "outranked"
  | "wouldReceive"
  /** Added by the master: resources held for other frameworks' gangs are in no cycle's view. */
  | "heldForGang";

/** A framework or role ahead in the order, with its dominant share. */
export interface Ahead {
  readonly id: string;
  readonly share: number;
}

/** A decline filter that keeps an agent from the framework. */
export interface FilterReason {
  readonly agentId: string;
  readonly resources: string;
  readonly expiresAt: number;
}

export interface Reason {
  readonly kind: ReasonKind;
  readonly message: string;
  /** Agents the reason applies to. */
  readonly agents?: number;
  /** `filtered`: when the last of the filters expires (ms since the epoch). */
  readonly until?: number;
  /** `quotaLimit`: the role (the framework's or an ancestor) whose limit is reached. */
  readonly limitRole?: string;
  /** `filtered`: up to {@link MAX_LISTED} of the filters, soonest to expire first. */
  readonly filters?: FilterReason[];
  /** `outranked`: the frameworks of the role ahead, and the roles ahead. */
  readonly frameworks?: Ahead[];
  readonly roles?: Ahead[];
}

export interface RoleExplanation {
  readonly role: string;
  /** The framework's dominant share in the role. */
  readonly share: number;
  readonly reasons: Reason[];
}

/** At most this many filters and frameworks ahead are listed. */
const MAX_LISTED = 10;

const round = (share: number) => Math.round(share * 10_000) / 10_000;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * The explanation for `frameworkId` (each of its roles, or only `role`), or
 * undefined when the context has no such framework (or it has not that role).
 */
export function explainFramework(
  context: AllocationContext,
  ordering: Ordering,
  frameworkId: string,
  role?: string,
): RoleExplanation[] | undefined {
  const standing = context.frameworks.find((f) => f.frameworkId === frameworkId);
  if (standing === undefined) return undefined;
  const roles = role === undefined ? Array.from(new Set(standing.roles)) : [role];
  if (role !== undefined && !standing.roles.includes(role)) return undefined;
  const cycle = new Cycle(context, ordering);
  return roles.map((r) => explainRole(cycle, frameworkId, r));
}

function explainRole(cycle: Cycle, frameworkId: string, role: string): RoleExplanation {
  const { context } = cycle;
  const allocatable = allocatableBy(context.minAllocatable);
  const minAllocatable = describeMinAllocatable(context.minAllocatable);
  const standing = context.frameworks.find((f) => f.frameworkId === frameworkId)!;
  const alone = new CandidateState(standing);
  const share = round(cycle.share(standing.allocation[role]));
  const done = (reasons: Reason[]): RoleExplanation => ({ role, share, reasons });
  if (!standing.active) {
    return done([
      {
        kind: "inactive",
        message: "the framework is not connected (or has not called since it subscribed)",
      },
    ]);
  }
  if (alone.suppressed.has(role)) {
    return done([{ kind: "suppressed", message: `offers for ${role} are suppressed (revive)` }]);
  }
  if (context.agents.length === 0) {
    return done([
      {
        kind: "noAgents",
        message: `no agent has allocatable free resources (${minAllocatable})`,
      },
    ]);
  }
  let reserved = 0;
  let below = 0;
  let headroom = 0;
  let open = 0;
  const limited = new Map<string, number>();
  const filters: DeclineFilter[] = [];
  let filteredAgents = 0;
  const unlimited = cycle.unlimited(role);
  const unsatisfied = unsatisfiedGuarantee(cycle, role);
  for (let i = 0; i < cycle.free.length; i++) {
    const agentId = cycle.agentIds[i]!;
    const available = offerableTo(cycle.free[i]!, role);
    if (available.isEmpty()) {
      reserved++;
      continue;
    }
    if (!allocatable(available)) {
      below++;
      continue;
    }
    let toOffer = available;
    const guaranteed = unsatisfied.isEmpty()
      ? unsatisfied
      : stageOneOffer(cycle, role, available, unsatisfied);
    if (guaranteed !== undefined && allocatable(guaranteed)) toOffer = guaranteed;
    else if (!unlimited) {
      const scalars = unreservedScalars(available);
      const limitedTo = cycle.chopToLimits(role, scalars);
      const headroomTo = cycle.chopToHeadroom(limitedTo, role);
      toOffer = nonQuotaPart(available).add(headroomTo);
      if (!allocatable(toOffer)) {
        if (!allocatable(nonQuotaPart(available).add(limitedTo))) {
          const by = limitingRole(cycle, role, scalars);
          limited.set(by, (limited.get(by) ?? 0) + 1);
        } else headroom++;
        continue;
      }
    }
    if (alone.filtered(agentId, toOffer, context.now, role)) {
      filteredAgents++;
      for (const f of filtersOnAgent(standing, agentId) ?? []) {
        if (f.expiresAt > context.now && (f.role === undefined || f.role === role)) filters.push(f);
      }
      continue;
    }
    open++;
  }
  const reasons: Reason[] = [];
  if (reserved > 0) {
    reasons.push({
      kind: "reservedElsewhere",
      agents: reserved,
      message: `${plural(reserved, "agent")} free only in resources reserved for other roles`,
    });
  }
  if (below > 0) {
    reasons.push({
      kind: "belowMinimum",
      agents: below,
      message: `${plural(below, "agent")} with less to offer to ${role} than min allocatable (${minAllocatable})`,
    });
  }
  for (const [by, agents] of limited) {
    const quota = roleQuota(context, by);
    reasons.push({
      kind: "quotaLimit",
      agents,
      limitRole: by,
      message: `${plural(agents, "agent")} held back by the quota limit of ${by} (limit ${quota?.limit?.toString() ?? ""}, consumed ${cycle.consumedBy(by).toString()})`,
    });
  }
  if (headroom > 0) {
    reasons.push({
      kind: "headroom",
      agents: headroom,
      message: `${plural(headroom, "agent")} held back as headroom for other roles' quota guarantees (required ${cycle.requiredHeadroom.toString()}, available ${cycle.availableHeadroom.toString()})`,
    });
  }
  if (filteredAgents > 0 && filters.length > 0) {
    filters.sort((a, b) => a.expiresAt - b.expiresAt || (a.agentId < b.agentId ? -1 : 1));
    const until = Math.max(...filters.map((f) => f.expiresAt));
    reasons.push({
      kind: "filtered",
      agents: filteredAgents,
      until,
      filters: filters.slice(0, MAX_LISTED).map((f) => ({
        agentId: f.agentId,
        resources: f.resources.toString(),
        expiresAt: f.expiresAt,
      })),
      message: `${plural(filteredAgents, "agent")} declined with a filter (the last expires at ${new Date(until).toISOString()})`,
    });
  }
  const lent = cycle.requiredHeadroom.isEmpty() ? Resources.empty() : cycle.lentTo(role);
  if (!lent.isEmpty()) {
    reasons.push({
      kind: "borrowing",
      message: `may borrow ${lent} of its cohort's unused guarantee (lendingLimit; borrowingLimit ${roleQuota(context, role)?.borrowingLimit?.toString() ?? "none"}); borrowed resources are the first preempted when a lender's demand returns`,
    });
  }
  if (open > 0) reasons.push(orderReason(cycle, frameworkId, role, open, !unsatisfied.isEmpty()));
  return done(reasons);
}

/** What `role` lacks of its quota guarantee (empty without one). */
function unsatisfiedGuarantee(cycle: Cycle, role: string): Resources {
  const guarantee = roleQuota(cycle.context, role)?.guarantee;
  if (guarantee === undefined || guarantee.isEmpty()) return Resources.empty();
  return guarantee.subtractSaturating(cycle.consumedBy(role));
}

/** What stage 1 would offer of `available` to a role below its guarantee (as engine.ts). */
function stageOneOffer(
  cycle: Cycle,
  role: string,
  available: Resources,
  unsatisfied: Resources,
): Resources | undefined {
  const quotaResources = unreservedScalars(available);
  const guaranteed = shrinkTo(quotaResources, unsatisfied);
  if (guaranteed.isEmpty()) return undefined;
  let additional = quotaResources.subtractSaturating(guaranteed);
  additional = cycle.chopToLimits(role, additional, guaranteed);
  additional = cycle.chopToHeadroom(additional, role);
  return nonQuotaPart(available).add(guaranteed).add(additional);
}

/** The role of `role`'s chain whose limit leaves nothing of `scalars`. */
function limitingRole(cycle: Cycle, role: string, scalars: Resources): string {
  const allocatable = allocatableBy(cycle.context.minAllocatable);
  for (const path of cycle.chain(role)) {
    if (roleQuota(cycle.context, path)?.limit === undefined) continue;
    if (!allocatable(cycle.chopToLimits(path, scalars))) return path;
  }
  return role;
}

/** Who comes before the framework for the `open` agents it could be offered. */
function orderReason(
  cycle: Cycle,
  frameworkId: string,
  role: string,
  open: number,
  belowGuarantee: boolean,
): Reason {
  // below its guarantee, a role competes first (stage 1) with the other roles below theirs only
  const roles = cycle
    .rolesInOrder()
    .filter((r) => r === role || !belowGuarantee || !unsatisfiedGuarantee(cycle, r).isEmpty());
  const rolesAhead = roles
    .slice(0, Math.max(0, roles.indexOf(role)))
    .map((r) => ({ id: r, share: round(cycle.subtreeShare(r)) }));
  const order = listOf(cycle.frameworksInOrder(role));
  const at = order.findIndex((c) => c.standing.frameworkId === frameworkId);
  const frameworksAhead = order
    .slice(0, Math.max(0, at))
    .map((c) => ({ id: c.standing.frameworkId, share: round(cycle.frameworkShare(c, role)) }));
  if (rolesAhead.length === 0 && frameworksAhead.length === 0) {
    return {
      kind: "wouldReceive",
      agents: open,
      message: `first in line for ${plural(open, "agent")}: the next cycle offers them`,
    };
  }
  const listed =
    Math.min(frameworksAhead.length, MAX_LISTED) + Math.min(rolesAhead.length, MAX_LISTED);
  const unlisted = frameworksAhead.length + rolesAhead.length - listed;
  const more = unlisted > 0 ? ` and ${unlisted} more` : "";
  const who = [
    ...frameworksAhead.slice(0, MAX_LISTED).map((a) => `${a.id} (share ${a.share})`),
    ...rolesAhead.slice(0, MAX_LISTED).map((a) => `role ${a.id} (share ${a.share})`),
  ].join(", ");
  return {
    kind: "outranked",
    agents: open,
    frameworks: frameworksAhead.slice(0, MAX_LISTED),
    roles: rolesAhead.slice(0, MAX_LISTED),
    message: `${plural(open, "agent")} pass every check, offered first to ${who}${more}; shares are updated after each offer`,
  };
}

/** The ordering an explanation replays for a policy name: `priority`'s, else DRF's. */
export function explainOrdering(policyName: string): Ordering {
  return policyName === "priority" ? priorityOrdering : drfOrdering;
}

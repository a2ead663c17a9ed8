/**
 * The state of one allocation cycle ({@link allocateWith} in `engine.ts`):
 * the frameworks by role, the free resources per agent, the running shares
 * and counts of frameworks, roles and subtrees, the quota bookkeeping, the
 * orders of roles and frameworks, and the decision being built.
 */

import { Resources } from "../protocol/resources.ts";
import { FrameworkOrder, type InOrder } from "./framework-order.ts";
import type { Candidate, CycleView, Ordering } from "./ordering.ts";
import { shrinkTo, shrinkToLimit, unreservedScalars } from "./quantities.ts";
import { parentOf, selfAndAncestors } from "./role-tree.ts";
import { dominantShare } from "./shares.ts";
import { CandidateState, Scale, Tally } from "./tally.ts";
import { type Allocation, type AllocationContext, isSubrole, roleQuota } from "./types.ts";

function addTo(map: Map<string, Resources>, key: string, r: Resources): void {
  if (r.isEmpty()) return;
  map.set(key, (map.get(key) ?? Resources.empty()).add(r));
}

/** The mutable state of one cycle. */
export class Cycle implements CycleView {
  readonly context: AllocationContext;
  readonly ordering: Ordering;
  readonly scale: Scale;
  /** Roles with frameworks that want offers, in the order frameworks list them. */
  readonly roles: string[] = [];
  /** Whether some role has quota (else no quota bookkeeping), a guarantee (else no stage 1). */
  readonly hasQuota: boolean;
  readonly hasGuarantee: boolean;
  readonly agentIds: readonly string[];
  /** Free resources per agent (by position in the context), as the cycle allocates. */
  readonly free: Resources[];
  /** Consumed quota per role (subtree): reservations + unreserved allocation, as quantities. */
  readonly consumed = new Map<string, Resources>();
  requiredHeadroom = Resources.empty();
  availableHeadroom = Resources.empty();
  /** Roles whose guarantee counts in the required headroom and that lend (`lendingLimit`). */
  readonly #lenders: string[] = [];
  readonly #byRole = new Map<string, CandidateState[]>();
  readonly #eligible = new Map<string, CandidateState[]>();
  /** Allocation per exact role and per subtree (every ancestor path, and `""`). */
  readonly #own = new Map<string, Tally>();
  readonly #subtree = new Map<string, Tally>();
  /** Per role: its own tally, then the subtree tallies of `""` and of each path of its chain. */
  readonly #tracks = new Map<string, readonly Tally[]>();
  /** The role last tracked and its tallies (stage 2 allocates to one role agent after agent). */
  #lastTrackRole: string | undefined;
  #lastTrack: readonly Tally[] = [];
  readonly #chains = new Map<string, readonly string[]>();
  readonly #unlimited = new Map<string, boolean>();
  /** The roles' order, undefined when an allocation made it stale. */
  #roleOrder: readonly string[] | undefined;
  /** Each role's frameworks in order (with `compareFrameworks`), and who moved since. */
  readonly #orders = new Map<string, FrameworkOrder>();
  readonly #out: Allocation[] = [];
  /** Where the current agent's allocations start in the output. */
  #agentStart = 0;
  /** Output position of stage 1's allocations, by (framework, role, agent). */
  readonly #stageOne = new Map<string, number>();
  #inStageOne = false;

  constructor(context: AllocationContext, ordering: Ordering) {
    this.context = context;
    this.ordering = ordering;
    this.scale = new Scale(context.total);
    for (const standing of context.frameworks) {
      const candidate = new CandidateState(standing);
      for (const [role, r] of Object.entries(standing.allocation)) {
        candidate.tallies.set(role, new Tally(this.scale, r));
        if (!r.isEmpty()) {
          const v = this.scale.vector(r);
          for (const tally of this.#track(role)) tally.add(r, v);
        }
      }
      for (const role of new Set(standing.roles)) {
        const list = this.#byRole.get(role);
        if (list === undefined) this.#byRole.set(role, [candidate]);
        else list.push(candidate);
        for (const tally of this.#track(role)) tally.count += candidate.allocations;
      }
    }
    for (const [role, list] of this.#byRole) {
      const eligible = list.filter((c) => c.standing.active && !c.suppressed.has(role));
      if (eligible.length === 0) continue;
      this.#eligible.set(role, eligible);
      this.roles.push(role);
      const order = new FrameworkOrder();
      this.#orders.set(role, order);
      for (const c of eligible) c.orders.push(order);
    }
    // one pass over the agents (tens of thousands of slots, each read once)
    const { agents } = context;
    const agentIds: string[] = [];
    const free: Resources[] = [];
    for (let i = 0; i < agents.length; i++) {
      const agent = agents[i]!;
      agentIds.push(agent.agentId);
      free.push(agent.free);
    }
    this.agentIds = agentIds;
    this.free = free;
    const quotas = Object.keys(context.roles).filter(
      (role) => roleQuota(context, role) !== undefined,
    );
    this.hasQuota = quotas.length > 0;
    this.hasGuarantee = this.roles.some((role) => {
      const guarantee = roleQuota(context, role)?.guarantee;
      return guarantee !== undefined && !guarantee.isEmpty();
    });
    if (this.hasQuota) this.#initQuota(quotas);
  }

  /** `role` and its ancestors, nearest first (cached). */
  chain(role: string): readonly string[] {
    let chain = this.#chains.get(role);
    if (chain === undefined) {
      chain = selfAndAncestors(role);
      this.#chains.set(role, chain);
    }
    return chain;
  }

  #tallyOf(map: Map<string, Tally>, key: string): Tally {
    let tally = map.get(key);
    if (tally === undefined) {
      tally = new Tally(this.scale, Resources.empty());
      map.set(key, tally);
    }
    return tally;
  }

  /** The tallies an allocation to `role` adds to: the role's own and its subtrees'. */
  #track(role: string): readonly Tally[] {
    if (role === this.#lastTrackRole) return this.#lastTrack;
    let track = this.#tracks.get(role);
    if (track === undefined) {
      track = [
        this.#tallyOf(this.#own, role),
        this.#tallyOf(this.#subtree, ""),
        ...this.chain(role).map((path) => this.#tallyOf(this.#subtree, path)),
      ];
      this.#tracks.set(role, track);
    }
    this.#lastTrackRole = role;
    this.#lastTrack = track;
    return track;
  }

  #initQuota(quotaRoles: readonly string[]): void {
    const { total } = this.context;
    let allocatedUnreserved = Resources.empty();
    for (const [role, tally] of this.#own) {
      const unreserved = unreservedScalars(tally.resources);
      allocatedUnreserved = allocatedUnreserved.add(unreserved);
      for (const path of this.chain(role)) addTo(this.consumed, path, unreserved);
    }
    for (const reservation of total.roles()) {
      if (reservation === "*") continue;
      const quantities = unreservedScalars(total.reserved(reservation).flatten());
      for (const path of this.chain(reservation)) addTo(this.consumed, path, quantities);
    }
    // Guarantees of nested roles are part of their ancestors' guarantees: only the
    // top-most roles with a guarantee count towards the required headroom.
    for (const role of quotaRoles) {
      const guarantee = roleQuota(this.context, role)?.guarantee;
      if (guarantee === undefined || guarantee.isEmpty()) continue;
      const covered = this.chain(role)
        .slice(1)
        .some((a) => !(roleQuota(this.context, a)?.guarantee?.isEmpty() ?? true));
      if (covered) continue;
      if (roleQuota(this.context, role)?.lendingLimit !== undefined) this.#lenders.push(role);
      this.requiredHeadroom = this.requiredHeadroom.add(
        guarantee.subtractSaturating(this.consumedBy(role)),
      );
    }
    this.availableHeadroom = unreservedScalars(total).subtractSaturating(allocatedUnreserved);
  }

  share(r: Resources | undefined): number {
    return r === undefined ? 0 : dominantShare(r, this.context.total);
  }

  roleAllocation(role: string): Resources {
    return this.#own.get(role)?.resources ?? Resources.empty();
  }

  subtreeAllocation(role: string): Resources {
    return this.#subtree.get(role)?.resources ?? Resources.empty();
  }

  roleCount(role: string): number {
    return this.#own.get(role)?.count ?? 0;
  }

  subtreeCount(role: string): number {
    return this.#subtree.get(role)?.count ?? 0;
  }

  roleShare(role: string): number {
    return this.#own.get(role)?.share ?? 0;
  }

  subtreeShare(role: string): number {
    return this.#subtree.get(role)?.share ?? 0;
  }

  frameworkShare(candidate: Candidate, role: string): number {
    return candidate instanceof CandidateState
      ? candidate.shareIn(role)
      : this.share(candidate.allocation.get(role));
  }

  consumedBy(role: string): Resources {
    return this.consumed.get(role) ?? Resources.empty();
  }

  /** The frameworks of `role` that want offers for it. */
  eligible(role: string): readonly CandidateState[] {
    return this.#eligible.get(role) ?? [];
  }

  /** The roles in the ordering's order (sorted again only after an allocation). */
  rolesInOrder(): readonly string[] {
    if (this.#roleOrder === undefined) {
      this.#roleOrder =
        this.roles.length <= 1 ? this.roles : this.ordering.sortRoles(this, this.roles);
    }
    return this.#roleOrder;
  }

  /**
   * The frameworks of `role` that want offers, in the ordering's order (by
   * position: read it before the next call, which may reorder it).
   */
  frameworksInOrder(role: string): InOrder<Candidate> {
    const compare = this.ordering.compareFrameworks;
    const order = this.#orders.get(role);
    if (compare === undefined || order === undefined) {
      return this.ordering.sortFrameworks(this, role, this.eligible(role));
    }
    if (!order.sorted) {
      order.reset(
        this.ordering.sortFrameworks(this, role, this.eligible(role)).slice() as CandidateState[],
      );
    } else if (order.moved.length > 0) order.settle(this, role, compare);
    return order;
  }

  /** Whether offers to `role` are never chopped: no limit on it or an ancestor, no headroom. */
  unlimited(role: string): boolean {
    if (!this.requiredHeadroom.isEmpty()) return false;
    let unlimited = this.#unlimited.get(role);
    if (unlimited === undefined) {
      unlimited = this.chain(role).every(
        (path) => roleQuota(this.context, path)?.limit === undefined,
      );
      this.#unlimited.set(role, unlimited);
    }
    return unlimited;
  }

  /** `quantities` chopped to the limits of `role` and of its ancestors. */
  chopToLimits(role: string, quantities: Resources, pending = Resources.empty()): Resources {
    let out = quantities;
    for (const path of this.chain(role)) {
      const limit = roleQuota(this.context, path)?.limit;
      if (limit === undefined || out.isEmpty()) continue;
      out = shrinkToLimit(out, limit, this.consumedBy(path).add(pending));
    }
    return out;
  }

  /**
   * `quantities` chopped so that the required headroom stays available, less
   * what lenders lend to `role` ({@link lentTo}).
   */
  chopToHeadroom(quantities: Resources, role?: string): Resources {
    if (this.requiredHeadroom.isEmpty() || quantities.isEmpty()) return quantities;
    let required = this.requiredHeadroom;
    if (role !== undefined && this.#lenders.length > 0) {
      required = required.subtractSaturating(this.lentTo(role));
    }
    return shrinkTo(quantities, this.availableHeadroom.subtractSaturating(required));
  }

  /**
   * What of the required headroom `role` may use (Kueue's cohorts): each
   * lender of the same parent (the lender's siblings and their sub-roles)
   * lends its unsatisfied guarantee up to its `lendingLimit`; `role` takes it
   * up to its `borrowingLimit` less what it already holds beyond its own
   * guarantee. Borrowers' use lowers the available headroom, so what is lent
   * is a stock, not a flow per cycle.
   */
  lentTo(role: string): Resources {
    let lent = Resources.empty();
    for (const lender of this.#lenders) {
      if (isSubrole(role, lender) || isSubrole(lender, role)) continue;
      const cohort = parentOf(lender);
      if (cohort !== "" && !isSubrole(role, cohort)) continue;
      const quota = roleQuota(this.context, lender);
      const unsatisfied = quota!.guarantee!.subtractSaturating(this.consumedBy(lender));
      lent = lent.add(shrinkTo(unsatisfied, quota!.lendingLimit!));
    }
    const borrowingLimit = roleQuota(this.context, role)?.borrowingLimit;
    if (borrowingLimit === undefined || lent.isEmpty()) return lent;
    const own = roleQuota(this.context, role)?.guarantee ?? Resources.empty();
    return shrinkToLimit(lent, borrowingLimit, this.consumedBy(role).subtractSaturating(own));
  }

  /** Starts the allocations of the next agent, in stage 1 or 2. */
  beginAgent(stageOne: boolean): void {
    this.#agentStart = this.#out.length;
    this.#inStageOne = stageOne;
  }

  /** Records an allocation and updates shares, counts, consumption and headroom. */
  record(candidate: Candidate, role: string, agentIndex: number, resources: Resources): void {
    const c = candidate as CandidateState;
    const v = this.scale.vector(resources);
    c.add(this.scale, role, resources, v);
    c.allocations += 1;
    for (const tally of this.#track(role)) {
      tally.add(resources, v);
      tally.count += 1;
    }
    if (this.hasQuota) {
      const quantities = unreservedScalars(resources);
      for (const path of this.chain(role)) addTo(this.consumed, path, quantities);
      this.availableHeadroom = this.availableHeadroom.subtractSaturating(quantities);
    }
    const free = this.free[agentIndex]!;
    this.free[agentIndex] =
      resources === free ? Resources.empty() : free.subtractSaturating(resources);
    this.#emit(c.standing.frameworkId, role, this.agentIds[agentIndex]!, resources);
    this.#roleOrder = undefined;
    for (const order of c.orders) if (!order.moved.includes(c)) order.moved.push(c);
  }

  /** Adds an allocation to the output, merged into one of the same (framework, role, agent). */
  #emit(frameworkId: string, role: string, agentId: string, resources: Resources): void {
    const out = this.#out;
    let at = -1;
    for (let k = this.#agentStart; k < out.length; k++) {
      const a = out[k]!;
      if (a.frameworkId === frameworkId && a.role === role && a.agentId === agentId) {
        at = k;
        break;
      }
    }
    const key =
      this.#inStageOne || this.#stageOne.size > 0
        ? `${frameworkId}\u0000${role}\u0000${agentId}`
        : undefined;
    if (at === -1 && key !== undefined) at = this.#stageOne.get(key) ?? -1;
    if (at !== -1) {
      const previous = out[at]!;
      out[at] = { ...previous, resources: previous.resources.add(resources) };
      return;
    }
    out.push({ frameworkId, role, agentId, resources });
    if (this.#inStageOne && key !== undefined) this.#stageOne.set(key, out.length - 1);
  }

  allocations(): Allocation[] {
    return this.#out;
  }
}

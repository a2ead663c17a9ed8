/**
 * Gang placement, pure: where the members of a gang (tasks that must all
 * start or none) fit on the agents' free resources, and how much of that a
 * gang may hold while it waits for the rest. The master (actors/master/gang.ts)
 * runs it before each allocation cycle and keeps what a gang holds out of the
 * policy's view; `agora simulate` runs the same code.
 *
 * Placement is first fit, members in their order, agents in the order given
 * (the master lists those the gang already holds on first, so that what it
 * holds stays put); with `spread` no two members share an agent. A gang only
 * uses unreserved resources. What a gang may hold is capped per resource by a
 * share of the cluster (`--gang-hold-fraction`) across all gangs: the
 * members that fit first, then parts of the others, up to the room left.
 */
import { Resources } from "../protocol/resources.ts";
import { shrinkTo } from "./quantities.ts";

/** A gang as the placement sees it. */
export interface GangShape {
  /** Each member's resources (unreserved scalars). */
  readonly members: readonly Resources[];
  /** At most one member per agent. */
  readonly spread: boolean;
}

/** An agent the gang may use: what of it is free for the gang (unreserved scalars). */
export interface GangSlot {
  readonly agentId: string;
  readonly free: Resources;
}

/** Where each member fits (an index into the slots), or undefined where none does. */
export interface GangFit {
  readonly placement: ReadonlyArray<number | undefined>;
  /** Every member fits. */
  readonly complete: boolean;
}

/** First-fit of the gang's members on the slots. */
export function fitGang(gang: GangShape, slots: readonly GangSlot[]): GangFit {
  const left = slots.map((s) => s.free);
  const used = new Set<number>();
  const placement: Array<number | undefined> = [];
  // Free space only shrinks: a member of a shape seen before need not look at
  // the slots before where the last one of that shape went (or at any, when
  // it fitted nowhere). Members are mostly alike: O(members + agents), not ×.
  const from = new Map<string, number>();
  let complete = true;
  for (const member of gang.members) {
    const shape = member.toString();
    let at: number | undefined;
    for (let i = from.get(shape) ?? 0; i < left.length; i++) {
      if (gang.spread && used.has(i)) continue;
      if (left[i]!.contains(member)) {
        at = i;
        break;
      }
    }
    from.set(shape, at ?? left.length);
    placement.push(at);
    if (at === undefined) {
      complete = false;
      continue;
    }
    used.add(at);
    left[at] = left[at]!.subtract(member);
  }
  return { placement, complete };
}

/** The members' resources summed per agent id, for the members placed (in slot order). */
export function perAgent(
  gang: GangShape,
  slots: readonly GangSlot[],
  placement: ReadonlyArray<number | undefined>,
  members: ReadonlyArray<number> = gang.members.map((_, i) => i),
): Map<string, Resources> {
  const sums = new Map<number, Resources>();
  for (const m of members) {
    const at = placement[m];
    if (at === undefined) continue;
    sums.set(at, (sums.get(at) ?? Resources.empty()).add(gang.members[m]!));
  }
  const out = new Map<string, Resources>();
  for (const at of Array.from(sums.keys()).sort((a, b) => a - b)) {
    out.set(slots[at]!.agentId, sums.get(at)!);
  }
  return out;
}

/**
 * What a waiting gang holds, per agent id, within `room` (what is left of the
 * hold cap): the members that fit, in member order; then, for each member
 * that fits nowhere yet, what is free of its resources on the first agent it
 * may use (with `spread`, one without a member), so that an agent is held as
 * it frees up and the member fits there once the rest is free.
 */
export function holdWithin(
  gang: GangShape,
  slots: readonly GangSlot[],
  fit: GangFit,
  room: Resources,
): Map<string, Resources> {
  const left = slots.map((s) => s.free);
  const used = new Set<number>();
  const held = new Map<number, Resources>();
  let budget = room;
  const take = (at: number, r: Resources) => {
    budget = budget.subtract(r);
    left[at] = left[at]!.subtract(r);
    used.add(at);
    held.set(at, (held.get(at) ?? Resources.empty()).add(r));
  };
  for (const [m, at] of fit.placement.entries()) {
    if (at === undefined) continue;
    const member = gang.members[m]!;
    if (!budget.contains(member)) return byAgent(slots, held);
    take(at, member);
  }
  for (const [m, at] of fit.placement.entries()) {
    if (at !== undefined) continue;
    const member = gang.members[m]!;
    for (let i = 0; i < left.length; i++) {
      if (gang.spread && used.has(i)) continue;
      const part = shrinkTo(shrinkTo(member, left[i]!), budget);
      if (part.isEmpty()) continue;
      take(i, part);
      break;
    }
  }
  return byAgent(slots, held);
}

function byAgent(slots: readonly GangSlot[], held: Map<number, Resources>): Map<string, Resources> {
  const out = new Map<string, Resources>();
  for (const at of Array.from(held.keys()).sort((a, b) => a - b)) {
    out.set(slots[at]!.agentId, held.get(at)!);
  }
  return out;
}

/** The hold cap: `fraction` of each unreserved scalar of the cluster's total. */
export function holdCap(total: Resources, fraction: number): Resources {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(total.unreserved().quantities().toJSON())) {
    if (typeof value !== "number") continue;
    const capped = Math.floor(value * fraction * 1000) / 1000;
    if (capped > 0) out[name] = capped;
  }
  return Resources.fromJSON(out);
}

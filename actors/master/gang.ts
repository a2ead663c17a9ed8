/**
 * Gang placement in the master (agora's; Mesos has none): a framework
 * declares a gang (`scheduler.requestGang`: members that must all start or
 * none). Before each allocation cycle, {@link placeGangs} fits every waiting
 * gang on the free resources (policies/gang.ts): a gang whose whole set fits
 * is offered it at once, one offer per agent, in one `event.offers` with its
 * `gangId`; the others hold what they fit on (up to `--gang-hold-fraction` of
 * the cluster, all gangs together), and what they hold is left out of the
 * policy's view, so it is offered to nobody. A gang not placed within its
 * timeout releases what it holds, its framework gets `event.gangTimedOut`,
 * and that framework's gangs hold nothing for `--gang-backoff`.
 * `scheduler.acceptGang` launches on every agent of the gang or on none.
 * After launch the members are ordinary tasks: each fails on its own (see
 * docs/gang.md for why, and for the bound on what others wait).
 */

import { Cycle } from "../../policies/cycle.ts";
import { explainOrdering } from "../../policies/explain.ts";
import {
  fitGang,
  type GangShape,
  type GangSlot,
  holdCap,
  holdWithin,
  perAgent,
} from "../../policies/gang.ts";
import { isQuantities, shrinkTo, unreservedScalars } from "../../policies/quantities.ts";
import { selfAndAncestors } from "../../policies/role-tree.ts";
import type { AllocationContext } from "../../policies/types.ts";
import type { SentOffer } from "../../protocol/cluster.ts";
import type { Offer, TaskInfo } from "../../protocol/common.ts";
import { TaskReason, TaskState } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { type Tail, withTails } from "../../protocol/fast-pack.ts";
import { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import { OfferEvent } from "../../protocol/lifecycles/offer.machine.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import { Resources } from "../../protocol/resources.ts";
import { accept, addDeclineFilter } from "./accept.ts";
import type { GangEntry } from "./gang-state.ts";
import { type LaunchScope, reject, unauthorized, validateTask } from "./launch-checks.ts";
import type { FrameworkEntry, MasterContext } from "./model.ts";
import { createOffer, endOffer, offerToWire, sentOffer } from "./offers.ts";

const keyOf = (frameworkId: string, gangId: string) => `${frameworkId}\u0000${gangId}`;

/** Forgets what the gang holds. */
function release(ctx: MasterContext, gang: GangEntry): void {
  if (gang.held.size === 0) return;
  setHeld(ctx, gang, new Map());
}

function setHeld(ctx: MasterContext, gang: GangEntry, held: Map<string, Resources>): void {
  const onAgent = ctx.gangs.heldOnAgent;
  for (const [agentId, r] of gang.held) {
    const left = (onAgent.get(agentId) ?? Resources.empty()).subtractSaturating(r);
    if (left.isEmpty()) onAgent.delete(agentId);
    else onAgent.set(agentId, left);
  }
  for (const [agentId, r] of held) {
    onAgent.set(agentId, (onAgent.get(agentId) ?? Resources.empty()).add(r));
  }
  gang.held = held;
}

function drop(ctx: MasterContext, gang: GangEntry): void {
  gang.timer?.cancel();
  gang.timer = undefined;
  release(ctx, gang);
  ctx.gangs.gangs.delete(keyOf(gang.frameworkId, gang.gangId));
}

/**
 * `scheduler.requestGang`: declares (or replaces) a gang of the framework.
 * @throws AgoraError NOT_FOUND for a role it has not subscribed with,
 *   INVALID_RESOURCES for a member that is not unreserved scalars,
 *   INVALID_STATE for a gang that was offered its set already
 */
export function requestGang(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.requestGang">,
): void {
  const role = call.role ?? framework.roles[0] ?? "*";
  if (!framework.roles.includes(role)) {
    throw new AgoraError(
      ErrorCode.NotFound,
      `gang ${call.gangId}: framework ${framework.id} has not subscribed with role ${role}`,
    );
  }
  const members: Resources[] = [];
  for (const [i, member] of call.members.entries()) {
    let resources: Resources;
    try {
      resources = Resources.fromJSON(member.resources);
    } catch (cause) {
      throw new AgoraError(
        ErrorCode.InvalidResources,
        `members[${i}]: ${(cause as Error).message}`,
      );
    }
    if (resources.isEmpty() || !isQuantities(resources)) {
      throw new AgoraError(
        ErrorCode.InvalidResources,
        `members[${i}]: a gang member is unreserved scalar resources, e.g. {"cpus": 1, "mem": 128}`,
      );
    }
    members.push(resources);
  }
  const key = keyOf(framework.id, call.gangId);
  const previous = ctx.gangs.gangs.get(key);
  if (previous?.offerIds !== undefined) {
    throw new AgoraError(
      ErrorCode.InvalidState,
      `gang ${call.gangId} was offered its whole set: accept (scheduler.acceptGang) or decline its offers first`,
    );
  }
  const now = ctx.clock.now();
  if (previous !== undefined) {
    drop(ctx, previous);
    // asking again does not restart a timeout: a gang that held backs off like one that timed out
    if (now >= previous.holdFrom) backOff(ctx, framework.id, now);
  }
  const holdFrom = Math.max(now, ctx.gangs.backoff.get(framework.id) ?? 0);
  const timeoutMs = Math.round(call.timeoutSeconds * 1000);
  const gang: GangEntry = {
    gangId: call.gangId,
    frameworkId: framework.id,
    role,
    shape: { members, spread: call.spread === true } satisfies GangShape,
    timeoutMs,
    requestedAt: now,
    holdFrom,
    deadline: holdFrom + timeoutMs,
    timer: undefined,
    held: new Map(),
    offerIds: undefined,
    placedAt: undefined,
    blocked: undefined,
  };
  gang.timer = ctx.clock.after(gang.deadline - now, () => timeOut(ctx, gang));
  ctx.gangs.gangs.set(key, gang);
  ctx.metrics.inc("gangs_requested");
  ctx.logger.info(
    { frameworkId: framework.id, gangId: gang.gangId, role, members: members.length },
    "gang requested",
  );
  ctx.requestAllocation();
}

/**
 * `scheduler.withdrawGang`: a waiting gang releases what it holds and is
 * forgotten (no back-off); a placed one is forgotten, its offers stay.
 * @throws AgoraError NOT_FOUND for an unknown gang
 */
export function withdrawGang(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.withdrawGang">,
): void {
  const gang = ctx.gangs.gangs.get(keyOf(framework.id, call.gangId));
  if (gang === undefined) {
    throw new AgoraError(
      ErrorCode.NotFound,
      `framework ${framework.id} has no gang ${call.gangId}`,
    );
  }
  drop(ctx, gang);
  const now = ctx.clock.now();
  if (gang.offerIds === undefined && now >= gang.holdFrom) backOff(ctx, framework.id, now);
  ctx.metrics.inc("gangs_withdrawn");
  ctx.requestAllocation();
}

function timeOut(ctx: MasterContext, gang: GangEntry): void {
  gang.timer = undefined;
  if (ctx.gangs.gangs.get(keyOf(gang.frameworkId, gang.gangId)) !== gang) return;
  if (gang.offerIds !== undefined) return;
  const held = gang.held.size;
  drop(ctx, gang);
  const now = ctx.clock.now();
  const backoffMs = ctx.config.gangBackoff;
  backOff(ctx, gang.frameworkId, now);
  const reason =
    gang.blocked === undefined
      ? `the whole set of ${gang.shape.members.length} members did not fit within ` +
        `${gang.timeoutMs / 1000} s (held on ${held} agents); released`
      : `the whole set of ${gang.shape.members.length} members would exceed ${gang.blocked}`;
  ctx.metrics.inc("gangs_timed_out");
  ctx.logger.info({ frameworkId: gang.frameworkId, gangId: gang.gangId, reason }, "gang timed out");
  if (ctx.frameworks.get(gang.frameworkId)?.status === FrameworkState.Subscribed) {
    ctx.outbox.toFramework(gang.frameworkId, {
      type: "event.gangTimedOut",
      gangId: gang.gangId,
      reason,
      backoffSeconds: backoffMs / 1000,
    });
  }
  ctx.requestAllocation();
}

/**
 * Starts the framework's back-off: for `--gang-backoff` its waiting gangs
 * hold nothing, and each one's timeout starts again when it ends (so that
 * every stretch of holding is at most one timeout long).
 */
function backOff(ctx: MasterContext, frameworkId: string, now: number): void {
  const until = now + ctx.config.gangBackoff;
  if (ctx.config.gangBackoff > 0) ctx.gangs.backoff.set(frameworkId, until);
  for (const gang of ctx.gangs.gangs.values()) {
    if (gang.frameworkId !== frameworkId || gang.offerIds !== undefined) continue;
    release(ctx, gang);
    if (gang.holdFrom >= until) continue;
    gang.holdFrom = until;
    gang.deadline = until + gang.timeoutMs;
    gang.timer?.cancel();
    gang.timer = ctx.clock.after(gang.deadline - now, () => timeOut(ctx, gang));
  }
}

/**
 * The quota limit (of the gang's role or an ancestor) that its whole set would
 * exceed, as a reason; undefined when none would. Consumption is the policy's
 * (`Cycle.consumedBy`: allocation and reservations of the subtree).
 */
function quotaBlock(
  ctx: MasterContext,
  cycle: Cycle,
  gang: GangEntry,
  set: Resources,
): string | undefined {
  for (const path of selfAndAncestors(gang.role)) {
    const limit = ctx.roles.get(path)?.limit;
    if (limit === undefined) continue;
    const consumed = cycle.consumedBy(path);
    const over = limit
      .names()
      .some((name) => consumed.scalar(name) + set.scalar(name) > limit.scalar(name));
    if (!over) continue;
    const was = consumed.isEmpty() ? "nothing" : `${consumed}`;
    return `the quota limit ${limit} of role ${path} (consumed ${was}, the set ${set})`;
  }
  return undefined;
}

/**
 * What of the cluster a gang of `role` may take (offered or held) without
 * eating the headroom kept for other roles' unmet quota guarantees, as the
 * policy's cycle computes it (less what lenders lend the role, less what
 * other gangs hold); undefined when there is no headroom to keep, or the role
 * (or an ancestor) has a guarantee of its own (serving it serves the guarantee).
 */
function headroomSpare(
  ctx: MasterContext,
  cycle: Cycle,
  gang: GangEntry,
  heldByOthersNow: Resources,
): Resources | undefined {
  if (cycle.requiredHeadroom.isEmpty()) return undefined;
  const own = selfAndAncestors(gang.role).some(
    (r) => !(ctx.roles.get(r)?.guarantee?.isEmpty() ?? true),
  );
  if (own) return undefined;
  const required = cycle.requiredHeadroom.subtractSaturating(cycle.lentTo(gang.role));
  return cycle.availableHeadroom.subtractSaturating(heldByOthersNow).subtractSaturating(required);
}

/** What gangs hold on the agent (empty: nothing). */
export function heldOn(ctx: MasterContext, agentId: string): Resources | undefined {
  return ctx.gangs.heldOnAgent.get(agentId);
}

/** Sum of what the gangs other than `except` hold. */
function heldByOthers(ctx: MasterContext, except: GangEntry): Resources {
  let sum = Resources.empty();
  for (const gang of ctx.gangs.gangs.values()) {
    if (gang === except) continue;
    for (const r of gang.held.values()) sum = sum.add(r);
  }
  return sum;
}

/**
 * Before a cycle: offers every gang whose whole set fits its set, and
 * updates what the others hold. Returns the number of offers made.
 */
export function placeGangs(ctx: MasterContext, contextOf: () => AllocationContext): number {
  const state = ctx.gangs;
  if (state.gangs.size === 0) return 0;
  // the policy's quota bookkeeping, only when some role has quota (made again after a placement)
  const quota = Array.from(ctx.roles.values()).some(
    (r) => r.limit !== undefined || !(r.guarantee?.isEmpty() ?? true),
  );
  let cycle: Cycle | undefined;
  const quotaCycle = () => {
    cycle ??= new Cycle(contextOf(), explainOrdering(ctx.policy.name));
    return cycle;
  };
  const now = ctx.clock.now();
  for (const [frameworkId, until] of state.backoff) {
    if (until <= now) state.backoff.delete(frameworkId);
  }
  const candidates = ctx.pool.candidates(now, ctx.config.allocationInterval);
  const cap = holdCap(ctx.pool.total(), ctx.config.gangHoldFraction);
  let made = 0;
  for (const gang of Array.from(state.gangs.values())) {
    const framework = ctx.frameworks.get(gang.frameworkId);
    if (framework === undefined) {
      drop(ctx, gang);
      continue;
    }
    if (gang.offerIds !== undefined) {
      // placed: forgotten once none of its offers is outstanding
      if (!gang.offerIds.some((id) => ctx.offers.has(id))) drop(ctx, gang);
      continue;
    }
    // a gang is asked for explicitly: the role's suppression (of ordinary offers) does not stop it
    if (framework.status !== FrameworkState.Subscribed) {
      release(ctx, gang);
      continue;
    }
    const others = new Map<string, Resources>();
    for (const other of state.gangs.values()) {
      if (other === gang) continue;
      for (const [agentId, r] of other.held) {
        others.set(agentId, (others.get(agentId) ?? Resources.empty()).add(r));
      }
    }
    const mine: GangSlot[] = [];
    const rest: GangSlot[] = [];
    for (const agent of candidates) {
      let free = unreservedScalars(ctx.pool.freeOf(agent));
      const taken = others.get(agent.id);
      if (taken !== undefined) free = free.subtractSaturating(taken);
      if (free.isEmpty()) continue;
      (gang.held.has(agent.id) ? mine : rest).push({ agentId: agent.id, free });
    }
    const slots = [...mine, ...rest];
    const othersHeld = heldByOthers(ctx, gang);
    let set = Resources.empty();
    for (const m of gang.shape.members) set = set.add(m);
    // a set its role's quota limit cannot take is neither offered nor held
    gang.blocked = quota ? quotaBlock(ctx, quotaCycle(), gang, set) : undefined;
    if (gang.blocked !== undefined) {
      release(ctx, gang);
      continue;
    }
    const spare = quota ? headroomSpare(ctx, quotaCycle(), gang, othersHeld) : undefined;
    if (spare !== undefined && !shrinkTo(set, spare).equals(set)) {
      // the whole set would eat the headroom kept for other roles' guarantees: wait, hold nothing
      gang.blocked = `the headroom kept for other roles' quota guarantees (the set ${set}, spare ${spare.isEmpty() ? "nothing" : spare})`;
      release(ctx, gang);
      continue;
    }
    const fit = fitGang(gang.shape, slots);
    if (fit.complete) {
      made += offerGang(ctx, framework, gang, perAgent(gang.shape, slots, fit.placement));
      cycle = undefined;
      continue;
    }
    if (now < gang.holdFrom) {
      release(ctx, gang);
      continue;
    }
    let room = cap.subtractSaturating(othersHeld);
    if (spare !== undefined) room = shrinkTo(room, spare);
    setHeld(ctx, gang, holdWithin(gang.shape, slots, fit, room));
  }
  return made;
}

/** Offers the gang its whole set: one offer per agent, in one `event.offers`. */
function offerGang(
  ctx: MasterContext,
  framework: FrameworkEntry,
  gang: GangEntry,
  set: Map<string, Resources>,
): number {
  release(ctx, gang);
  gang.timer?.cancel();
  gang.timer = undefined;
  const now = ctx.clock.now();
  const offers: Offer[] = [];
  const offerIds: string[] = [];
  const tails: Array<Tail | undefined> = [];
  const sent: SentOffer[] = [];
  const sentTails: Array<Tail | undefined> = [];
  for (const [agentId, resources] of set) {
    const agent = ctx.agents.get(agentId);
    if (agent === undefined) continue;
    const offer = createOffer(ctx, agent, framework, gang.role, resources, now);
    framework.allocations += 1;
    const wire = offerToWire(offer, agent);
    offers.push(wire);
    tails.push(agent.offerTail);
    offerIds.push(offer.offerId);
    sent.push(sentOffer(wire, agent));
    sentTails.push(agent.sentTail);
  }
  ctx.events.offersSent(sent, sentTails);
  gang.offerIds = offerIds;
  gang.placedAt = now;
  ctx.outbox.toFramework(framework.id, {
    type: "event.offers",
    offers: withTails(offers, tails),
    gangId: gang.gangId,
  });
  ctx.metrics.inc("offers_sent", offers.length);
  ctx.metrics.inc("gangs_placed");
  ctx.logger.info(
    { frameworkId: framework.id, gangId: gang.gangId, agents: offerIds.length },
    "gang placed",
  );
  return offers.length;
}

/**
 * `scheduler.acceptGang`: launches the tasks on the gang's offers, each on
 * the agent it names, when every one is valid and fits; else none, and the
 * offers are declined.
 * @throws AgoraError NOT_FOUND for an unknown gang, INVALID_STATE for a gang
 *   not offered yet or whose offers are no longer all outstanding
 */
export function acceptGang(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: MessageOf<"scheduler.acceptGang">,
): undefined {
  const gang = ctx.gangs.gangs.get(keyOf(framework.id, call.gangId));
  const problem =
    gang === undefined
      ? new AgoraError(ErrorCode.NotFound, `framework ${framework.id} has no gang ${call.gangId}`)
      : gang.offerIds === undefined
        ? new AgoraError(
            ErrorCode.InvalidState,
            `gang ${call.gangId} has not been offered its set yet`,
          )
        : gang.offerIds.some((id) => !ctx.offers.has(id))
          ? new AgoraError(
              ErrorCode.InvalidState,
              `gang ${call.gangId}: some of its offers are no longer outstanding (declined, rescinded or used)`,
            )
          : undefined;
  if (problem !== undefined || gang === undefined || gang.offerIds === undefined) {
    if (gang?.offerIds !== undefined) {
      for (const id of gang.offerIds) {
        const offer = ctx.offers.get(id);
        if (offer !== undefined) endOffer(ctx, offer, OfferEvent.Decline);
      }
    }
    for (const task of call.tasks) {
      reject(
        ctx,
        framework,
        task,
        TaskState.Dropped,
        TaskReason.InvalidOffers,
        problem?.message ?? "",
      );
    }
    ctx.metrics.inc("gang_accepts_invalid");
    throw problem ?? new AgoraError(ErrorCode.Internal, "no gang");
  }
  const offerOf = new Map<string, string>();
  for (const id of gang.offerIds) offerOf.set(ctx.offers.get(id)!.agentId, id);
  // the checks of an accept, on every agent first, without launching anything
  const scopes = new Map<string, LaunchScope>();
  const taskIds = new Set<string>();
  const problems = new Map<TaskInfo, string>();
  for (const task of call.tasks) {
    const offerId = offerOf.get(task.agentId);
    if (offerId === undefined) {
      problems.set(task, `agent ${task.agentId} has no offer of gang ${gang.gangId}`);
      continue;
    }
    let scope = scopes.get(task.agentId);
    if (scope === undefined) {
      const offer = ctx.offers.get(offerId)!;
      scope = {
        framework,
        agent: ctx.agents.get(offer.agentId)!,
        available: offer.resources,
        taskIds,
        executors: new Set(),
        send: () => {},
      };
      scopes.set(task.agentId, scope);
    }
    const valid = validateTask(scope, task);
    if (typeof valid === "string") {
      problems.set(task, valid);
      continue;
    }
    const refused = unauthorized(ctx, framework, task);
    if (refused !== undefined) {
      problems.set(task, refused);
      continue;
    }
    taskIds.add(task.taskId);
    scope.available = scope.available.subtract(
      valid.executorResources === undefined
        ? valid.resources
        : valid.resources.add(valid.executorResources),
    );
  }
  if (problems.size > 0) {
    const first = problems.entries().next().value!;
    const summary = `gang ${gang.gangId} launches all or none: task ${first[0].taskId}: ${first[1]}`;
    for (const id of gang.offerIds) {
      const offer = ctx.offers.get(id);
      if (offer === undefined || !endOffer(ctx, offer, OfferEvent.Decline)) continue;
      addDeclineFilter(ctx, framework, offer.agentId, offer.role, offer.resources, call.filters);
    }
    for (const task of call.tasks) {
      const own = problems.get(task);
      if (own !== undefined)
        reject(ctx, framework, task, TaskState.Error, TaskReason.TaskInvalid, own);
      else {
        reject(ctx, framework, task, TaskState.Dropped, TaskReason.TaskGroupInvalid, summary);
      }
    }
    drop(ctx, gang);
    ctx.metrics.inc("gang_accepts_invalid");
    return undefined;
  }
  for (const [agentId, offerId] of offerOf) {
    const tasks = call.tasks.filter((t) => t.agentId === agentId);
    accept(ctx, framework, {
      type: "scheduler.accept",
      offerIds: [offerId],
      operations: tasks.length === 0 ? [] : [{ type: "launch", tasks }],
      ...(call.filters === undefined ? {} : { filters: call.filters }),
    });
  }
  drop(ctx, gang);
  ctx.metrics.inc("gangs_launched");
  return undefined;
}

/** The gangs for the state (`agora state`): waiting ones with what they hold, placed ones. */
export function gangsJson(ctx: MasterContext): Array<{
  frameworkId: string;
  gangId: string;
  role: string;
  members: number;
  spread: boolean;
  state: "BACKING_OFF" | "HOLDING" | "OFFERED";
  deadline: number;
  held: Record<string, ReturnType<Resources["toJSON"]>>;
}> {
  const now = ctx.clock.now();
  return Array.from(ctx.gangs.gangs.values(), (g) => ({
    frameworkId: g.frameworkId,
    gangId: g.gangId,
    role: g.role,
    members: g.shape.members.length,
    spread: g.shape.spread,
    state: g.offerIds !== undefined ? "OFFERED" : now < g.holdFrom ? "BACKING_OFF" : "HOLDING",
    deadline: g.deadline,
    held: Object.fromEntries(Array.from(g.held, ([agentId, r]) => [agentId, r.toJSON()])),
  }));
}

/**
 * `agora explain`'s reason for resources held for gangs of other frameworks
 * (or of other gangs): the agents and what is held; undefined when none is.
 */
export function heldForGangs(
  ctx: MasterContext,
  frameworkId: string,
): { kind: "heldForGang"; message: string; agents: number } | undefined {
  const parts: string[] = [];
  const agents = new Set<string>();
  for (const gang of ctx.gangs.gangs.values()) {
    if (gang.held.size === 0 || gang.frameworkId === frameworkId) continue;
    let sum = Resources.empty();
    for (const [agentId, r] of gang.held) {
      agents.add(agentId);
      sum = sum.add(r);
    }
    const until = new Date(gang.deadline).toISOString();
    parts.push(
      `held for gang ${gang.gangId} of framework ${gang.frameworkId} on ${gang.held.size} agent(s): ${sum} (until it is placed or times out at ${until})`,
    );
  }
  if (parts.length === 0) return undefined;
  return { kind: "heldForGang", message: parts.join("; "), agents: agents.size };
}

/** Cancels the gangs' timers (the core stops). */
export function stopGangs(ctx: MasterContext): void {
  for (const gang of ctx.gangs.gangs.values()) {
    gang.timer?.cancel();
    gang.timer = undefined;
  }
}

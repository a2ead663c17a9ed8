/**
 * Preemption: which running tasks to kill so that a demand that free
 * resources cannot serve fits on one agent. Pure, like the policies: the
 * master (and `agora simulate`, on the same code) hands it the allocation
 * context, the demands and the agents' running tasks, and applies the plan.
 *
 * A demand is what a framework asked for with `scheduler.request` (Mesos's
 * `REQUEST` call): resources for one role that it wants on one agent. A
 * demand may preempt only when no agent's free resources (offerable to its
 * role) already contain it, when its framework is active and not suppressed
 * for the role, and when the role's quota limits (and its ancestors') leave
 * room for it.
 *
 * A task is a possible victim of a demand (never one of the demander's own
 * tasks) when
 * - `priority` rule (the `priority` policy only), as that policy orders: the
 *   task's role has a lower effective priority than the demand's role, or it
 *   is the demand's role and the task's framework has a lower priority than
 *   the demander; or
 * - `guarantee` rule (every policy): the demand's role (or an ancestor with a
 *   guarantee) is below its quota guarantee and stays at or below it with the
 *   demand, and the task's role holds more than its own guarantee;
 * and, in both cases, taking it leaves every role of the task's chain (not
 * shared with the demand's) at or above its guarantee: preemption never
 * pushes a role below its guarantee.
 *
 * Victims, on one agent, are taken in this order: tasks of roles that borrow
 * from the demand's role (siblings above their guarantee, when the demand's
 * role lends: `lendingLimit`), then the lowest priority (role, then
 * framework), then the most recently started, then the role furthest above
 * its fair share (dominant share − weight ÷ the sum of the weights), then by
 * task id; a task is taken only if it adds some of what is still missing, and
 * those that turn out unneeded are given back (last taken first). An agent
 * qualifies only when its free resources plus the victims' contain the whole
 * demand and the demander's decline filters let it be offered; of those, the
 * one whose highest victim has the lowest priority wins, then the fewest
 * victims, then the agent's order. Each agent and each task serves at most
 * one demand per plan.
 */

import { Resources } from "../protocol/resources.ts";
import { effectivePriority } from "./priority.ts";
import { unreservedScalars } from "./quantities.ts";
import { parentOf, selfAndAncestors } from "./role-tree.ts";
import { dominantShare } from "./shares.ts";
import {
  type AllocationContext,
  type FrameworkStanding,
  isFilteredFor,
  isSubrole,
  offerableTo,
  roleQuota,
  roleWeight,
} from "./types.ts";

/** A running task as preemption sees it. */
export interface RunningTask {
  readonly taskId: string;
  readonly frameworkId: string;
  readonly role: string;
  readonly agentId: string;
  /** What ending it frees (its own resources). */
  readonly resources: Resources;
  /** When it started (ms since the epoch): the most recent goes first. */
  readonly startedAt: number;
}

/** What a framework asked for (`scheduler.request`). */
export interface Demand {
  /** Unique while it stands: a demand preempts at most once (see docs/preemption.md). */
  readonly id: string;
  readonly frameworkId: string;
  readonly role: string;
  readonly resources: Resources;
}

/** An agent that preemption may free resources on. */
export interface PreemptionAgent {
  readonly agentId: string;
  /** What is neither offered nor used now. */
  readonly free: Resources;
  /** Its running tasks that may be preempted (not being killed already). */
  readonly tasks: readonly RunningTask[];
}

export interface PreemptionInput {
  readonly demands: readonly Demand[];
  readonly agents: readonly PreemptionAgent[];
  /** Whether the `priority` rule applies (the `priority` policy). */
  readonly byPriority: boolean;
}

/** Why a victim was chosen. */
export type PreemptionRule = "priority" | "guarantee";

/** One preemption: the victims to kill on `agentId` so that the demand fits there. */
export interface Preemption {
  readonly demandId: string;
  readonly frameworkId: string;
  readonly role: string;
  readonly agentId: string;
  readonly rule: PreemptionRule;
  readonly victims: readonly RunningTask[];
}

/** The plan's running view of what each role (with its sub-roles) consumes. */
class Consumption {
  readonly #consumed = new Map<string, Resources>();
  readonly #context: AllocationContext;

  constructor(context: AllocationContext) {
    this.#context = context;
    for (const framework of context.frameworks) {
      for (const [role, r] of Object.entries(framework.allocation)) this.add(role, r, 1);
    }
    for (const reservation of context.total.roles()) {
      if (reservation === "*") continue;
      const quantities = unreservedScalars(context.total.reserved(reservation).flatten());
      for (const path of selfAndAncestors(reservation)) this.#put(path, quantities, 1);
    }
  }

  #put(path: string, q: Resources, sign: 1 | -1): void {
    if (q.isEmpty()) return;
    const now = this.#consumed.get(path);
    if (sign === 1) this.#consumed.set(path, now === undefined ? q : now.add(q));
    else if (now !== undefined) this.#consumed.set(path, now.subtractSaturating(q));
  }

  /** Adds (sign 1) or removes (-1) an allocation of `role`. */
  add(role: string, r: Resources, sign: 1 | -1): void {
    const q = unreservedScalars(r);
    for (const path of selfAndAncestors(role)) this.#put(path, q, sign);
  }

  of(path: string): Resources | undefined {
    return this.#consumed.get(path);
  }

  /** Whether `path` holds more than its guarantee of some name the guarantee lists. */
  above(path: string): boolean {
    const guarantee = roleQuota(this.#context, path)?.guarantee;
    if (guarantee === undefined || guarantee.isEmpty()) return !(this.of(path)?.isEmpty() ?? true);
    const consumed = this.of(path);
    if (consumed === undefined) return false;
    return consumed.names().some((name) => consumed.scalar(name) > guarantee.scalar(name));
  }

  /** Whether `path` keeps its guarantee after giving up `removed` (quantities). */
  keepsGuarantee(path: string, removed: Resources): boolean {
    const guarantee = roleQuota(this.#context, path)?.guarantee;
    if (guarantee === undefined || guarantee.isEmpty()) return true;
    const consumed = this.of(path);
    for (const name of guarantee.names()) {
      const left = (consumed?.scalar(name) ?? 0) - removed.scalar(name);
      if (left < guarantee.scalar(name) - 1e-9) return false;
    }
    return true;
  }
}

const SCALE = 1e-9;

/** Whether the chain of `role` is below a guarantee it stays within with `demand` (quantities). */
function belowGuarantee(
  context: AllocationContext,
  consumption: Consumption,
  role: string,
  demand: Resources,
): boolean {
  let guarded = false;
  for (const path of selfAndAncestors(role)) {
    const guarantee = roleQuota(context, path)?.guarantee;
    if (guarantee === undefined || guarantee.isEmpty()) continue;
    const consumed = consumption.of(path);
    let helps = false;
    for (const name of demand.names()) {
      const g = guarantee.scalar(name);
      if (g <= 0) continue;
      helps = true;
      if ((consumed?.scalar(name) ?? 0) + demand.scalar(name) > g + SCALE) return false;
    }
    if (!helps) return false;
    guarded = true;
  }
  return guarded;
}

/** Whether `demand` (quantities) fits under the limits of `role` and its ancestors. */
function withinLimits(
  context: AllocationContext,
  consumption: Consumption,
  role: string,
  demand: Resources,
): boolean {
  for (const path of selfAndAncestors(role)) {
    const limit = roleQuota(context, path)?.limit;
    if (limit === undefined) continue;
    const consumed = consumption.of(path);
    for (const name of limit.names()) {
      if ((consumed?.scalar(name) ?? 0) + demand.scalar(name) > limit.scalar(name) + SCALE) {
        return false;
      }
    }
  }
  return true;
}

/** `(role priority, framework priority)`, compared lexicographically. */
type Rank = readonly [number, number];

function compareRank(a: Rank, b: Rank): number {
  return a[0] - b[0] || a[1] - b[1];
}

/** What the plan knows of the cluster besides the input. */
interface Plan {
  readonly context: AllocationContext;
  readonly input: PreemptionInput;
  readonly consumption: Consumption;
  readonly frameworks: ReadonlyMap<string, FrameworkStanding>;
  /** Dominant share minus fair share, per role. */
  readonly aboveFair: ReadonlyMap<string, number>;
  readonly taken: Set<RunningTask>;
  readonly usedAgents: Set<string>;
}

function rankOf(plan: Plan, role: string, frameworkId: string): Rank {
  return [effectivePriority(plan.context, role), plan.frameworks.get(frameworkId)?.priority ?? 0];
}

function fairness(context: AllocationContext): Map<string, number> {
  const allocated = new Map<string, Resources>();
  for (const framework of context.frameworks) {
    for (const role of framework.roles)
      if (!allocated.has(role)) allocated.set(role, Resources.empty());
    for (const [role, r] of Object.entries(framework.allocation)) {
      allocated.set(role, (allocated.get(role) ?? Resources.empty()).add(r));
    }
  }
  let weights = 0;
  for (const role of allocated.keys()) weights += roleWeight(context, role);
  const out = new Map<string, number>();
  for (const [role, r] of allocated) {
    out.set(role, dominantShare(r, context.total) - roleWeight(context, role) / weights);
  }
  return out;
}

/** The victims of `demand` on one agent, in the order they are given up, or undefined. */
function victimsOn(
  plan: Plan,
  demand: Demand,
  agent: PreemptionAgent,
  rule: PreemptionRule,
): RunningTask[] | undefined {
  const { context, consumption } = plan;
  const chainOfDemand = new Set(selfAndAncestors(demand.role));
  const demandRank = rankOf(plan, demand.role, demand.frameworkId);
  const lends = roleQuota(context, demand.role)?.lendingLimit !== undefined;
  const candidates: Array<{ task: RunningTask; key: readonly number[] }> = [];
  for (const task of agent.tasks) {
    if (plan.taken.has(task) || task.frameworkId === demand.frameworkId) continue;
    const sameRole = task.role === demand.role;
    if (!sameRole && (chainOfDemand.has(task.role) || isSubrole(task.role, demand.role))) continue;
    const rank = rankOf(plan, task.role, task.frameworkId);
    if (rule === "priority") {
      // as the priority policy orders: roles by priority; frameworks by priority within a role
      const below = sameRole ? rank[1] < demandRank[1] : rank[0] < demandRank[0];
      if (!below) continue;
    }
    if (rule === "guarantee" && (sameRole || !consumption.above(task.role))) continue;
    const borrowing =
      lends && parentOf(task.role) === parentOf(demand.role) && consumption.above(task.role);
    candidates.push({
      task,
      key: [
        borrowing ? 0 : 1,
        rank[0],
        rank[1],
        -task.startedAt,
        -(plan.aboveFair.get(task.role) ?? 0),
      ],
    });
  }
  candidates.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) {
      const d = a.key[i]! - b.key[i]!;
      if (d !== 0) return d;
    }
    return a.task.taskId < b.task.taskId ? -1 : a.task.taskId > b.task.taskId ? 1 : 0;
  });
  const free = offerableTo(agent.free, demand.role);
  let missing = demand.resources.subtractSaturating(free);
  if (missing.isEmpty()) return [];
  const removed = new Map<string, Resources>();
  const taken: RunningTask[] = [];
  const keeps = (task: RunningTask, extra: Resources): boolean => {
    for (const path of selfAndAncestors(task.role)) {
      if (chainOfDemand.has(path)) continue;
      const before = removed.get(path);
      const after = before === undefined ? extra : before.add(extra);
      if (!consumption.keepsGuarantee(path, after)) return false;
    }
    return true;
  };
  for (const { task } of candidates) {
    const gives = offerableTo(task.resources, demand.role);
    if (!missing.names().some((name) => gives.scalar(name) > 0)) continue;
    const q = unreservedScalars(task.resources);
    if (!keeps(task, q)) continue;
    for (const path of selfAndAncestors(task.role)) {
      const before = removed.get(path);
      removed.set(path, before === undefined ? q : before.add(q));
    }
    taken.push(task);
    missing = missing.subtractSaturating(gives);
    if (missing.isEmpty()) break;
  }
  if (!missing.isEmpty()) return undefined;
  // give back what is not needed, the last taken first
  const fits = (set: readonly RunningTask[]) => {
    let sum = free;
    for (const t of set) sum = sum.add(offerableTo(t.resources, demand.role));
    return sum.contains(demand.resources);
  };
  let kept = taken;
  for (let i = taken.length - 1; i >= 0; i--) {
    const without = kept.filter((t) => t !== taken[i]);
    if (without.length > 0 && fits(without)) kept = without;
  }
  return fits(kept) ? kept : undefined;
}

/** An agent with the victims it would take. */
interface AgentChoice {
  readonly agent: PreemptionAgent;
  readonly victims: RunningTask[];
  /** The highest rank among the victims. */
  readonly top: Rank;
  /** The victims' summed dominant share. */
  readonly size: number;
  /** When the oldest victim started. */
  readonly oldest: number;
}

function choiceOf(plan: Plan, agent: PreemptionAgent, victims: RunningTask[]): AgentChoice {
  let top: Rank = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  let size = 0;
  let oldest = Number.POSITIVE_INFINITY;
  for (const v of victims) {
    const r = rankOf(plan, v.role, v.frameworkId);
    if (compareRank(r, top) > 0) top = r;
    size += dominantShare(v.resources, plan.context.total);
    oldest = Math.min(oldest, v.startedAt);
  }
  return { agent, victims, top, size, oldest };
}

/** The better agent first: lower top rank, fewer victims, less preempted, more recent victims. */
function compareChoices(a: AgentChoice, b: AgentChoice): number {
  return (
    compareRank(a.top, b.top) ||
    a.victims.length - b.victims.length ||
    a.size - b.size ||
    b.oldest - a.oldest
  );
}

/** Whether the demand may preempt at all, and by which rule first. */
function rulesFor(plan: Plan, demand: Demand, framework: FrameworkStanding): PreemptionRule[] {
  const { context, consumption, input } = plan;
  if (!framework.active || framework.suppressedRoles.includes(demand.role)) return [];
  if (!framework.roles.includes(demand.role)) return [];
  const q = unreservedScalars(demand.resources);
  if (!withinLimits(context, consumption, demand.role, q)) return [];
  const rules: PreemptionRule[] = [];
  if (belowGuarantee(context, consumption, demand.role, q)) rules.push("guarantee");
  if (input.byPriority) rules.push("priority");
  return rules;
}

/**
 * Plans the preemptions for `input.demands` (in their order; with priorities,
 * the highest-ranked demand first). Pure: nothing is modified.
 */
export function planPreemptions(context: AllocationContext, input: PreemptionInput): Preemption[] {
  if (input.demands.length === 0 || input.agents.length === 0) return [];
  const frameworks = new Map(context.frameworks.map((f) => [f.frameworkId, f]));
  const plan: Plan = {
    context,
    input,
    consumption: new Consumption(context),
    frameworks,
    aboveFair: fairness(context),
    taken: new Set(),
    usedAgents: new Set(),
  };
  const demands = input.demands.slice();
  if (input.byPriority) {
    demands.sort((a, b) =>
      compareRank(rankOf(plan, b.role, b.frameworkId), rankOf(plan, a.role, a.frameworkId)),
    );
  }
  const out: Preemption[] = [];
  for (const demand of demands) {
    const framework = frameworks.get(demand.frameworkId);
    if (framework === undefined || demand.resources.isEmpty()) continue;
    // servable from free resources: no preemption
    const servable = input.agents.some(
      (a) =>
        offerableTo(a.free, demand.role).contains(demand.resources) &&
        !isFilteredFor(framework, a.agentId, demand.resources, context.now, demand.role),
    );
    if (servable) continue;
    for (const rule of rulesFor(plan, demand, framework)) {
      let best: AgentChoice | undefined;
      for (const agent of input.agents) {
        if (plan.usedAgents.has(agent.agentId)) continue;
        if (isFilteredFor(framework, agent.agentId, demand.resources, context.now, demand.role)) {
          continue;
        }
        const victims = victimsOn(plan, demand, agent, rule);
        if (victims === undefined || victims.length === 0) continue;
        const choice = choiceOf(plan, agent, victims);
        if (best === undefined || compareChoices(choice, best) < 0) best = choice;
      }
      if (best === undefined) continue;
      plan.usedAgents.add(best.agent.agentId);
      for (const v of best.victims) {
        plan.taken.add(v);
        plan.consumption.add(v.role, v.resources, -1);
      }
      plan.consumption.add(demand.role, demand.resources, 1);
      out.push({
        demandId: demand.id,
        frameworkId: demand.frameworkId,
        role: demand.role,
        agentId: best.agent.agentId,
        rule,
        victims: best.victims,
      });
      break;
    }
  }
  return out;
}

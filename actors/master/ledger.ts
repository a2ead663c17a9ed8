/**
 * Resource accounting. For every agent, total = free + offered + used, where
 * `offered` is the sum of its outstanding offers and `used` the sum of its
 * accounted tasks plus their custom executors (each executor once). The same
 * sums are kept per framework and role. Every change of `offered` or `used`
 * goes through this file; {@link checkInvariants} recomputes everything from
 * the records and reports any difference.
 */
import { Resources } from "../../protocol/resources.ts";
import { checkFilters } from "./filters.ts";
import type {
  AgentEntry,
  ExecutorEntry,
  FrameworkEntry,
  MasterContext,
  OfferEntry,
  TaskEntry,
} from "./model.ts";
import type { RoleSums } from "./sums.ts";

/** The key of a custom executor on an agent. */
export function executorKey(frameworkId: string, executorId: string): string {
  return `${frameworkId}\u0000${executorId}`;
}

// A framework's sums span agents, so they hold quantities (scalars only): the same port
// range on two agents is two different resources, which a range set would merge into one.
function addTo(map: Map<string, Resources>, role: string, r: Resources): void {
  const quantity = r.quantities();
  if (quantity.isEmpty()) return;
  map.set(role, (map.get(role) ?? Resources.empty()).add(quantity));
}

export { freeOf } from "./pool.ts";

/** Counts a new outstanding offer. */
export function addOffered(
  ctx: MasterContext,
  agent: AgentEntry,
  framework: FrameworkEntry,
  offer: OfferEntry,
): void {
  agent.offered = agent.offered.add(offer.resources);
  framework.offered.add(offer.role, offer.resources);
  if (agent.offers === undefined) agent.offers = [offer];
  else agent.offers.push(offer);
  framework.offers.add(offer);
  ctx.pool.touch(agent);
}

/** Uncounts an offer that ended. */
export function removeOffered(
  ctx: MasterContext,
  agent: AgentEntry | undefined,
  framework: FrameworkEntry | undefined,
  offer: OfferEntry,
): void {
  const at = agent?.offers?.indexOf(offer) ?? -1;
  if (agent !== undefined && at !== -1) {
    if (agent.offers!.length === 1) agent.offers = undefined;
    else agent.offers!.splice(at, 1);
    agent.offered = agent.offered.subtractSaturating(offer.resources);
    ctx.pool.touch(agent);
  }
  if (framework?.offers.delete(offer)) {
    framework.offered.subtract(offer.role, offer.resources);
  }
}

/** Records a task on its agent (not accounted yet). */
export function addAgentTask(agent: AgentEntry, task: TaskEntry): void {
  if (agent.tasks === undefined) agent.tasks = new Set([task]);
  else agent.tasks.add(task);
}

/** Forgets a completed task on its agent. */
export function removeAgentTask(agent: AgentEntry | undefined, task: TaskEntry): void {
  if (agent?.tasks?.delete(task) && agent.tasks.size === 0) agent.tasks = undefined;
}

/**
 * Counts a task's resources (and, for the first task of a custom executor on
 * the agent, the executor's) as used.
 */
export function accountTask(
  ctx: MasterContext,
  agent: AgentEntry,
  framework: FrameworkEntry,
  task: TaskEntry,
  executorResources: Resources | undefined,
): void {
  if (task.accounted) return;
  if (task.executorKey !== undefined) {
    agent.executors ??= new Map();
    let executor = agent.executors.get(task.executorKey);
    if (executor === undefined) {
      executor = {
        frameworkId: task.frameworkId,
        executorId: task.executorId ?? task.taskId,
        role: task.role,
        resources: executorResources ?? Resources.empty(),
        tasks: 0,
      } satisfies ExecutorEntry;
      agent.executors.set(task.executorKey, executor);
      agent.used = agent.used.add(executor.resources);
      framework.used.add(executor.role, executor.resources);
    }
    executor.tasks += 1;
  }
  agent.used = agent.used.add(task.resources);
  framework.used.add(task.role, task.resources);
  task.accounted = true;
  ctx.pool.touch(agent);
}

/** Uncounts a task's resources (and its executor's when it was the executor's last task). */
export function releaseTask(
  ctx: MasterContext,
  agent: AgentEntry | undefined,
  framework: FrameworkEntry | undefined,
  task: TaskEntry,
): void {
  if (!task.accounted) return;
  task.accounted = false;
  let executorReleased: ExecutorEntry | undefined;
  if (task.executorKey !== undefined && agent?.executors !== undefined) {
    const executor = agent.executors.get(task.executorKey);
    if (executor !== undefined) {
      executor.tasks -= 1;
      if (executor.tasks <= 0) {
        agent.executors.delete(task.executorKey);
        if (agent.executors.size === 0) agent.executors = undefined;
        executorReleased = executor;
      }
    }
  }
  if (agent !== undefined) {
    agent.used = agent.used.subtractSaturating(task.resources);
    if (executorReleased) agent.used = agent.used.subtractSaturating(executorReleased.resources);
    ctx.pool.touch(agent);
  }
  if (framework !== undefined) {
    framework.used.subtract(task.role, task.resources);
    if (executorReleased) {
      framework.used.subtract(executorReleased.role, executorReleased.resources);
    }
  }
}

/** A framework's allocation (used plus offered) per role. */
export function allocationOf(framework: FrameworkEntry): Record<string, Resources> {
  const out: Record<string, Resources> = {};
  for (const [role, r] of framework.used) out[role] = r;
  for (const [role, r] of framework.offered) out[role] = (out[role] ?? Resources.empty()).add(r);
  return out;
}

/** A framework's allocation over all roles. */
export function totalAllocationOf(framework: FrameworkEntry): Resources {
  let sum = Resources.empty();
  for (const r of framework.used.values()) sum = sum.add(r);
  for (const r of framework.offered.values()) sum = sum.add(r);
  return sum;
}

/**
 * Recomputes every sum from the offers and tasks and compares: a list of
 * violations, empty when the books balance. A debugging aid for tests.
 */
export function checkInvariants(ctx: MasterContext): string[] {
  const problems: string[] = [];
  const agentOffered = new Map<string, Resources>();
  const agentUsed = new Map<string, Resources>();
  const fwOffered = new Map<string, Map<string, Resources>>();
  const fwUsed = new Map<string, Map<string, Resources>>();
  const perFramework = (m: Map<string, Map<string, Resources>>, id: string) => {
    const inner = m.get(id);
    if (inner !== undefined) return inner;
    const created = new Map<string, Resources>();
    m.set(id, created);
    return created;
  };
  for (const offer of ctx.offers.values()) {
    agentOffered.set(
      offer.agentId,
      (agentOffered.get(offer.agentId) ?? Resources.empty()).add(offer.resources),
    );
    addTo(perFramework(fwOffered, offer.frameworkId), offer.role, offer.resources);
    if (!ctx.agents.get(offer.agentId)?.offers?.includes(offer)) {
      problems.push(`offer ${offer.offerId} is not indexed on agent ${offer.agentId}`);
    }
    if (!ctx.frameworks.get(offer.frameworkId)?.offers.has(offer)) {
      problems.push(`offer ${offer.offerId} is not indexed on framework ${offer.frameworkId}`);
    }
  }
  for (const agent of ctx.agents.values()) {
    const executorsSeen = new Set<string>();
    let used = Resources.empty();
    for (const task of agent.tasks ?? []) {
      if (!task.accounted) continue;
      used = used.add(task.resources);
      addTo(perFramework(fwUsed, task.frameworkId), task.role, task.resources);
      if (task.executorKey !== undefined && !executorsSeen.has(task.executorKey)) {
        executorsSeen.add(task.executorKey);
        const executor = agent.executors?.get(task.executorKey);
        if (executor === undefined) {
          problems.push(`agent ${agent.id}: executor of task ${task.taskId} is not counted`);
        } else {
          used = used.add(executor.resources);
          addTo(perFramework(fwUsed, task.frameworkId), executor.role, executor.resources);
        }
      }
    }
    agentUsed.set(agent.id, used);
    const offered = agentOffered.get(agent.id) ?? Resources.empty();
    if (!offered.equals(agent.offered)) {
      problems.push(`agent ${agent.id}: offered ${agent.offered} but its offers sum to ${offered}`);
    }
    if (!used.equals(agent.used)) {
      problems.push(`agent ${agent.id}: used ${agent.used} but its tasks sum to ${used}`);
    }
    if (!agent.total.contains(agent.offered.add(agent.used))) {
      problems.push(
        `agent ${agent.id}: offered ${agent.offered} plus used ${agent.used} exceed total ${agent.total}`,
      );
    }
  }
  const sameMap = (a: RoleSums, b: Map<string, Resources> | undefined) => {
    const other = b ?? new Map<string, Resources>();
    if (a.size !== other.size) return false;
    for (const [role, r] of a) if (!other.get(role)?.equals(r)) return false;
    return true;
  };
  for (const agent of ctx.agents.values()) {
    if (agent.tasks?.size === 0 || agent.executors?.size === 0 || agent.offers?.length === 0) {
      problems.push(`agent ${agent.id}: an empty collection is kept`);
    }
  }
  problems.push(...ctx.pool.check(ctx.agents.values()));
  for (const framework of ctx.frameworks.values()) {
    problems.push(...checkFilters(framework));
    if (!sameMap(framework.offered, fwOffered.get(framework.id))) {
      problems.push(`framework ${framework.id}: offered per role does not match its offers`);
    }
    if (!sameMap(framework.used, fwUsed.get(framework.id))) {
      problems.push(`framework ${framework.id}: used per role does not match its tasks`);
    }
  }
  return problems;
}

/**
 * Preemption planning (policies/preempt.ts): exact victims for the rules
 * (priority, guarantee, borrowed first, most recent first, never below a
 * guarantee, never for a demand that would not fit), and a randomized run of
 * many cycles checking that no task is preempted twice for the same demand,
 * that no two frameworks preempt each other back and forth, and that every
 * plan frees enough for its demand.
 */
import test from "ava";
import fc from "fast-check";
import { type Demand, planPreemptions, type RunningTask } from "../../../policies/preempt.ts";
import type {
  AllocationContext,
  FrameworkStanding,
  RoleStanding,
} from "../../../policies/types.ts";
import { Resources } from "../../../protocol/resources.ts";
import { R } from "./helpers.ts";

interface World {
  agents: Array<{ agentId: string; total: Resources }>;
  tasks: RunningTask[];
  frameworks: Array<{ id: string; role: string; priority?: number }>;
  roles: Record<string, RoleStanding>;
}

function task(
  taskId: string,
  frameworkId: string,
  role: string,
  agentId: string,
  resources: string,
  startedAt = 0,
): RunningTask {
  return { taskId, frameworkId, role, agentId, resources: R(resources), startedAt };
}

function contextOf(world: World): AllocationContext {
  let total = Resources.empty();
  for (const a of world.agents) total = total.add(a.total);
  const frameworks: FrameworkStanding[] = world.frameworks.map((f) => {
    const allocation: Record<string, Resources> = {};
    for (const t of world.tasks) {
      if (t.frameworkId === f.id) {
        allocation[t.role] = (allocation[t.role] ?? Resources.empty()).add(t.resources);
      }
    }
    return {
      frameworkId: f.id,
      roles: [f.role],
      active: true,
      allocation,
      suppressedRoles: [],
      filters: [],
      ...(f.priority === undefined ? {} : { priority: f.priority }),
    };
  });
  const agents = world.agents.map((a) => ({
    agentId: a.agentId,
    hostname: a.agentId,
    total: a.total,
    free: a.total.subtractSaturating(
      world.tasks
        .filter((t) => t.agentId === a.agentId)
        .reduce((sum, t) => sum.add(t.resources), Resources.empty()),
    ),
  }));
  return { now: 1000, total, agents, frameworks, roles: world.roles };
}

function plan(world: World, demands: Demand[], byPriority: boolean) {
  const context = contextOf(world);
  const agents = context.agents.map((a) => ({
    agentId: a.agentId,
    free: a.free,
    tasks: world.tasks.filter((t) => t.agentId === a.agentId),
  }));
  return planPreemptions(context, { demands, agents, byPriority });
}

const demand = (id: string, frameworkId: string, role: string, resources: string): Demand => ({
  id,
  frameworkId,
  role,
  resources: R(resources),
});

const names = (p: ReturnType<typeof plan>) =>
  p.map((x) => `${x.demandId}@${x.agentId}:${x.rule}:${x.victims.map((v) => v.taskId).join(",")}`);

function twoAgents(): World["agents"] {
  return [
    { agentId: "a1", total: R("cpus:4;mem:4096") },
    { agentId: "a2", total: R("cpus:4;mem:4096") },
  ];
}

test("priority: the lowest priority goes first, then the most recently started", (t) => {
  const world: World = {
    agents: twoAgents(),
    frameworks: [
      { id: "batch", role: "batch" },
      { id: "dev", role: "dev" },
      { id: "prod", role: "prod" },
    ],
    roles: { prod: { weight: 1, priority: 10 }, dev: { weight: 1, priority: 5 } },
    tasks: [
      task("d1", "dev", "dev", "a1", "cpus:2;mem:2048", 1),
      task("d2", "dev", "dev", "a1", "cpus:2;mem:2048", 2),
      task("b1", "batch", "batch", "a2", "cpus:2;mem:2048", 1),
      task("b2", "batch", "batch", "a2", "cpus:2;mem:2048", 2),
    ],
  };
  // batch has priority 0 < dev's 5: its newest task goes
  t.deepEqual(names(plan(world, [demand("p#1", "prod", "prod", "cpus:2;mem:1024")], true)), [
    "p#1@a2:priority:b2",
  ]);
  // a demand of 3 cpus needs both batch tasks
  t.deepEqual(names(plan(world, [demand("p#1", "prod", "prod", "cpus:3;mem:1024")], true)), [
    "p#1@a2:priority:b2,b1",
  ]);
  // dev (5) may take only from batch (0); prod's own tasks are never victims
  t.deepEqual(names(plan(world, [demand("d#1", "dev", "dev", "cpus:1")], true)), [
    "d#1@a2:priority:b2",
  ]);
  // batch outranks nobody
  t.deepEqual(plan(world, [demand("b#1", "batch", "batch", "cpus:1")], true), []);
  // without priorities (drf) nobody is below a guarantee: nothing
  t.deepEqual(plan(world, [demand("p#1", "prod", "prod", "cpus:1")], false), []);
});

test("never for a demand that would not fit, nor one free resources serve, nor beyond a limit", (t) => {
  const world: World = {
    agents: twoAgents(),
    frameworks: [
      { id: "low", role: "low" },
      { id: "high", role: "high" },
    ],
    roles: { high: { weight: 1, priority: 1, quota: { limit: R("cpus:2") } } },
    tasks: [
      task("l1", "low", "low", "a1", "cpus:4;mem:4096"),
      task("l2", "low", "low", "a2", "cpus:3;mem:3072"),
    ],
  };
  // 5 cpus fit on no agent even with every victim gone
  t.deepEqual(plan(world, [demand("h#1", "high", "high", "cpus:5")], true), []);
  // 1 cpu is free on a2
  t.deepEqual(plan(world, [demand("h#1", "high", "high", "cpus:1")], true), []);
  // beyond the limit of high (2 cpus): it would never be offered
  t.deepEqual(plan(world, [demand("h#1", "high", "high", "cpus:3")], true), []);
  // 2 cpus: a2's free cpu plus l2
  t.deepEqual(names(plan(world, [demand("h#1", "high", "high", "cpus:2")], true)), [
    "h#1@a2:priority:l2",
  ]);
});

test("guarantee: a role below its guarantee takes from a role above its own, never below it", (t) => {
  const world: World = {
    agents: twoAgents(),
    frameworks: [
      { id: "web", role: "web" },
      { id: "ci", role: "ci" },
      { id: "ml", role: "ml" },
    ],
    roles: {
      web: { weight: 1, quota: { guarantee: R("cpus:4") } },
      ml: { weight: 1, quota: { guarantee: R("cpus:2") } },
    },
    tasks: [
      task("m1", "ml", "ml", "a1", "cpus:2;mem:1024", 5),
      task("c1", "ci", "ci", "a1", "cpus:2;mem:1024", 1),
      task("c2", "ci", "ci", "a2", "cpus:2;mem:1024", 2),
      task("m2", "ml", "ml", "a2", "cpus:2;mem:1024", 6),
    ],
  };
  // ml holds 4 > its guarantee 2: one of its tasks may go, not both; ci has none: it may lose all
  t.deepEqual(names(plan(world, [demand("w#1", "web", "web", "cpus:4")], false)), [
    "w#1@a2:guarantee:m2,c2",
  ]);
  // 2 cpus: the most recently started task of a role above its guarantee (m2, t=6)
  t.deepEqual(names(plan(world, [demand("w#1", "web", "web", "cpus:2")], false)), [
    "w#1@a2:guarantee:m2",
  ]);
  // beyond its guarantee (web would hold 6 > 4): no preemption for the guarantee
  const over: World = {
    ...world,
    tasks: [...world.tasks, task("w0", "web", "web", "a1", "cpus:3")],
  };
  t.deepEqual(plan(over, [demand("w#2", "web", "web", "cpus:2")], false), []);
  // two demands in one plan: each agent and each task serves one
  t.deepEqual(
    names(
      plan(
        world,
        [demand("w#1", "web", "web", "cpus:2"), demand("w#2", "web", "web", "cpus:2")],
        false,
      ),
    ),
    ["w#1@a2:guarantee:m2", "w#2@a1:guarantee:c1"],
  );
});

test("borrowed resources are the first reclaimed when the lender's demand returns", (t) => {
  const world: World = {
    agents: [{ agentId: "a1", total: R("cpus:8;mem:8192") }],
    frameworks: [
      { id: "a", role: "team/a" },
      { id: "b", role: "team/b" },
      { id: "x", role: "other" },
    ],
    roles: {
      "team/a": { weight: 1, quota: { guarantee: R("cpus:4"), lendingLimit: R("cpus:4") } },
      "team/b": { weight: 1, quota: { guarantee: R("cpus:1") } },
    },
    tasks: [
      // other: no guarantee, the most recent task
      task("x1", "x", "other", "a1", "cpus:2", 9),
      // team/b borrows a's guarantee: above its own (1)
      task("b1", "b", "team/b", "a1", "cpus:1", 1),
      task("b2", "b", "team/b", "a1", "cpus:2", 2),
      task("b3", "b", "team/b", "a1", "cpus:2", 3),
    ],
  };
  // 1 cpu is free; a needs 2: b's newest borrowed task goes before x1 (newer, not borrowing)
  t.deepEqual(names(plan(world, [demand("a#1", "a", "team/a", "cpus:2")], false)), [
    "a#1@a1:guarantee:b3",
  ]);
});

test("decline filters of the demander keep an agent out", (t) => {
  const world: World = {
    agents: twoAgents(),
    frameworks: [
      { id: "low", role: "svc" },
      { id: "other", role: "other", priority: 0 },
      { id: "high", role: "svc", priority: 1 },
    ],
    roles: {},
    tasks: [
      task("l1", "low", "svc", "a1", "cpus:4;mem:4096", 2),
      task("l2", "low", "svc", "a2", "cpus:2;mem:2048", 1),
      task("o1", "other", "other", "a2", "cpus:2;mem:2048", 3),
    ],
  };
  const context = contextOf(world);
  const filtered: AllocationContext = {
    ...context,
    frameworks: context.frameworks.map((f) =>
      f.frameworkId === "high"
        ? { ...f, filters: [{ agentId: "a1", resources: R("cpus:4;mem:4096"), expiresAt: 5000 }] }
        : f,
    ),
  };
  const agents = context.agents.map((a) => ({
    agentId: a.agentId,
    free: a.free,
    tasks: world.tasks.filter((x) => x.agentId === a.agentId),
  }));
  // within one role the framework priority counts (1 > 0); across roles of equal priority it
  // does not: o1 (role other) is no victim of high
  const p = planPreemptions(filtered, {
    demands: [demand("h#1", "high", "svc", "cpus:1")],
    agents,
    byPriority: true,
  });
  t.deepEqual(names(p), ["h#1@a2:priority:l2"]);
});

/** The master's loop, in miniature: one round per demand, victims ask again. */
test("randomized: many cycles, no task preempted twice for one demand, no back and forth", (t) => {
  const arbitrary = fc.record({
    priorities: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 5 }),
    guarantees: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 5, maxLength: 5 }),
    byPriority: fc.boolean(),
    sizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 40, maxLength: 40 }),
    owners: fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
  });
  let counted = 0;
  fc.assert(
    fc.property(arbitrary, ({ priorities, guarantees, byPriority, sizes, owners }) => {
      const frameworks = priorities.map((_, i) => ({ id: `f${i}`, role: `r${i}` }));
      const roles: Record<string, RoleStanding> = {};
      priorities.forEach((p, i) => {
        const g = guarantees[i] ?? 0;
        roles[`r${i}`] = {
          weight: 1,
          priority: p,
          ...(g > 0 ? { quota: { guarantee: R(`cpus:${g}`) } } : {}),
        };
      });
      const agents = [0, 1, 2].map((i) => ({ agentId: `a${i}`, total: R("cpus:4;mem:4096") }));
      const world: World = { agents, frameworks, roles, tasks: [] };
      let seq = 0;
      let startedAt = 0;
      // fill the cluster first-fit
      for (let i = 0; i < sizes.length; i++) {
        const owner = frameworks[(owners[i] ?? 0) % frameworks.length]!;
        const want = R(`cpus:${sizes[i]}`);
        const ctx = contextOf(world);
        const slot = ctx.agents.find((a) => a.free.contains(want));
        if (slot === undefined) continue;
        world.tasks.push(
          task(`t${seq++}`, owner.id, owner.role, slot.agentId, `cpus:${sizes[i]}`, startedAt++),
        );
      }
      // every framework asks for one more task
      let demands: Demand[] = frameworks.map((f, i) =>
        demand(`${f.id}#${seq++}`, f.id, f.role, `cpus:${sizes[i] ?? 1}`),
      );
      const spent = new Set<string>();
      const killedFor = new Map<string, string>();
      const preempted: Array<[string, string]> = [];
      for (let cycle = 0; cycle < 50 && demands.length > 0; cycle++) {
        const ready = demands.filter((d) => !spent.has(d.id));
        const rounds = plan(world, ready, byPriority);
        if (rounds.length === 0) break;
        const next: Demand[] = demands.filter((d) => !rounds.some((r) => r.demandId === d.id));
        for (const round of rounds) {
          counted += 1;
          spent.add(round.demandId);
          const free = contextOf(world).agents.find((a) => a.agentId === round.agentId)!.free;
          const freed = round.victims.reduce((sum, v) => sum.add(v.resources), free);
          const d = demands.find((x) => x.id === round.demandId)!;
          t.true(freed.contains(d.resources), "a round frees enough for its whole demand");
          for (const victim of round.victims) {
            t.false(killedFor.has(victim.taskId), `task ${victim.taskId} preempted twice`);
            killedFor.set(victim.taskId, round.demandId);
            preempted.push([round.frameworkId, victim.frameworkId]);
            world.tasks = world.tasks.filter((x) => x !== victim);
            // the victim's framework asks again for what it lost
            const owner = frameworks.find((f) => f.id === victim.frameworkId)!;
            next.push(
              demand(`${owner.id}#${seq++}`, owner.id, owner.role, victim.resources.toString()),
            );
          }
          world.tasks.push(
            task(
              `t${seq++}`,
              d.frameworkId,
              d.role,
              round.agentId,
              d.resources.toString(),
              startedAt++,
            ),
          );
        }
        demands = next;
      }
      // no two frameworks preempted each other back and forth
      const pairs = new Set(preempted.map(([a, b]) => `${a}>${b}`));
      for (const [a, b] of preempted)
        t.false(pairs.has(`${b}>${a}`), `${a} and ${b} preempt each other`);
      // the rounds ended: the loop did not use all its cycles
      t.true(
        demands.every((d) => spent.has(d.id)) ||
          plan(
            world,
            demands.filter((d) => !spent.has(d.id)),
            byPriority,
          ).length === 0,
      );
    }),
    { numRuns: 150, seed: 14 },
  );
  t.true(counted > 100, `the runs preempted (${counted} rounds)`);
});

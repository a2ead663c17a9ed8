import test from "ava";
import fc from "fast-check";
import { buildContext } from "../../../actors/master/allocator.ts";
import { freeOf } from "../../../actors/master/ledger.ts";
import type { MasterContext } from "../../../actors/master/model.ts";
import { ResourceSum, RoleSums } from "../../../actors/master/sums.ts";
import { isAllocatable } from "../../../policies/allocatable.ts";
import type { RunningTask } from "../../../protocol/agents.ts";
import type { ResourcesJson, TaskState } from "../../../protocol/common.ts";
import { Resources } from "../../../protocol/resources.ts";
import { acceptCall, Harness, task } from "./harness.ts";

const AGENT_TYPES: ResourcesJson[] = [
  { cpus: 4, mem: 4096, ports: [[31000, 31009]] },
  { cpus: 2, mem: 1024 },
  { cpus: 8, mem: 8192, disk: 1000, "cpus(web)": 2, ports: [[31005, 31020]] },
  { cpus: 0.005, mem: 16 },
];

/** What the pool must agree with: the agents and total recomputed from every record. */
function reference(ctx: MasterContext) {
  const now = ctx.clock.now();
  let total = Resources.empty();
  const agents: string[] = [];
  for (const agent of ctx.agents.values()) {
    if (agent.status !== "active") continue;
    total = total.add(agent.total);
    const free = freeOf(agent);
    const eligible = agent.contacted || now - agent.registeredAt >= ctx.config.allocationInterval;
    if (eligible && !free.isEmpty() && isAllocatable(free)) {
      agents.push(`${agent.id}=${free}`);
    }
  }
  return { total: `${total}`, agents };
}

const opArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("agent" as const), type: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("framework" as const), web: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("cycle" as const) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("accept" as const),
      pick: fc.nat(),
      cpus: fc.constantFrom(0.5, 1, 2),
      refuse: fc.constantFrom(0, 5),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("decline" as const),
      pick: fc.nat(),
      refuse: fc.constantFrom(0, 1, 60),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("update" as const),
      pick: fc.nat(),
      state: fc.constantFrom<TaskState>("TASK_RUNNING", "TASK_FINISHED", "TASK_FAILED"),
      ack: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("silence" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("reregister" as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("time" as const),
      ms: fc.constantFrom(300, 1200, 4000),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("revive" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("teardown" as const), pick: fc.nat() }) },
);

function pick<T>(items: readonly T[], n: number): T | undefined {
  return items.length === 0 ? undefined : items[n % items.length];
}

test("pool - the incremental total, candidates, sums and filters equal a full recomputation", (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 20, maxLength: 80 }), (ops) => {
      const h = new Harness({ agentRemovalTimeout: 5000 });
      const frameworks: string[] = [h.addFramework()];
      h.addAgent(AGENT_TYPES[0]!);
      let seq = 0;
      const tasks: Array<{ fid: string; aid: string; taskId: string; uuid?: string }> = [];
      for (const step of ops) {
        switch (step.op) {
          case "agent":
            h.addAgent(AGENT_TYPES[step.type]!, `host${step.type}`);
            break;
          case "framework":
            frameworks.push(h.addFramework(step.web ? { roles: ["web", "*"] } : {}));
            break;
          case "cycle":
            h.flush();
            h.core.allocator.run();
            break;
          case "accept":
          case "decline": {
            const fid = pick(frameworks, step.pick);
            const framework = fid === undefined ? undefined : h.ctx.frameworks.get(fid);
            const offer = framework && pick(Array.from(framework.offers), step.pick);
            if (fid === undefined || offer === undefined) break;
            if (step.op === "decline") {
              h.call(fid, {
                type: "scheduler.decline",
                offerIds: [offer.offerId],
                filters: { refuseSeconds: step.refuse },
              });
              break;
            }
            const taskId = `t${seq++}`;
            h.call(
              fid,
              acceptCall(
                [offer.offerId],
                [task(taskId, offer.agentId, { cpus: step.cpus, mem: 128 })],
                step.refuse,
              ),
            );
            if (h.ctx.frameworks.get(fid)?.tasks.has(taskId)) {
              tasks.push({ fid, aid: offer.agentId, taskId });
            }
            break;
          }
          case "update": {
            const entry = pick(tasks, step.pick);
            if (entry === undefined || !h.ctx.agents.has(entry.aid)) break;
            const uuid = `u${seq++}`;
            try {
              h.update(entry.aid, entry.fid, { taskId: entry.taskId, state: step.state, uuid });
            } catch {
              break; // the agent or framework is gone or not active
            }
            if (step.ack) {
              try {
                h.call(entry.fid, {
                  type: "scheduler.acknowledge",
                  agentId: entry.aid,
                  taskId: entry.taskId,
                  uuid,
                });
              } catch {
                // the framework is gone
              }
            }
            break;
          }
          case "silence": {
            const aid = pick(Array.from(h.alive.agents), step.pick);
            if (aid !== undefined) h.alive.agents.delete(aid);
            break;
          }
          case "reregister": {
            const agent = pick(Array.from(h.ctx.agents.values()), step.pick);
            if (agent === undefined || agent.status !== "unreachable") break;
            const running: RunningTask[] = [];
            for (const live of agent.tasks ?? []) {
              if (live.state !== "TASK_RUNNING") continue;
              running.push({
                frameworkId: live.frameworkId,
                executorId: live.taskId,
                role: live.role,
                task: task(live.taskId, agent.id, live.resources.toJSON()),
                status: { taskId: live.taskId, state: "TASK_RUNNING", timestamp: h.clock.now() },
              });
            }
            h.agent(
              agent.id,
              {
                type: "agent.reregister",
                agentId: agent.id,
                hostname: agent.hostname,
                resources: agent.total.toJSON(),
                attributes: {},
                tasks: running,
              },
              true,
            );
            h.alive.agents.add(agent.id);
            break;
          }
          case "time":
            h.advance(step.ms);
            break;
          case "revive": {
            const fid = pick(frameworks, step.pick);
            if (fid !== undefined && h.ctx.frameworks.get(fid)?.status === "subscribed") {
              h.call(fid, { type: "scheduler.revive" });
            }
            break;
          }
          case "teardown": {
            const fid = pick(frameworks, step.pick);
            if (fid !== undefined && h.ctx.frameworks.get(fid)?.status === "subscribed") {
              h.call(fid, { type: "scheduler.teardown" });
            }
            break;
          }
        }
        t.deepEqual(h.invariants(), [], `after ${JSON.stringify(step)}`);
        const expected = reference(h.ctx);
        const context = buildContext(h.ctx);
        t.is(`${context.total}`, expected.total);
        t.deepEqual(
          context.agents.map((a) => `${a.agentId}=${a.free}`),
          expected.agents,
        );
      }
    }),
    { numRuns: 120 },
  );
});

test("pool - a resource sum takes parts out again, ranges included", (t) => {
  const partArb = fc.constantFrom(
    ...[
      "cpus:1;mem:128",
      "cpus:0.5;ports:[31000-31010]",
      "cpus(web):2;mem(web):64;ports:[31005-31020]",
      "disk:10;ports:[40000-40000]",
      "gpus:1",
    ].map((s) => Resources.parse(s)),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(partArb, fc.boolean())), (steps) => {
      const sum = new ResourceSum();
      const held: Resources[] = [];
      for (const [part, remove] of steps) {
        const at = held.indexOf(part);
        if (remove && at !== -1) {
          held.splice(at, 1);
          sum.remove(part);
        } else {
          held.push(part);
          sum.add(part);
        }
        let expected = Resources.empty();
        for (const r of held) expected = expected.add(r);
        t.true(sum.value.equals(expected), `${sum.value} vs ${expected}`);
      }
    }),
  );
});

test("pool - role sums hold quantities and subtract saturating, like resource sets", (t) => {
  const partArb = fc.tuple(
    fc.constantFrom("*", "web", "a/b"),
    fc.constantFrom(
      ...["cpus:1;mem:128", "cpus:0.5;ports:[31000-31010]", "cpus(web):2;disk:5", "mem:64"].map(
        (s) => Resources.parse(s),
      ),
    ),
    fc.boolean(),
  );
  fc.assert(
    fc.property(fc.array(partArb), (steps) => {
      const sums = new RoleSums();
      const expected = new Map<string, Resources>();
      for (const [role, part, subtract] of steps) {
        const q = part.quantities();
        if (subtract) {
          sums.subtract(role, part);
          const current = expected.get(role);
          if (current !== undefined) {
            const rest = current.subtractSaturating(q);
            if (rest.isEmpty()) expected.delete(role);
            else expected.set(role, rest);
          }
        } else {
          sums.add(role, part);
          expected.set(role, (expected.get(role) ?? Resources.empty()).add(q));
        }
        t.is(sums.size, expected.size);
        for (const [r, value] of expected) t.true(sums.get(r)?.equals(value), `${r}: ${value}`);
      }
    }),
  );
});

import test from "ava";
import { type ClusterEvent, UiModel } from "../../../actors/ui/model.ts";
import type { MasterState } from "../../../protocol/operator.ts";

const T = 1_700_000_000_000;

function state(): MasterState {
  return {
    masterId: "m1",
    leader: true,
    startTime: T,
    policy: "drf",
    total: { cpus: 8, mem: 8192 },
    agents: [
      {
        id: "a1",
        hostname: "h1",
        resources: { cpus: 4, mem: 4096, ports: [[31000, 32000]] },
        used: { cpus: 1, mem: 128 },
        offered: { cpus: 3, mem: 3968 },
        attributes: { rack: "r1" },
        active: true,
        status: "active",
      },
      {
        id: "a2",
        hostname: "h2",
        resources: { cpus: 4, mem: 4096 },
        used: {},
        offered: {},
        attributes: {},
        active: true,
        status: "active",
      },
    ],
    frameworks: [
      {
        id: "f1",
        name: "web-fw",
        roles: ["web"],
        active: true,
        used: { cpus: 1, mem: 128 },
        offered: { cpus: 3, mem: 3968 },
        dominantShare: 0.5,
        tasks: [
          {
            id: "t1",
            name: "t1",
            state: "TASK_RUNNING",
            agentId: "a1",
            resources: { cpus: 1, mem: 128 },
          },
          {
            id: "t0",
            name: "t0",
            state: "TASK_FINISHED",
            agentId: "a1",
            resources: { cpus: 1, mem: 128 },
          },
        ],
      },
    ],
    offers: [
      {
        offerId: "o1",
        frameworkId: "f1",
        agentId: "a1",
        role: "web",
        resources: { cpus: 3, mem: 3968 },
        createdAt: T,
      },
    ],
    roles: { web: { weight: 2, allocated: { cpus: 4, mem: 4096 }, dominantShare: 0.5 } },
  };
}

const at = (n: number) => ({ timestamp: T + n });

function loaded(): UiModel {
  const m = new UiModel();
  m.loadState(state(), T);
  return m;
}

test("ui model - a state gives agents, frameworks, tasks, offers and totals", (t) => {
  const m = loaded();
  t.is(m.agents.size, 2);
  t.is(m.agents.get("a1")?.tasks, 1);
  t.deepEqual(m.agents.get("a1")?.total, { cpus: 4, mem: 4096 });
  t.is(m.frameworks.get("f1")?.tasks, 1);
  t.is(m.frameworks.get("f1")?.offers, 1);
  t.is(m.tasks.get("f1/t1")?.role, "web");
  t.deepEqual(m.totals(), {
    total: { cpus: 8, mem: 8192 },
    used: { cpus: 1, mem: 128 },
    offered: { cpus: 3, mem: 3968 },
  });
  t.is(m.master.leaderId, "m1");
  t.deepEqual(m.roleAllocations(), { web: { cpus: 4, mem: 4096 } }, "its task and its offer");
});

test("ui model - a task's life moves the counts of its agent and framework", (t) => {
  const m = loaded();
  const base = {
    frameworkId: "f1",
    agentId: "a2",
    taskId: "t2",
    name: "t2",
    resources: { cpus: 2, mem: 512 },
  };
  t.true(
    m.apply({
      type: "cluster.offerEnded",
      ...at(1),
      offerId: "o1",
      frameworkId: "f1",
      agentId: "a1",
      how: "accepted",
    }),
  );
  t.deepEqual(m.agents.get("a1")?.offered, { cpus: 0, mem: 0 });
  t.is(m.frameworks.get("f1")?.offers, 0);
  t.true(m.apply({ type: "cluster.taskUpdated", ...at(2), ...base, state: "TASK_STAGING" }));
  t.true(
    m.apply({
      type: "cluster.taskUpdated",
      ...at(3),
      ...base,
      state: "TASK_RUNNING",
      previousState: "TASK_STAGING",
    }),
  );
  t.is(m.agents.get("a2")?.tasks, 1);
  t.deepEqual(m.agents.get("a2")?.used, { cpus: 2, mem: 512 });
  t.is(m.frameworks.get("f1")?.tasks, 2);
  t.is(m.tasks.get("f1/t2")?.since, T + 3);
  t.deepEqual(m.roleAllocations().web, { cpus: 3, mem: 640 }, "its tasks; the offer was taken");
  t.true(
    m.apply({
      type: "cluster.taskUpdated",
      ...at(4),
      ...base,
      state: "TASK_FINISHED",
      previousState: "TASK_RUNNING",
    }),
  );
  t.is(m.agents.get("a2")?.tasks, 0);
  t.deepEqual(m.agents.get("a2")?.used, { cpus: 0, mem: 0 });
  t.is(m.frameworks.get("f1")?.tasks, 1);
  t.is(m.tasks.get("f1/t2")?.state, "TASK_FINISHED");
  t.deepEqual(
    m.countBy(m.tasks.values(), (x) => x.state),
    { TASK_RUNNING: 1, TASK_FINISHED: 2 },
  );
});

test("ui model - agents come, become unreachable and go; offers on a removed agent end", (t) => {
  const m = loaded();
  t.true(
    m.apply({
      type: "cluster.agentAdded",
      ...at(1),
      agentId: "a3",
      hostname: "h3",
      resources: { cpus: 2 },
      attributes: {},
    }),
  );
  t.is(m.agents.size, 3);
  t.true(
    m.apply({
      type: "cluster.offersSent",
      ...at(2),
      offers: [
        { offerId: "o2", frameworkId: "f1", agentId: "a3", role: "web", resources: { cpus: 2 } },
      ],
    }),
  );
  t.is(m.totals().offered.cpus, 5);
  t.true(m.apply({ type: "cluster.agentUnreachable", ...at(3), agentId: "a3" }));
  t.is(m.agents.get("a3")?.status, "unreachable");
  t.is(m.totals().total.cpus, 8, "an unreachable agent is not in the total");
  t.true(m.apply({ type: "cluster.agentRemoved", ...at(4), agentId: "a3", reason: "gone" }));
  t.false(m.agents.has("a3"));
  t.false(m.offers.has("o2"));
  t.is(m.frameworks.get("f1")?.offers, 1);
});

test("ui model - a summary of offers places each offer; one on an unknown agent says so", (t) => {
  const m = loaded();
  const before = m.totals().offered.cpus ?? 0;
  t.false(
    m.apply({
      type: "cluster.offersSent",
      ...at(1),
      offers: [
        { offerId: "o7", frameworkId: "f1", agentId: "a2", role: "web", resources: { cpus: 1 } },
        {
          offerId: "o8",
          frameworkId: "f1",
          agentId: "nobody",
          role: "web",
          resources: { cpus: 1 },
        },
      ],
    }),
  );
  t.true(m.offers.has("o7"));
  t.true(m.offers.has("o8"));
  t.is(m.totals().offered.cpus, before + 1, "only the offer on a known agent counts on it");
});

test("ui model - allocation events set the shares; samples record them over time", (t) => {
  const m = loaded();
  m.apply({
    type: "cluster.allocation",
    ...at(1),
    roles: { web: { dominantShare: 0.75 }, batch: { dominantShare: 0.1 } },
    frameworks: { f1: { dominantShare: 0.75, role: "web" } },
  });
  t.is(m.roles.web?.dominantShare, 0.75);
  t.is(m.roles.web?.weight, 2, "settings from the state stay");
  t.is(m.roles.batch?.dominantShare, 0.1);
  t.is(m.frameworks.get("f1")?.dominantShare, 0.75);
  m.apply({ type: "ui.sample", sample: m.sample(T + 5) });
  t.deepEqual(m.samples.at(-1)?.shares, { web: 0.75, batch: 0.1 });
  t.is(m.samples.at(-1)?.total.cpus, 8);
});

test("ui model - events it cannot place say the model missed something", (t) => {
  const m = loaded();
  t.false(
    m.apply({ type: "cluster.agentReregistered", ...at(1), agentId: "nobody", hostname: "x" }),
  );
  // a framework the model holds as connected subscribes again: a new leading master
  t.false(
    m.apply({
      type: "cluster.frameworkAdded",
      ...at(2),
      frameworkId: "f1",
      name: "web-fw",
      roles: ["web"],
    }),
  );
  t.true(m.apply({ type: "cluster.frameworkDisconnected", ...at(3), frameworkId: "f1" }));
  t.false(m.frameworks.get("f1")?.active);
  t.true(
    m.apply({
      type: "cluster.frameworkAdded",
      ...at(4),
      frameworkId: "f1",
      name: "web-fw",
      roles: ["web"],
    }),
  );
  t.false(
    m.apply({
      type: "cluster.taskUpdated",
      ...at(5),
      frameworkId: "f1",
      agentId: "nobody",
      taskId: "tx",
      name: "tx",
      state: "TASK_RUNNING",
      previousState: "TASK_STARTING",
      resources: {},
    }),
  );
});

test("ui model - events already in the state are not counted twice", (t) => {
  const m = loaded();
  m.apply({
    type: "cluster.offersSent",
    ...at(1),
    offers: [
      {
        offerId: "o1",
        frameworkId: "f1",
        agentId: "a1",
        role: "web",
        resources: { cpus: 3, mem: 3968 },
      },
    ],
  });
  t.is(m.totals().offered.cpus, 3);
  m.apply({
    type: "cluster.agentAdded",
    ...at(1),
    agentId: "a1",
    hostname: "h1",
    resources: { cpus: 4, mem: 4096 },
    attributes: {},
  });
  t.deepEqual(m.agents.get("a1")?.used, { cpus: 1, mem: 128 });
  m.apply({
    type: "cluster.taskUpdated",
    ...at(2),
    frameworkId: "f1",
    agentId: "a1",
    taskId: "t1",
    name: "t1",
    state: "TASK_RUNNING",
    previousState: "TASK_STARTING",
    resources: { cpus: 1, mem: 128 },
  });
  t.is(m.agents.get("a1")?.tasks, 1);
});

test("ui model - the snapshot it serves loads into another model as the same view", (t) => {
  const m = loaded();
  m.apply({
    type: "cluster.taskUpdated",
    ...at(1),
    frameworkId: "f1",
    agentId: "a2",
    taskId: "t9",
    name: "t9",
    state: "TASK_RUNNING",
    resources: { cpus: 1 },
  });
  m.seq = 7;
  const copy = new UiModel();
  copy.loadSnapshot(JSON.parse(JSON.stringify(m.snapshot())));
  const json = (x: UiModel) => JSON.parse(JSON.stringify(x.snapshot())) as unknown;
  t.deepEqual(json(copy), json(m));
  t.is(copy.seq, 7);
});

test("ui model - completed tasks beyond the limit are forgotten oldest first; the log is bounded", (t) => {
  const m = new UiModel({ completedTasks: 2, events: 3 });
  m.loadState(state(), T);
  for (let i = 0; i < 4; i++) {
    const event: ClusterEvent = {
      type: "cluster.taskUpdated",
      ...at(i),
      frameworkId: "f1",
      agentId: "a1",
      taskId: `x${i}`,
      name: "x",
      state: "TASK_FAILED",
      resources: {},
    };
    m.apply(event);
  }
  t.false(m.tasks.has("f1/t0"));
  t.false(m.tasks.has("f1/x1"));
  t.true(m.tasks.has("f1/x2"));
  t.true(m.tasks.has("f1/x3"));
  t.true(m.tasks.has("f1/t1"), "running tasks stay");
  t.is(m.events.length, 3);
});

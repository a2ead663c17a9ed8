/**
 * The fault tier's own judges, without processes: the check after a fault
 * (`violations`) and the split-brain watch (`splitBrain`) find what they
 * must find, and nothing in a sound cluster.
 */
import test from "ava";
import type { ClusterEvent } from "../../cli/cluster-events.ts";
import type { TaskState, TaskStatus } from "../../protocol/common.ts";
import type { MasterState } from "../../protocol/operator.ts";
import { violations } from "./harness/check.ts";
import type { FrameworkReport, FrameworkTask } from "./harness/framework.ts";
import { type LeaderAnswer, splitBrain } from "./harness/leaders.ts";

type StateTask = MasterState["frameworks"][number]["tasks"][number];

function masterTask(id: string, state: TaskState, port: number, agentId = "S0"): StateTask {
  return { id, name: id, state, agentId, resources: { cpus: 0.1, mem: 16, ports: [[port, port]] } };
}

function state(
  tasks: StateTask[],
  agent: Partial<MasterState["agents"][number]> = {},
): MasterState {
  return {
    masterId: "m1",
    leader: true,
    startTime: 0,
    policy: "drf",
    total: { cpus: 2, mem: 1024 },
    agents: [
      {
        id: "S0",
        hostname: "a1",
        resources: { cpus: 2, mem: 1024, ports: [[31000, 31009]] },
        used: { cpus: 0.2, mem: 32, ports: [[31000, 31001]] },
        offered: { cpus: 1.8, mem: 992, ports: [[31002, 31009]] },
        attributes: {},
        active: true,
        status: "active",
        ...agent,
      },
    ],
    frameworks: [
      {
        id: "fw",
        name: "recorder",
        roles: ["*"],
        active: true,
        used: { cpus: 0.2, mem: 32 },
        offered: { cpus: 1.8, mem: 992 },
        dominantShare: 0.1,
        tasks,
      },
    ],
    roles: {},
  } as MasterState;
}

function status(taskId: string, state: TaskState, uuid?: string): TaskStatus {
  return { taskId, state, agentId: "S0", timestamp: 0, uuid } as TaskStatus;
}

function report(updates: Record<string, TaskStatus[]>): FrameworkReport {
  const tasks = new Map<string, FrameworkTask>();
  for (const [taskId, list] of Object.entries(updates)) {
    const terminal = list.filter((u) =>
      ["TASK_FAILED", "TASK_LOST", "TASK_KILLED"].includes(u.state),
    );
    tasks.set(taskId, {
      taskId,
      agentId: "S0",
      updates: list,
      latest: list.at(-1)?.state,
      terminalStates: new Set(terminal.map((u) => u.state)),
      terminalUuids: new Set(terminal.flatMap((u) => (u.uuid === undefined ? [] : [u.uuid]))),
    });
  }
  return { lines: [], tasks, strangers: [], acked: new Set(), subscriptions: [] };
}

const running = [masterTask("t0", "TASK_RUNNING", 31000), masterTask("t1", "TASK_RUNNING", 31001)];
const sound = report({
  t0: [status("t0", "TASK_STARTING", "u1"), status("t0", "TASK_RUNNING", "u2")],
  t1: [status("t1", "TASK_RUNNING", "u3")],
});

test("fault check - a sound cluster has no violation", (t) => {
  t.deepEqual(
    violations({ state: state(running), frameworks: [{ frameworkId: "fw", report: sound }] }),
    [],
  );
});

test("fault check - a state that differs from the framework's is found", (t) => {
  const found = violations({
    state: state([masterTask("t0", "TASK_LOST", 31000), running[1]!], {
      used: { cpus: 0.1, mem: 16, ports: [[31001, 31001]] },
    }),
    frameworks: [{ frameworkId: "fw", report: sound }],
  });
  t.deepEqual(found, ["task t0: framework says TASK_RUNNING, leader says TASK_LOST"]);
});

test("fault check - tasks unaccounted for on either side are found", (t) => {
  const found = violations({
    state: state([running[0]!, masterTask("t9", "TASK_RUNNING", 31001)]),
    frameworks: [{ frameworkId: "fw", report: sound }],
  });
  t.true(found.includes("task t1: launched by the framework, unaccounted for at the leader"));
  t.true(
    found.includes("task t9: at the leader (TASK_RUNNING) but never launched by the framework"),
  );
});

test("fault check - double booking and shared ports are found", (t) => {
  const found = violations({
    state: state([running[0]!, masterTask("t1", "TASK_RUNNING", 31000)], {
      offered: { cpus: 1.9, mem: 992, ports: [[31002, 31009]] },
    }),
    frameworks: [{ frameworkId: "fw", report: sound }],
  });
  t.true(
    found.some((v) => v.includes("double-booked")),
    found.join("\n"),
  );
  t.true(
    found.some((v) => v.includes("hold the same ports")),
    found.join("\n"),
  );
});

test("fault check - a transition the master applied that never reached the framework is a lost update", (t) => {
  const events = [
    { type: "cluster.taskUpdated", frameworkId: "fw", taskId: "t1", state: "TASK_UNREACHABLE" },
    { type: "cluster.taskUpdated", frameworkId: "fw", taskId: "t1", state: "TASK_RUNNING" },
  ] as unknown as ClusterEvent[];
  const found = violations({
    state: state(running),
    frameworks: [{ frameworkId: "fw", report: sound }],
    events,
  });
  t.is(found.length, 1);
  t.regex(found[0]!, /update lost: .* task t1 .* never got TASK_UNREACHABLE/);
});

test("fault check - a task ended by the test needs its terminal update at the framework", (t) => {
  const found = violations({
    state: state(running),
    frameworks: [{ frameworkId: "fw", report: sound, ended: ["t0"] }],
  });
  t.deepEqual(found, ["task t0 was ended by the test but has no terminal update at the framework"]);
});

function answer(
  masterId: string,
  leader: boolean,
  round: number,
  at: number,
  via: LeaderAnswer["via"] = "instance",
): LeaderAnswer {
  return { masterId, leader, round, at, via, leaderId: leader ? masterId : undefined };
}

test("split brain - a clean handover has none", (t) => {
  t.deepEqual(
    splitBrain([
      answer("m1", true, 0, 10),
      answer("m2", false, 0, 11),
      answer("m2", true, 5, 60),
      answer("m1", false, 9, 100),
      answer("m2", true, 9, 101, "operator"),
    ]),
    [],
  );
});

test("split brain - two leaders in a round, a deposed leader answering, a standby serving are found", (t) => {
  t.is(splitBrain([answer("m1", true, 3, 30), answer("m2", true, 3, 31)]).length >= 1, true);
  t.regex(
    splitBrain([
      answer("m1", true, 0, 10),
      answer("m2", true, 5, 60),
      answer("m1", true, 2, 70),
    ]).join(),
    /m1 answered as leader .* after m2 had started leading/,
  );
  t.regex(
    splitBrain([answer("m2", false, 1, 5, "operator")]).join(),
    /standby m2 served master.operator/,
  );
});

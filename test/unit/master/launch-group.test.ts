import test from "ava";
import type { ExecutorInfo, TaskInfo } from "../../../protocol/common.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { Harness, task } from "./harness.ts";

function setup(resources = { cpus: 4, mem: 4096 }) {
  const h = new Harness();
  const fid = h.addFramework();
  const aid = h.addAgent(resources);
  h.flush();
  const offers = h.offersTo(fid);
  if (offers.length !== 1) throw new Error(`expected one offer, got ${offers.length}`);
  return { h, fid, aid, offer: offers[0]! };
}

const executor = (over: Partial<ExecutorInfo> = {}): ExecutorInfo => ({
  executorId: "default-1",
  type: "DEFAULT",
  resources: { cpus: 0.5, mem: 64 },
  ...over,
});

function groupCall(
  offerIds: string[],
  tasks: TaskInfo[],
  info: ExecutorInfo = executor(),
): MessageOf<"scheduler.accept"> {
  return {
    type: "scheduler.accept",
    offerIds,
    operations: [{ type: "launchGroup", executor: info, taskGroup: { tasks } }],
    filters: { refuseSeconds: 0 },
  };
}

test("launch group - a valid group goes to the agent in one runTaskGroup; its executor is counted once", (t) => {
  const { h, fid, aid, offer } = setup();
  const mark = h.mark();
  h.call(
    fid,
    groupCall(
      [offer.offerId],
      [task("a", aid, { cpus: 1, mem: 512 }), task("b", aid, { cpus: 1, mem: 512 })],
    ),
  );
  const sent = h.sentTo("agent", aid, "agent.runTaskGroup", mark);
  t.is(sent.length, 1);
  t.deepEqual(
    sent[0]?.taskGroup.tasks.map((x) => x.taskId),
    ["a", "b"],
  );
  t.is(sent[0]?.executor.executorId, "default-1");
  t.deepEqual(h.sentTo("agent", aid, "agent.runTask", mark), []);
  t.deepEqual(h.updatesTo(fid, mark), []);
  t.deepEqual(h.state().frameworks[0]!.used, { cpus: 2.5, mem: 1088 });
  t.deepEqual(h.invariants(), []);
});

test("launch group - one task beyond the offers makes every task of the group TASK_ERROR (REASON_TASK_GROUP_INVALID)", (t) => {
  const { h, fid, aid, offer } = setup();
  const mark = h.mark();
  h.call(
    fid,
    groupCall([offer.offerId], [task("fits", aid, { cpus: 1 }), task("huge", aid, { cpus: 100 })]),
  );
  t.deepEqual(h.sentTo("agent", aid, "agent.runTaskGroup", mark), []);
  const updates = h.updatesTo(fid, mark);
  t.deepEqual(
    updates.map((u) => [u.taskId, u.state, u.reason]),
    [
      ["fits", "TASK_ERROR", "REASON_TASK_GROUP_INVALID"],
      ["huge", "TASK_ERROR", "REASON_TASK_GROUP_INVALID"],
    ],
  );
  t.regex(updates[0]?.message ?? "", /huge/);
  t.deepEqual(h.state().frameworks[0]!.used, {});
  t.deepEqual(h.invariants(), []);
});

test("launch group - the sum of the tasks and the executor must fit, not each task alone", (t) => {
  const { h, fid, aid, offer } = setup({ cpus: 2, mem: 4096 });
  const mark = h.mark();
  h.call(
    fid,
    groupCall([offer.offerId], [task("x", aid, { cpus: 1 }), task("y", aid, { cpus: 1 })]),
  );
  t.deepEqual(h.sentTo("agent", aid, "agent.runTaskGroup", mark), []);
  t.regex(h.updatesTo(fid, mark)[0]?.message ?? "", /group's resources/);
});

test("launch group - a CUSTOM executor, a task with its own executor or without a command is refused whole", (t) => {
  const cases: Array<[string, (aid: string) => { tasks: TaskInfo[]; info: ExecutorInfo }]> = [
    [
      "type DEFAULT",
      (aid) => ({
        tasks: [task("c1", aid, { cpus: 1 })],
        info: executor({ type: "CUSTOM", command: { value: "x" } }),
      }),
    ],
    [
      "names an executor",
      (aid) => ({
        tasks: [{ ...task("c2", aid, { cpus: 1 }), executor: executor() }],
        info: executor(),
      }),
    ],
    [
      "has no command",
      (aid) => {
        const { command: _c, ...bare } = task("c3", aid, { cpus: 1 });
        return { tasks: [bare], info: executor() };
      },
    ],
  ];
  for (const [message, make] of cases) {
    const { h, fid, aid, offer } = setup();
    const mark = h.mark();
    const { tasks, info } = make(aid);
    h.call(fid, groupCall([offer.offerId], tasks, info));
    t.deepEqual(h.sentTo("agent", aid, "agent.runTaskGroup", mark), [], message);
    const [update] = h.updatesTo(fid, mark);
    t.is(update?.reason, "REASON_TASK_GROUP_INVALID", message);
    t.regex(update?.message ?? "", new RegExp(message), message);
  }
});

test("launch group - a launch operation with a DEFAULT executor is TASK_INVALID", (t) => {
  const { h, fid, aid, offer } = setup();
  const mark = h.mark();
  const { command: _c, ...bare } = task("d", aid, { cpus: 1 });
  h.call(fid, {
    type: "scheduler.accept",
    offerIds: [offer.offerId],
    operations: [{ type: "launch", tasks: [{ ...bare, executor: executor() }] }],
  });
  t.is(h.updatesTo(fid, mark)[0]?.reason, "REASON_TASK_INVALID");
});

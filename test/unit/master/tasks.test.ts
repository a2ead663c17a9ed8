import test from "ava";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { acceptCall, Harness, task } from "./harness.ts";

/** A master with one agent, one framework and task `t1` (cpus 1, mem 256) launched. */
function launched() {
  const h = new Harness();
  const fid = h.addFramework();
  const aid = h.addAgent({ cpus: 4, mem: 4096 });
  h.flush();
  const offer = h.offersTo(fid)[0]!;
  h.call(fid, acceptCall([offer.offerId], [task("t1", aid, { cpus: 1, mem: 256 })], 0));
  return { h, fid, aid };
}

test("tasks - updates are forwarded with their uuid; acks go to the agent; terminal frees resources", (t) => {
  const { h, fid, aid } = launched();
  let mark = h.mark();
  h.update(aid, fid, { taskId: "t1", state: "TASK_RUNNING", uuid: "u1" });
  t.like(h.updatesTo(fid, mark)[0], {
    taskId: "t1",
    state: "TASK_RUNNING",
    uuid: "u1",
    agentId: aid,
  });
  h.call(fid, { type: "scheduler.acknowledge", agentId: aid, taskId: "t1", uuid: "u1" });
  t.deepEqual(h.sentTo("agent", aid, "agent.acknowledge", mark), [
    { type: "agent.acknowledge", frameworkId: fid, taskId: "t1", uuid: "u1" },
  ]);
  t.deepEqual(h.state().agents[0]?.used, { cpus: 1, mem: 256 });

  mark = h.mark();
  const output = new TextEncoder().encode("hello\n");
  h.update(aid, fid, {
    taskId: "t1",
    state: "TASK_FINISHED",
    uuid: "u2",
    exitCode: 0,
    data: output,
  });
  t.deepEqual(h.updatesTo(fid, mark)[0]?.data, output, "status data is forwarded");
  t.is(h.ctx.frameworks.get(fid)!.tasks.get("t1")?.status?.data, undefined, "but not kept");
  t.deepEqual(h.state().agents[0]?.used, {}, "resources released on the terminal update");
  t.true(h.ctx.frameworks.get(fid)!.tasks.has("t1"), "kept until acknowledged");
  // the agent retries the unacknowledged update: forwarded again, not an illegal transition
  h.update(aid, fid, { taskId: "t1", state: "TASK_FINISHED", uuid: "u2", exitCode: 0 });
  t.is(h.updatesTo(fid, mark).length, 2);
  t.is(h.metrics.get("task_transitions_illegal"), 0);
  h.call(fid, { type: "scheduler.acknowledge", agentId: aid, taskId: "t1", uuid: "u2" });
  t.false(h.ctx.frameworks.get(fid)!.tasks.has("t1"));
  t.like(h.state().frameworks[0]?.tasks[0], { id: "t1", state: "TASK_FINISHED" });
  const events = h.outbox.sent
    .filter((s) => s.msg.type === "cluster.taskUpdated")
    .map((s) =>
      s.msg.type === "cluster.taskUpdated" ? `${s.msg.previousState}->${s.msg.state}` : "",
    );
  t.deepEqual(events, [
    "undefined->TASK_STAGING",
    "TASK_STAGING->TASK_RUNNING",
    "TASK_RUNNING->TASK_FINISHED",
  ]);
  t.deepEqual(h.invariants(), []);
});

test("tasks - a change of health is a cluster event; the same health again is not", (t) => {
  const { h, fid, aid } = launched();
  const health = () =>
    h.outbox.sent.flatMap((s) =>
      s.msg.type === "cluster.taskUpdated" ? [`${s.msg.state}:${s.msg.healthy}`] : [],
    );
  h.update(aid, fid, { taskId: "t1", state: "TASK_RUNNING", uuid: "u1" });
  h.update(aid, fid, { taskId: "t1", state: "TASK_RUNNING", uuid: "u2", healthy: true });
  h.update(aid, fid, { taskId: "t1", state: "TASK_RUNNING", uuid: "u3", healthy: true });
  h.update(aid, fid, { taskId: "t1", state: "TASK_RUNNING", uuid: "u4", healthy: false });
  t.deepEqual(health(), [
    "TASK_STAGING:undefined",
    "TASK_RUNNING:undefined",
    "TASK_RUNNING:true",
    "TASK_RUNNING:false",
  ]);
  t.deepEqual(h.invariants(), []);
});

test("tasks - an illegal transition is rejected, counted and not applied", (t) => {
  const { h, fid, aid } = launched();
  h.update(aid, fid, { taskId: "t1", state: "TASK_FAILED", uuid: "u1" });
  h.update(aid, fid, { taskId: "t1", state: "TASK_RUNNING", uuid: "u2" });
  t.is(h.metrics.get("task_transitions_illegal"), 1);
  t.is(h.ctx.frameworks.get(fid)!.tasks.get("t1")?.state, "TASK_FAILED");
  t.deepEqual(h.state().agents[0]?.used, {});
  t.deepEqual(h.invariants(), []);
});

test("tasks - an update about another agent's task or naming another agent is FORBIDDEN", (t) => {
  const { h, fid, aid } = launched();
  const other = h.addAgent({ cpus: 1, mem: 128 }, "other");
  const err = t.throws(() => h.update(other, fid, { taskId: "t1", state: "TASK_FAILED" }), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.Forbidden);
  const naming = t.throws(
    () =>
      h.agent(other, {
        type: "agent.update",
        frameworkId: fid,
        status: { taskId: "x", state: "TASK_RUNNING", agentId: aid, timestamp: 1 },
      }),
    { instanceOf: AgoraError },
  );
  t.is(naming?.code, ErrorCode.Forbidden);
  t.is(h.ctx.frameworks.get(fid)!.tasks.get("t1")?.state, "TASK_STAGING");
});

test("tasks - updates for unknown frameworks fail; for removed ones the agent is told to shut it down", (t) => {
  const { h, fid, aid } = launched();
  t.throws(() => h.update(aid, "nobody", { taskId: "t1" }), { instanceOf: AgoraError });
  h.call(fid, { type: "scheduler.teardown" });
  const mark = h.mark();
  t.throws(() => h.update(aid, fid, { taskId: "t1", state: "TASK_KILLED" }), {
    instanceOf: AgoraError,
  });
  t.deepEqual(h.sentTo("agent", aid, "agent.shutdownFramework", mark), [
    { type: "agent.shutdownFramework", frameworkId: fid },
  ]);
});

test("tasks - kill is forwarded to the agent; an unknown task is answered TASK_LOST", (t) => {
  const { h, fid, aid } = launched();
  const mark = h.mark();
  h.call(fid, { type: "scheduler.kill", taskId: "t1" });
  t.deepEqual(h.sentTo("agent", aid, "agent.killTask", mark), [
    { type: "agent.killTask", frameworkId: fid, taskId: "t1" },
  ]);
  h.call(fid, { type: "scheduler.kill", taskId: "ghost", agentId: aid });
  t.like(h.updatesTo(fid, mark)[0], {
    taskId: "ghost",
    state: "TASK_LOST",
    source: "SOURCE_MASTER",
    reason: "REASON_RECONCILIATION",
  });
});

test("tasks - explicit and implicit reconciliation", (t) => {
  const { h, fid, aid } = launched();
  h.update(aid, fid, { taskId: "t1", state: "TASK_RUNNING", uuid: "u1" });
  let mark = h.mark();
  h.call(fid, {
    type: "scheduler.reconcile",
    tasks: [{ taskId: "t1" }, { taskId: "nope", agentId: aid }],
  });
  const answers = h.updatesTo(fid, mark);
  t.deepEqual(
    answers.map((s) => [s.taskId, s.state, s.reason, s.uuid]),
    [
      ["t1", "TASK_RUNNING", "REASON_RECONCILIATION", undefined],
      ["nope", "TASK_UNKNOWN", "REASON_RECONCILIATION", undefined],
    ],
  );
  t.is(answers[0]?.agentId, aid);
  mark = h.mark();
  h.call(fid, { type: "scheduler.reconcile", tasks: [] });
  t.deepEqual(
    h.updatesTo(fid, mark).map((s) => [s.taskId, s.state]),
    [["t1", "TASK_RUNNING"]],
  );
});

test("tasks - messages are relayed both ways", (t) => {
  const { h, fid, aid } = launched();
  const mark = h.mark();
  const data = new Uint8Array([1, 2, 3]);
  h.call(fid, { type: "scheduler.message", agentId: aid, executorId: "t1", data });
  t.deepEqual(h.sentTo("agent", aid, "agent.frameworkMessage", mark), [
    { type: "agent.frameworkMessage", frameworkId: fid, executorId: "t1", data },
  ]);
  h.agent(aid, { type: "agent.message", frameworkId: fid, executorId: "t1", data });
  t.deepEqual(h.sentTo("framework", fid, "event.message", mark), [
    { type: "event.message", agentId: aid, executorId: "t1", data },
  ]);
  t.throws(
    () => h.call(fid, { type: "scheduler.message", agentId: "nobody", executorId: "e", data }),
    {
      instanceOf: AgoraError,
    },
  );
});

test("tasks - acknowledging for an unknown agent fails NOT_FOUND", (t) => {
  const { h, fid } = launched();
  const err = t.throws(
    () =>
      h.call(fid, { type: "scheduler.acknowledge", agentId: "nobody", taskId: "t1", uuid: "u" }),
    { instanceOf: AgoraError },
  );
  t.is(err?.code, ErrorCode.NotFound);
});

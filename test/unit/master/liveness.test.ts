import test from "ava";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { acceptCall, Harness, task } from "./harness.ts";

function running() {
  const h = new Harness();
  const fid = h.addFramework();
  const aid = h.addAgent({ cpus: 4, mem: 4096 });
  h.flush();
  const offer = h.offersTo(fid)[0]!;
  h.call(fid, acceptCall([offer.offerId], [task("t1", aid, { cpus: 1, mem: 256 })], 0));
  h.update(aid, fid, { taskId: "t1", state: "TASK_RUNNING", uuid: "u1" });
  h.core.allocator.run();
  return { h, fid, aid };
}

// The framework is not PARTITION_AWARE: as Mesos does, it is told TASK_LOST where a
// partition-aware one is told TASK_UNREACHABLE (see recovery.test.ts "partitions"); the
// master still keeps the task unreachable.
test("agents - a silent agent becomes unreachable: TASK_LOST at a framework not partition-aware, offers rescinded, out of the pool", (t) => {
  const { h, fid, aid } = running();
  const offer = [...h.ctx.frameworks.get(fid)!.offers][0]!;
  h.alive.agents.delete(aid);
  const mark = h.mark();
  h.advance(2500);
  t.is(h.state().agents[0]?.status, "active");
  h.advance(1000);
  const agent = h.state().agents[0]!;
  t.is(agent.status, "unreachable");
  t.false(agent.active);
  t.is(h.ctx.frameworks.get(fid)!.tasks.get("t1")?.state, "TASK_UNREACHABLE");
  t.like(h.updatesTo(fid, mark)[0], {
    taskId: "t1",
    state: "TASK_LOST",
    reason: "REASON_AGENT_DISCONNECTED",
    source: "SOURCE_MASTER",
    agentId: aid,
  });
  t.is(h.updatesTo(fid, mark)[0]?.uuid, undefined);
  t.deepEqual(
    h.sentTo("framework", fid, "event.rescind", mark).map((m) => m.offerId),
    [offer.offerId],
  );
  t.is(h.sentTo("framework", fid, "event.failure", mark)[0]?.agentId, aid);
  t.deepEqual(h.state().total, {});
  t.deepEqual(h.state().frameworks[0]?.used, {});
  t.true(h.outbox.sent.some((s) => s.msg.type === "cluster.agentUnreachable"));
  // reconciliation answers TASK_LOST (TASK_UNREACHABLE to a partition-aware framework)
  const mark2 = h.mark();
  h.call(fid, {
    type: "scheduler.reconcile",
    tasks: [{ taskId: "t1" }, { taskId: "t9", agentId: aid }],
  });
  t.deepEqual(
    h.updatesTo(fid, mark2).map((s) => s.state),
    ["TASK_LOST", "TASK_LOST"],
  );
  t.deepEqual(h.invariants(), []);
});

test("agents - an unreachable agent that heartbeats is asked to reregister and gets its tasks back", (t) => {
  const { h, fid, aid } = running();
  h.alive.agents.delete(aid);
  h.advance(3500);
  let mark = h.mark();
  h.agent(aid, { type: "agent.heartbeat" });
  t.is(h.sentTo("agent", aid, "agent.reregisterRequest", mark).length, 1);
  mark = h.mark();
  const reply = h.agent(
    aid,
    {
      type: "agent.reregister",
      agentId: aid,
      hostname: "h",
      resources: { cpus: 4, mem: 4096 },
      attributes: {},
      tasks: [
        {
          frameworkId: fid,
          executorId: "t1",
          role: "*",
          task: task("t1", aid, { cpus: 1, mem: 256 }),
          status: { taskId: "t1", state: "TASK_RUNNING", timestamp: 1 },
        },
      ],
    },
    true,
  );
  t.like(reply, { type: "agent.registered", agentId: aid });
  t.like(h.updatesTo(fid, mark)[0], {
    taskId: "t1",
    state: "TASK_RUNNING",
    source: "SOURCE_MASTER",
  });
  t.is(h.state().agents[0]?.status, "active");
  t.deepEqual(h.state().agents[0]?.used, { cpus: 1, mem: 256 });
  t.deepEqual(h.state().frameworks[0]?.used, { cpus: 1, mem: 256 });
  t.deepEqual(h.invariants(), []);
});

test("agents - reregistering without a known task loses it; unknown reported tasks are adopted", (t) => {
  const { h, fid, aid } = running();
  const mark = h.mark();
  h.agent(
    aid,
    {
      type: "agent.reregister",
      agentId: aid,
      hostname: "h",
      resources: { cpus: 4, mem: 4096 },
      attributes: {},
      tasks: [
        {
          frameworkId: "old-fw",
          executorId: "x",
          role: "*",
          task: task("x", aid, { cpus: 2 }),
          status: { taskId: "x", state: "TASK_RUNNING", timestamp: 1 },
        },
      ],
    },
    true,
  );
  t.like(h.updatesTo(fid, mark)[0], { taskId: "t1", state: "TASK_LOST" });
  const recovered = h.ctx.frameworks.get("old-fw");
  t.is(recovered?.status, "disconnected");
  t.true(recovered?.recovered);
  t.deepEqual(h.state().agents[0]?.used, { cpus: 2 });
  // the framework comes back with its id and finds its task
  h.addFramework({ frameworkId: "old-fw", name: "old" });
  t.is(h.ctx.frameworks.get("old-fw")?.status, "subscribed");
  t.like(h.state().frameworks.find((f) => f.id === "old-fw")?.tasks[0], {
    id: "x",
    state: "TASK_RUNNING",
  });
  t.deepEqual(h.invariants(), []);
});

test("agents - removal after the removal timeout: TASK_LOST, agent.shutdown, no reregistration", (t) => {
  const { h, fid, aid } = running();
  h.alive.agents.delete(aid);
  h.advance(3500);
  const mark = h.mark();
  h.advance(60_000);
  t.like(h.updatesTo(fid, mark)[0], {
    taskId: "t1",
    state: "TASK_LOST",
    reason: "REASON_AGENT_REMOVED",
  });
  t.is(h.sentTo("agent", aid, "agent.shutdown", mark).length, 1);
  t.deepEqual(h.state().agents, []);
  const err = t.throws(
    () =>
      h.agent(
        aid,
        {
          type: "agent.reregister",
          agentId: aid,
          hostname: "h",
          resources: {},
          attributes: {},
          tasks: [],
        },
        true,
      ),
    { instanceOf: AgoraError },
  );
  t.is(err?.code, ErrorCode.InvalidState);
  const mark2 = h.mark();
  h.agent(aid, { type: "agent.heartbeat" });
  t.is(h.sentTo("agent", aid, "agent.shutdown", mark2).length, 1);
  t.deepEqual(h.invariants(), []);
});

test("frameworks - heartbeat events go out; a silent framework is disconnected, then removed", (t) => {
  const { h, fid, aid } = running();
  h.alive.frameworks.delete(fid);
  let mark = h.mark();
  h.advance(5000);
  t.is(h.sentTo("framework", fid, "event.heartbeat", mark).length, 1);
  mark = h.mark();
  h.advance(10_000);
  t.is(h.state().frameworks.length, 0, "failover timeout 0: removed right after the disconnection");
  const events = h.outbox.sent.slice(mark).map((s) => s.msg.type);
  t.true(events.includes("cluster.frameworkDisconnected"));
  t.true(events.includes("cluster.frameworkRemoved"));
  t.deepEqual(h.sentTo("agent", aid, "agent.shutdownFramework", mark), [
    { type: "agent.shutdownFramework", frameworkId: fid },
  ]);
  t.deepEqual(h.state().agents[0]?.used, {});
  const err = t.throws(() => h.addFramework({ frameworkId: fid }), { instanceOf: AgoraError });
  t.is(err?.code, ErrorCode.InvalidState);
  t.deepEqual(h.invariants(), []);
});

test("frameworks - resubscribing within the failover timeout keeps the tasks", (t) => {
  const h = new Harness();
  const fid = h.addFramework({ failoverTimeoutSeconds: 60 });
  const aid = h.addAgent({ cpus: 4, mem: 4096 });
  h.flush();
  const offer = h.offersTo(fid)[0]!;
  h.call(fid, acceptCall([offer.offerId], [task("t1", aid, { cpus: 1 })]));
  h.alive.frameworks.delete(fid);
  h.advance(20_000);
  t.is(h.ctx.frameworks.get(fid)?.status, "disconnected");
  const err = t.throws(() => h.call(fid, { type: "scheduler.revive" }, false), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.NotSubscribed, "a disconnected framework is told to resubscribe");
  t.like(h.sentTo("framework", fid, "event.error").at(-1), { code: ErrorCode.NotSubscribed });
  h.advance(30_000);
  t.is(h.addFramework({ frameworkId: fid }), fid);
  t.is(h.ctx.frameworks.get(fid)?.status, "subscribed");
  t.deepEqual(
    h.state().frameworks[0]?.tasks.map((x) => [x.id, x.state]),
    [["t1", "TASK_STAGING"]],
  );
  h.advance(60_000);
  t.is(h.ctx.frameworks.get(fid)?.status, "subscribed", "the failover timer was cancelled");
});

test("frameworks - teardown kills the tasks and frees the resources", (t) => {
  const { h, fid, aid } = running();
  const mark = h.mark();
  h.call(fid, { type: "scheduler.teardown", reason: "done" });
  t.deepEqual(h.state().frameworks, []);
  t.deepEqual(h.state().agents[0]?.used, {});
  t.deepEqual(h.state().agents[0]?.offered, {});
  t.is(h.sentTo("agent", aid, "agent.shutdownFramework", mark).length, 1);
  t.true(
    h.outbox.sent
      .slice(mark)
      .some((s) => s.msg.type === "cluster.taskUpdated" && s.msg.state === "TASK_KILLED"),
  );
  const err = t.throws(() => h.call(fid, { type: "scheduler.heartbeat" }), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.InvalidState, "a removed framework may not resubscribe");
  t.false(err?.retryable);
  t.deepEqual(h.invariants(), []);
});

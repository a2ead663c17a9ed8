import test from "ava";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { acceptCall, Harness, task } from "./harness.ts";

function setup(resources = { cpus: 4, mem: 4096 }) {
  const h = new Harness();
  const fid = h.addFramework();
  const aid = h.addAgent(resources);
  h.flush();
  const offers = h.offersTo(fid);
  if (offers.length !== 1) throw new Error(`expected one offer, got ${offers.length}`);
  return { h, fid, aid, offer: offers[0]! };
}

test("accept - valid tasks launch in one runTask; the remainder returns under a 5 s filter", (t) => {
  const { h, fid, aid, offer } = setup();
  const mark = h.mark();
  h.call(
    fid,
    acceptCall(
      [offer.offerId],
      [task("t1", aid, { cpus: 1, mem: 1024 }), task("t2", aid, { cpus: 1, mem: 1024 })],
    ),
  );
  const runs = h.sentTo("agent", aid, "agent.runTask", mark);
  t.is(runs.length, 1);
  t.deepEqual(
    runs[0]?.tasks.map((x) => x.taskId),
    ["t1", "t2"],
  );
  t.deepEqual(runs[0]?.framework, {
    frameworkId: fid,
    name: "fw",
    role: "*",
    principal: "default",
  });
  t.deepEqual(h.updatesTo(fid, mark), [], "no update for launched tasks");
  const fw = h.state().frameworks[0]!;
  t.deepEqual(fw.used, { cpus: 2, mem: 2048 });
  t.deepEqual(fw.offered, {});
  t.deepEqual(
    fw.tasks.map((x) => [x.id, x.state]),
    [
      ["t1", "TASK_STAGING"],
      ["t2", "TASK_STAGING"],
    ],
  );
  const framework = h.ctx.frameworks.get(fid)!;
  t.is(framework.filters.length, 1);
  t.is(`${framework.filters[0]?.resources}`, "cpus:2;mem:2048");
  t.is(framework.filters[0]?.expiresAt, h.clock.now() + 5000);
  h.core.allocator.run();
  t.deepEqual(h.offersTo(fid, mark), [], "filtered for 5 s");
  h.advance(5000);
  t.deepEqual(h.offersTo(fid, mark)[0]?.resources, { cpus: 2, mem: 2048 });
  t.deepEqual(h.invariants(), []);
});

test("accept - a task beyond what is left of the offers is TASK_ERROR; the others launch", (t) => {
  const { h, fid, aid, offer } = setup();
  const mark = h.mark();
  h.call(
    fid,
    acceptCall([offer.offerId], [task("big", aid, { cpus: 3 }), task("bigger", aid, { cpus: 2 })]),
  );
  t.deepEqual(
    h.sentTo("agent", aid, "agent.runTask", mark)[0]?.tasks.map((x) => x.taskId),
    ["big"],
  );
  const [error] = h.updatesTo(fid, mark);
  t.like(error, {
    taskId: "bigger",
    state: "TASK_ERROR",
    reason: "REASON_TASK_INVALID",
    source: "SOURCE_MASTER",
    agentId: aid,
  });
  t.is(error?.uuid, undefined, "master updates need no ack");
  t.regex(error?.message ?? "", /not contained in the remaining offered resources/);
  t.is(h.metrics.get("tasks_invalid"), 1);
  t.deepEqual(h.invariants(), []);
});

test("accept - invalid task descriptions are TASK_ERROR with a reason", (t) => {
  const { h, fid, aid, offer } = setup();
  const mark = h.mark();
  h.call(
    fid,
    acceptCall(
      [offer.offerId],
      [
        task("ok", aid, { cpus: 0.5 }),
        task("ok", aid, { cpus: 0.5 }),
        task("elsewhere", "other-agent", { cpus: 0.5 }),
        { taskId: "no-command", name: "", agentId: aid, resources: { cpus: 0.1 } },
        task(
          "both",
          aid,
          { cpus: 0.1 },
          {
            executor: { executorId: "e", command: { value: "x" } },
          },
        ),
        task("bad-resources", aid, { "cpus(-bad)": 1 }),
      ],
    ),
  );
  const errors = h.updatesTo(fid, mark);
  t.deepEqual(
    errors.map((s) => [s.taskId, s.state, s.reason]),
    [
      ["ok", "TASK_ERROR", "REASON_TASK_INVALID"],
      ["elsewhere", "TASK_ERROR", "REASON_TASK_INVALID"],
      ["no-command", "TASK_ERROR", "REASON_TASK_INVALID"],
      ["both", "TASK_ERROR", "REASON_TASK_INVALID"],
      ["bad-resources", "TASK_ERROR", "REASON_TASK_INVALID"],
    ],
  );
  t.regex(errors[0]?.message ?? "", /already used/);
  t.regex(errors[1]?.message ?? "", /not the agent/);
  t.regex(errors[2]?.message ?? "", /exactly one of command and executor/);
  t.regex(errors[4]?.message ?? "", /invalid resources/);
  t.deepEqual(
    h.state().frameworks[0]?.tasks.map((x) => x.id),
    ["ok"],
  );
  // the live task's id stays taken in a later accept
  h.advance(5000);
  const next = h.offersTo(fid, mark)[0]!;
  const mark2 = h.mark();
  h.call(fid, acceptCall([next.offerId], [task("ok", aid, { cpus: 0.5 })]));
  t.like(h.updatesTo(fid, mark2)[0], { taskId: "ok", state: "TASK_ERROR" });
  t.deepEqual(h.invariants(), []);
});

test("accept - unknown, used or rescinded offers: tasks TASK_DROPPED, the call fails NOT_FOUND", (t) => {
  const { h, fid, aid, offer } = setup();
  let mark = h.mark();
  const unknown = t.throws(() => h.call(fid, acceptCall(["nope"], [task("a", aid, { cpus: 1 })])), {
    instanceOf: AgoraError,
  });
  t.is(unknown?.code, ErrorCode.NotFound);
  t.like(h.updatesTo(fid, mark)[0], {
    taskId: "a",
    state: "TASK_DROPPED",
    reason: "REASON_INVALID_OFFERS",
    source: "SOURCE_MASTER",
  });

  h.call(fid, acceptCall([offer.offerId], [task("b", aid, { cpus: 1 })]));
  mark = h.mark();
  const used = t.throws(
    () => h.call(fid, acceptCall([offer.offerId], [task("c", aid, { cpus: 1 })])),
    {
      instanceOf: AgoraError,
    },
  );
  t.is(used?.code, ErrorCode.NotFound);
  t.like(h.updatesTo(fid, mark)[0], { taskId: "c", state: "TASK_DROPPED" });

  // an offer rescinded because its agent reregistered
  h.advance(5000);
  const fresh = h.offersTo(fid, mark)[0]!;
  h.agent(
    aid,
    {
      type: "agent.reregister",
      agentId: aid,
      hostname: "h",
      resources: { cpus: 4, mem: 4096 },
      attributes: {},
      tasks: [],
    },
    true,
  );
  t.deepEqual(
    h.sentTo("framework", fid, "event.rescind", mark).map((m) => m.offerId),
    [fresh.offerId],
  );
  mark = h.mark();
  // published without a reply subject: the failure comes back as event.error
  t.throws(() => h.call(fid, acceptCall([fresh.offerId], [task("d", aid, { cpus: 1 })]), false));
  t.like(h.updatesTo(fid, mark)[0], { taskId: "d", state: "TASK_DROPPED" });
  t.like(h.sentTo("framework", fid, "event.error", mark)[0], { code: ErrorCode.NotFound });
  t.is(h.metrics.get("accepts_invalid"), 3);
  t.deepEqual(h.invariants(), []);
});

test("accept - another framework's offer is FORBIDDEN and stays outstanding", (t) => {
  const { h, fid, aid, offer } = setup();
  const intruder = h.addFramework({ name: "intruder" });
  const mark = h.mark();
  const err = t.throws(
    () => h.call(intruder, acceptCall([offer.offerId], [task("x", aid, { cpus: 4 })])),
    {
      instanceOf: AgoraError,
    },
  );
  t.is(err?.code, ErrorCode.Forbidden);
  t.like(h.updatesTo(intruder, mark)[0], { taskId: "x", state: "TASK_DROPPED" });
  t.true(h.ctx.offers.has(offer.offerId));
  t.throws(() => h.call(intruder, { type: "scheduler.decline", offerIds: [offer.offerId] }), {
    instanceOf: AgoraError,
  });
  t.true(h.ctx.offers.has(offer.offerId));
  h.call(fid, acceptCall([offer.offerId], [task("mine", aid, { cpus: 4 })]));
  t.is(h.sentTo("agent", aid, "agent.runTask", mark).length, 1);
  t.deepEqual(h.invariants(), []);
});

test("accept - offers of two agents are invalid; the valid offers return to the pool unfiltered", (t) => {
  const h = new Harness();
  const fid = h.addFramework();
  const a1 = h.addAgent({ cpus: 1, mem: 128 });
  const a2 = h.addAgent({ cpus: 1, mem: 128 });
  h.flush();
  const offers = h.offersTo(fid);
  t.is(offers.length, 2);
  t.is(h.sentTo("framework", fid, "event.offers").length, 1, "one event.offers per cycle");
  const err = t.throws(
    () =>
      h.call(
        fid,
        acceptCall(
          offers.map((o) => o.offerId),
          [task("x", a1, { cpus: 1 })],
        ),
      ),
    { instanceOf: AgoraError },
  );
  t.is(err?.code, ErrorCode.InvalidMessage);
  t.is(h.ctx.offers.size, 0);
  t.deepEqual(h.ctx.frameworks.get(fid)?.filters, []);
  const mark = h.mark();
  h.core.allocator.run();
  t.deepEqual(
    h
      .offersTo(fid, mark)
      .map((o) => o.agentId)
      .sort(),
    [a1, a2].sort(),
  );
  t.deepEqual(h.invariants(), []);
});

test("accept - a custom executor's resources count once and go with its last task", (t) => {
  const { h, fid, aid, offer } = setup();
  const executor = {
    executorId: "ex",
    command: { value: "./ex" },
    resources: { cpus: 0.5, mem: 64 },
  };
  const mark = h.mark();
  h.call(
    fid,
    acceptCall(
      [offer.offerId],
      [
        task("e1", aid, { cpus: 1, mem: 128 }, { command: undefined, executor }),
        task("e2", aid, { cpus: 1, mem: 128 }, { command: undefined, executor }),
      ],
    ),
  );
  t.is(h.sentTo("agent", aid, "agent.runTask", mark)[0]?.tasks.length, 2);
  t.deepEqual(h.state().agents[0]?.used, { cpus: 2.5, mem: 320 });
  h.update(aid, fid, { taskId: "e1", state: "TASK_FINISHED" });
  t.deepEqual(h.state().agents[0]?.used, { cpus: 1.5, mem: 192 });
  h.update(aid, fid, { taskId: "e2", state: "TASK_FINISHED" });
  t.deepEqual(h.state().agents[0]?.used, {});
  t.deepEqual(h.invariants(), []);
});

test("accept - refuseSeconds 0 leaves no filter; no operations is a decline", (t) => {
  const { h, fid, aid, offer } = setup();
  h.call(fid, acceptCall([offer.offerId], [task("t", aid, { cpus: 1 })], 0));
  t.deepEqual(h.ctx.frameworks.get(fid)?.filters, []);
  const mark = h.mark();
  h.core.allocator.run();
  const next = h.offersTo(fid, mark)[0]!;
  t.deepEqual(next.resources, { cpus: 3, mem: 4096 });
  h.call(fid, { type: "scheduler.accept", offerIds: [next.offerId], operations: [] });
  t.is(h.ctx.frameworks.get(fid)?.filters.length, 1);
  t.is(h.ctx.offers.size, 0);
  t.deepEqual(h.invariants(), []);
});

test("decline - filters for refuseSeconds (default 5 s); unknown offers are ignored", (t) => {
  const { h, fid, offer } = setup();
  h.call(fid, { type: "scheduler.decline", offerIds: [offer.offerId, "unknown"] });
  t.is(h.metrics.get("declines_unknown_offer"), 1);
  const mark = h.mark();
  h.advance(4999);
  t.deepEqual(h.offersTo(fid, mark), []);
  h.advance(1);
  t.is(h.offersTo(fid, mark).length, 1);
  const again = h.offersTo(fid, mark)[0]!;
  h.call(fid, {
    type: "scheduler.decline",
    offerIds: [again.offerId],
    filters: { refuseSeconds: 30 },
  });
  const mark2 = h.mark();
  h.advance(29_000);
  t.deepEqual(h.offersTo(fid, mark2), []);
  h.advance(1000);
  t.is(h.offersTo(fid, mark2).length, 1);
  t.deepEqual(h.invariants(), []);
});

test("state - each agent's free is resources − used − offered", (t) => {
  const { h, fid, aid, offer } = setup();
  t.like(h.state().agents[0], { offered: { cpus: 4, mem: 4096 }, free: {} });
  h.call(fid, acceptCall([offer.offerId], [task("f1", aid, { cpus: 1, mem: 1024 })]));
  t.like(h.state().agents[0], {
    resources: { cpus: 4, mem: 4096 },
    used: { cpus: 1, mem: 1024 },
    offered: {},
    free: { cpus: 3, mem: 3072 },
  });
});

test("launch - TASK_STAGING is never sent as an update; only a reconciliation answers it", (t) => {
  const { h, fid, aid, offer } = setup();
  const mark = h.mark();
  h.call(fid, acceptCall([offer.offerId], [task("s1", aid, { cpus: 1, mem: 128 })]));
  t.deepEqual(h.updatesTo(fid, mark), [], "the launch itself says nothing to the framework");
  h.call(fid, { type: "scheduler.reconcile", tasks: [{ taskId: "s1" }] });
  const [answer] = h.updatesTo(fid, mark);
  t.like(answer, { taskId: "s1", state: "TASK_STAGING", reason: "REASON_RECONCILIATION" });
  t.is(answer?.uuid, undefined);
  h.update(aid, fid, { taskId: "s1", state: "TASK_RUNNING" });
  t.like(h.updatesTo(fid, mark).at(-1), { taskId: "s1", state: "TASK_RUNNING" });
});

test("accept - tasks that do not fit: ok, TASK_ERROR without uuid, the offer used up, the rest under the default filter", (t) => {
  const { h, fid, aid, offer } = setup();
  const mark = h.mark();
  // the call answers ok (a failure would throw here)
  h.call(fid, acceptCall([offer.offerId], [task("huge", aid, { cpus: 8 })]));
  const updates = h.updatesTo(fid, mark);
  t.is(updates.length, 1);
  t.like(updates[0], {
    taskId: "huge",
    state: "TASK_ERROR",
    reason: "REASON_TASK_INVALID",
    source: "SOURCE_MASTER",
  });
  t.is(updates[0]?.uuid, undefined, "nothing to acknowledge");
  t.deepEqual(h.sentTo("agent", aid, "agent.runTask", mark), [], "nothing launched");
  // the offer is used up: accepting it again is NOT_FOUND (and drops that task)
  const again = t.throws(
    () => h.call(fid, acceptCall([offer.offerId], [task("small", aid, { cpus: 1 })])),
    { instanceOf: AgoraError },
  );
  t.is(again?.code, ErrorCode.NotFound);
  // everything went back to the pool under the default 5 s filter
  const framework = h.ctx.frameworks.get(fid)!;
  t.deepEqual(
    framework.filters.map((f) => [`${f.resources}`, f.expiresAt - h.clock.now()]),
    [["cpus:4;mem:4096", 5000]],
  );
  const mark2 = h.mark();
  h.core.allocator.run();
  t.deepEqual(h.offersTo(fid, mark2), [], "held back by the filter");
  h.advance(5000);
  t.deepEqual(h.offersTo(fid, mark2)[0]?.resources, { cpus: 4, mem: 4096 });
  t.deepEqual(h.invariants(), []);
});

test("decline - a filter holds back only offers contained in the refused resources: more freed is offered at once", (t) => {
  const { h, fid, aid, offer } = setup();
  h.call(fid, acceptCall([offer.offerId], [task("t1", aid, { cpus: 1, mem: 1024 })], 0));
  let mark = h.mark();
  h.core.allocator.run();
  const rest = h.offersTo(fid, mark)[0];
  t.deepEqual(rest?.resources, { cpus: 3, mem: 3072 });
  h.call(fid, {
    type: "scheduler.decline",
    offerIds: [rest!.offerId],
    filters: { refuseSeconds: 60 },
  });
  mark = h.mark();
  h.advance(10_000);
  t.deepEqual(h.offersTo(fid, mark), [], "the same resources stay held back");
  h.update(aid, fid, { taskId: "t1", state: "TASK_FINISHED" });
  h.core.allocator.run();
  t.deepEqual(
    h.offersTo(fid, mark).map((o) => o.resources),
    [{ cpus: 4, mem: 4096 }],
    "an offer larger than the refused one is not contained in it: made before the filter ends",
  );
  t.deepEqual(h.invariants(), []);
});

/**
 * Gang placement in the master core (actors/master/gang.ts): a gang holds
 * what frees up (offered to nobody) until its whole set fits, then gets it in
 * one `event.offers` with its id; `scheduler.acceptGang` launches all or
 * none; a gang that does not fit in time is released, told, and its framework
 * backs off; the boundary checks of `scheduler.requestGang`.
 */
import test from "ava";
import { explain } from "../../../actors/master/operator.ts";
import { removeRoleQuota, setRoleQuota } from "../../../actors/master/roles.ts";
import { type AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { checkerOf } from "../../../protocol/registry.ts";
import { Harness, task } from "./harness.ts";

const member = { resources: { cpus: 2, mem: 512 } };

/** Two agents of 2 cpus, each full with one task of `small`; `train` subscribed. */
function fullCluster(overrides = {}) {
  const h = new Harness(overrides);
  const a1 = h.addAgent({ cpus: 2, mem: 1024 });
  const a2 = h.addAgent({ cpus: 2, mem: 1024 });
  const small = h.addFramework({ name: "small", roles: ["small"] });
  h.flush();
  for (const [i, offer] of h.offersTo(small).entries()) {
    h.call(small, {
      type: "scheduler.accept",
      offerIds: [offer.offerId],
      operations: [
        { type: "launch", tasks: [task(`s${i + 1}`, offer.agentId, { cpus: 2, mem: 1024 })] },
      ],
    });
    h.update(offer.agentId, small, { taskId: `s${i + 1}` });
  }
  // train wants its gang only: ordinary offers suppressed (a gang is placed all the same)
  const train = h.addFramework({ name: "train", roles: ["train"] }, ["train"]);
  return { h, a1, a2, small, train };
}

function requestGang(h: Harness, train: string, timeoutSeconds = 10, members = 2) {
  h.call(train, {
    type: "scheduler.requestGang",
    gangId: "g",
    members: Array.from({ length: members }, () => member),
    spread: true,
    timeoutSeconds,
  });
}

test("gang - what frees up is held (offered to nobody) until the whole set fits, then offered in one event", (t) => {
  const { h, a1, a2, small, train } = fullCluster();
  requestGang(h, train);
  h.advance(1000);
  const mark = h.mark();
  h.update(a1, small, { taskId: "s1", state: "TASK_FINISHED" });
  h.advance(1000);
  // a member's worth of a1 is held; small is offered only what the gang does not need
  t.deepEqual(h.state().gangs, [
    {
      frameworkId: train,
      gangId: "g",
      role: "train",
      members: 2,
      spread: true,
      state: "HOLDING",
      deadline: h.ctx.gangs.gangs.values().next().value!.deadline,
      held: { [a1]: { cpus: 2, mem: 512 } },
    },
  ]);
  t.deepEqual(
    h.offersTo(small, mark).map((o) => [o.agentId, o.resources]),
    [[a1, { mem: 512 }]],
  );
  t.deepEqual(h.offersTo(train, mark), []);
  const why = explain(h.ctx, { frameworkId: small });
  t.is(why.roles[0]?.reasons[0]?.kind, "heldForGang");
  t.regex(
    why.roles[0]?.reasons[0]?.message ?? "",
    /held for gang g of framework .* on 1 agent\(s\): cpus:2;mem:512/,
  );

  h.update(a2, small, { taskId: "s2", state: "TASK_FINISHED" });
  const placed = h.mark();
  h.advance(1000);
  const events = h.sentTo("framework", train, "event.offers", placed);
  t.is(events.length, 1);
  t.is(events[0]?.gangId, "g");
  t.deepEqual(
    events[0]?.offers.map((o) => [o.agentId, o.resources]),
    [
      [a1, { cpus: 2, mem: 512 }],
      [a2, { cpus: 2, mem: 512 }],
    ],
  );
  t.is(h.metrics.get("gangs_placed"), 1);
  t.deepEqual(
    h.state().gangs?.map((g) => g.state),
    ["OFFERED"],
  );
  t.deepEqual(h.invariants(), []);

  // all fit: each agent gets its member
  const launch = h.mark();
  h.call(train, {
    type: "scheduler.acceptGang",
    gangId: "g",
    tasks: [task("m1", a1, member.resources), task("m2", a2, member.resources)],
  });
  t.deepEqual(
    [a1, a2].map((a) =>
      h.sentTo("agent", a, "agent.runTask", launch).flatMap((m) => m.tasks.map((x) => x.taskId)),
    ),
    [["m1"], ["m2"]],
  );
  t.is(h.state().gangs, undefined);
  t.deepEqual(h.invariants(), []);

  // after launch, members are tasks like any other: one failing leaves the other running
  const after = h.mark();
  h.update(a1, train, { taskId: "m1" });
  h.update(a2, train, { taskId: "m2" });
  h.update(a1, train, { taskId: "m1", state: "TASK_FAILED" });
  h.advance(1000);
  t.deepEqual(h.sentTo("agent", a2, "agent.killTask", after), []);
  t.is(h.ctx.frameworks.get(train)?.tasks.get("m2")?.state, "TASK_RUNNING");
});

test("gang - acceptGang launches none when one member does not fit its offer", (t) => {
  const { h, a1, a2, small, train } = fullCluster();
  requestGang(h, train);
  h.update(a1, small, { taskId: "s1", state: "TASK_FINISHED" });
  h.update(a2, small, { taskId: "s2", state: "TASK_FINISHED" });
  h.advance(1000);
  t.is(h.sentTo("framework", train, "event.offers").at(-1)?.gangId, "g");
  const mark = h.mark();
  h.call(train, {
    type: "scheduler.acceptGang",
    gangId: "g",
    tasks: [task("m1", a1, member.resources), task("m2", a2, { cpus: 3, mem: 512 })],
  });
  t.deepEqual(h.sentTo("agent", a1, "agent.runTask", mark), []);
  t.deepEqual(h.sentTo("agent", a2, "agent.runTask", mark), []);
  const updates = h.updatesTo(train, mark).map((s) => [s.taskId, s.state, s.reason]);
  t.deepEqual(updates, [
    ["m1", "TASK_DROPPED", "REASON_TASK_GROUP_INVALID"],
    ["m2", "TASK_ERROR", "REASON_TASK_INVALID"],
  ]);
  t.regex(
    h.updatesTo(train, mark)[0]?.message ?? "",
    /^gang g launches all or none: task m2: task resources/,
  );
  t.deepEqual(
    Array.from(h.ctx.offers.values()).filter((o) => o.frameworkId === train),
    [],
  );
  t.deepEqual(h.invariants(), []);
  // the gang is over: accepting it again fails
  const err = t.throws(() =>
    h.call(train, {
      type: "scheduler.acceptGang",
      gangId: "g",
      tasks: [task("m1", a1, member.resources)],
    }),
  ) as AgoraError;
  t.is(err.code, ErrorCode.NotFound);
});

test("gang - not placed within its timeout: released, told, and its framework's gangs back off", (t) => {
  const { h, a1, small, train } = fullCluster({ gangBackoff: 5000 });
  requestGang(h, train, 3);
  h.update(a1, small, { taskId: "s1", state: "TASK_FINISHED" });
  h.advance(1000);
  t.deepEqual(Object.keys(h.state().gangs?.[0]?.held ?? {}), [a1]);
  const mark = h.mark();
  h.advance(2500);
  t.deepEqual(h.sentTo("framework", train, "event.gangTimedOut", mark), [
    {
      type: "event.gangTimedOut",
      gangId: "g",
      reason: "the whole set of 2 members did not fit within 3 s (held on 1 agents); released",
      backoffSeconds: 5,
    },
  ]);
  t.is(h.state().gangs, undefined);
  // what it held goes to others at once (the rest of a1 was offered before)
  t.deepEqual(
    h.offersTo(small, mark).map((o) => [o.agentId, o.resources]),
    [[a1, { cpus: 2, mem: 512 }]],
  );
  t.is(h.metrics.get("gangs_timed_out"), 1);

  // during the back-off a new gang of the framework holds nothing
  for (const offer of h.offersTo(small, mark)) {
    h.call(small, {
      type: "scheduler.decline",
      offerIds: [offer.offerId],
      filters: { refuseSeconds: 0 },
    });
  }
  requestGang(h, train, 3);
  h.advance(1000);
  t.deepEqual(
    h.state().gangs?.map((g) => [g.state, g.held]),
    [["BACKING_OFF", {}]],
  );
  h.advance(4000);
  t.deepEqual(
    h.state().gangs?.map((g) => g.state),
    ["HOLDING"],
  );
});

test("gang - what gangs hold together stays within the hold fraction of the cluster", (t) => {
  const { h, a1, a2, small, train } = fullCluster({ gangHoldFraction: 0.25 });
  requestGang(h, train);
  const mark = h.mark();
  h.update(a1, small, { taskId: "s1", state: "TASK_FINISHED" });
  h.advance(1000);
  // 25% of 4 cpus is 1: not even one member of 2 cpus is held, a1 is offered to small
  t.deepEqual(h.state().gangs?.[0]?.held, {});
  const offered = h.offersTo(small, mark).filter((o) => o.agentId === a1 && o.resources.cpus === 2);
  t.is(offered.length, 1);
  // a whole set that fits at once is still placed
  h.call(small, {
    type: "scheduler.decline",
    offerIds: offered.map((o) => o.offerId),
    filters: { refuseSeconds: 60 },
  });
  h.update(a2, small, { taskId: "s2", state: "TASK_FINISHED" });
  h.advance(1000);
  t.deepEqual(
    h.state().gangs?.map((g) => g.state),
    ["OFFERED"],
  );
});

test("gang - scheduler.requestGang is checked at the boundary", (t) => {
  const { h, train } = fullCluster();
  const check = checkerOf("scheduler.requestGang")!;
  const call = {
    type: "scheduler.requestGang",
    gangId: "g",
    members: [member],
    timeoutSeconds: 10,
  };
  t.true(check.Check(call));
  t.false(check.Check({ ...call, members: [] }));
  t.false(check.Check({ ...call, members: Array.from({ length: 1001 }, () => member) }));
  t.false(check.Check({ ...call, timeoutSeconds: 0 }));
  t.false(check.Check({ ...call, timeoutSeconds: 3601 }));
  const role = t.throws(() =>
    h.call(train, {
      type: "scheduler.requestGang",
      gangId: "g",
      role: "web",
      members: [member],
      timeoutSeconds: 1,
    }),
  ) as AgoraError;
  t.is(role.code, ErrorCode.NotFound);
  const reserved = t.throws(() =>
    h.call(train, {
      type: "scheduler.requestGang",
      gangId: "g",
      members: [member, { resources: { "cpus(train)": 1 } }],
      timeoutSeconds: 1,
    }),
  ) as AgoraError;
  t.is(reserved.code, ErrorCode.InvalidResources);
  t.regex(reserved.message, /^members\[1\]: a gang member is unreserved scalar resources/);
  const unknown = t.throws(() =>
    h.call(train, { type: "scheduler.withdrawGang", gangId: "nope" }),
  ) as AgoraError;
  t.is(unknown.code, ErrorCode.NotFound);
  requestGang(h, train);
  h.call(train, { type: "scheduler.withdrawGang", gangId: "g" });
  t.is(h.state().gangs, undefined);
});

test("gang - asking again or for another gang does not prolong holding past a timeout", (t) => {
  const { h, a1, small, train } = fullCluster({ gangBackoff: 5000 });
  requestGang(h, train, 3);
  h.call(train, {
    type: "scheduler.requestGang",
    gangId: "other",
    members: [member, member],
    spread: true,
    timeoutSeconds: 60,
  });
  h.update(a1, small, { taskId: "s1", state: "TASK_FINISHED" });
  h.advance(1000);
  // "g" asked again while it holds: replaced, and the framework backs off at once
  requestGang(h, train, 3);
  h.advance(500);
  t.deepEqual(
    h.state().gangs?.map((g) => [g.gangId, g.state, Object.keys(g.held).length]),
    [
      ["other", "BACKING_OFF", 0],
      ["g", "BACKING_OFF", 0],
    ],
  );
  // each one's timeout starts again when the back-off ends
  const [other, g] = Array.from(h.ctx.gangs.gangs.values());
  t.is(other!.deadline - other!.holdFrom, 60_000);
  t.is(g!.deadline, g!.holdFrom + 3000);
  t.is(g!.holdFrom, other!.holdFrom);
});

test("gang - a set beyond its role's quota limit is neither offered nor held, and times out saying so", (t) => {
  const { h, a1, a2, small, train } = fullCluster();
  setRoleQuota(h.ctx, "train", { limit: { cpus: 3, mem: 4096 } });
  requestGang(h, train, 3);
  h.update(a1, small, { taskId: "s1", state: "TASK_FINISHED" });
  h.update(a2, small, { taskId: "s2", state: "TASK_FINISHED" });
  const mark = h.mark();
  h.advance(1000);
  t.deepEqual(h.sentTo("framework", train, "event.offers", mark), []);
  t.deepEqual(h.state().gangs?.[0]?.held, {});
  h.advance(2500);
  t.deepEqual(
    h.sentTo("framework", train, "event.gangTimedOut", mark).map((e) => e.reason),
    [
      "the whole set of 2 members would exceed the quota limit cpus:3;mem:4096 of role train (consumed nothing, the set cpus:4;mem:1024)",
    ],
  );
});

test("gang - a set that would eat the headroom kept for another role's guarantee waits, holding nothing", (t) => {
  const { h, a1, a2, small, train } = fullCluster();
  setRoleQuota(h.ctx, "prod", { guarantee: { cpus: 2 } });
  requestGang(h, train, 3);
  h.update(a1, small, { taskId: "s1", state: "TASK_FINISHED" });
  h.update(a2, small, { taskId: "s2", state: "TASK_FINISHED" });
  const mark = h.mark();
  h.advance(1000);
  t.deepEqual(h.sentTo("framework", train, "event.offers", mark), []);
  t.deepEqual(h.state().gangs?.[0]?.held, {});
  // what was free went to small meanwhile (within the headroom); it gives it back
  const held = Array.from(h.ctx.offers.values()).filter((o) => o.frameworkId === small);
  t.true(held.length > 0);
  h.call(small, {
    type: "scheduler.decline",
    offerIds: held.map((o) => o.offerId),
    filters: { refuseSeconds: 60 },
  });
  removeRoleQuota(h.ctx, "prod");
  h.advance(1000);
  t.is(h.sentTo("framework", train, "event.offers", mark).at(-1)?.gangId, "g");
});

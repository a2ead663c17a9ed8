/**
 * Drain, deactivation, maintenance windows and inverse offers (Mesos 1.9
 * `DRAIN_AGENT`, `DEACTIVATE_AGENT`, `REACTIVATE_AGENT`, maintenance
 * primitives) on the broker-free master.
 */
import test from "ava";
import { handleOperatorCall, NO_CONTROLS } from "../../../actors/master/operator.ts";
import { recoverFromRegistry } from "../../../actors/master/recovery.ts";
import { MemoryRegistry, parseSnapshot } from "../../../actors/master/registry.ts";
import { silentLogger } from "../../../infra/logger.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { acceptCall, Harness, task } from "./harness.ts";

type OperatorCall = Parameters<typeof handleOperatorCall>[2];
const op = (h: Harness, call: OperatorCall) => handleOperatorCall(h.ctx, NO_CONTROLS, call);

/** One framework with two tasks on agent a1 and nothing on a2. */
function running(h = new Harness()) {
  const fid = h.addFramework({ failoverTimeoutSeconds: 100 });
  const a1 = h.addAgent({ cpus: 4, mem: 4096 }, "h1");
  h.flush();
  const offer = h.offersTo(fid).find((o) => o.agentId === a1)!;
  h.call(
    fid,
    acceptCall(
      [offer.offerId],
      [
        task("t1", a1, { cpus: 1, mem: 256 }, { killPolicy: { gracePeriodSeconds: 30 } }),
        task("t2", a1, { cpus: 1, mem: 256 }),
      ],
      0,
    ),
  );
  h.update(a1, fid, { taskId: "t1", state: "TASK_RUNNING", uuid: "u1" });
  h.update(a1, fid, { taskId: "t2", state: "TASK_RUNNING", uuid: "u2" });
  h.call(fid, { type: "scheduler.acknowledge", agentId: a1, taskId: "t1", uuid: "u1" });
  h.call(fid, { type: "scheduler.acknowledge", agentId: a1, taskId: "t2", uuid: "u2" });
  const a2 = h.addAgent({ cpus: 2, mem: 1024 }, "h2");
  h.flush();
  return { h, fid, a1, a2 };
}

const agentState = (h: Harness, id: string) => h.state().agents.find((a) => a.id === id);

function offeredAgents(h: Harness, fid: string, from: number): string[] {
  return [...new Set(h.offersTo(fid, from).map((o) => o.agentId))].sort();
}

test("drain - deactivates, rescinds, sends inverse offers and kills with the bounded grace period; DRAINED when empty", (t) => {
  const { h, fid, a1, a2 } = running();
  const outstanding = h.ctx.offers.size;
  let mark = h.mark();
  const reply = op(h, {
    type: "operator.drainAgent",
    agentId: a1,
    maxGracePeriodSeconds: 5,
  });
  t.is(reply, undefined, "ok");
  t.like(agentState(h, a1), { deactivated: true, drain: { state: "DRAINING", markGone: false } });
  t.true(
    [...h.ctx.offers.values()].every((o) => o.agentId !== a1),
    "no offer of the draining agent is outstanding",
  );
  t.true(h.ctx.offers.size <= outstanding);
  const inverse = h.sentTo("framework", fid, "event.inverseOffers", mark);
  t.is(inverse.length, 1);
  t.like(inverse[0]!.inverseOffers[0], { agentId: a1, hostname: "h1" });
  t.deepEqual(
    h.sentTo("agent", a1, "agent.killTask", mark).map((k) => [k.taskId, k.maxGracePeriodSeconds]),
    [
      ["t1", 5],
      ["t2", 5],
    ],
  );
  t.deepEqual(
    h.sentTo("cluster", "agent.updated", "cluster.agentUpdated", mark).map((e) => e.drain?.state),
    ["DRAINING"],
  );

  // the kills come back: the framework sees REASON_AGENT_DRAINING
  mark = h.mark();
  h.update(a1, fid, { taskId: "t1", state: "TASK_KILLED", uuid: "k1" });
  t.like(agentState(h, a1), { drain: { state: "DRAINING" } }, "t2 still runs");
  h.update(a1, fid, { taskId: "t2", state: "TASK_KILLED", uuid: "k2" });
  t.deepEqual(
    h.updatesTo(fid, mark).map((s) => [s.taskId, s.state, s.reason]),
    [
      ["t1", "TASK_KILLED", "REASON_AGENT_DRAINING"],
      ["t2", "TASK_KILLED", "REASON_AGENT_DRAINING"],
    ],
  );
  t.like(agentState(h, a1), { deactivated: true, drain: { state: "DRAINED" } });
  t.deepEqual(
    h.sentTo("framework", fid, "event.rescindInverseOffer", mark).map((m) => m.inverseOfferId),
    [inverse[0]!.inverseOffers[0]!.inverseOfferId],
  );

  // a drained agent is not offered; reactivated, it is offered again
  mark = h.mark();
  h.advance(2000);
  t.false(offeredAgents(h, fid, mark).includes(a1));
  op(h, { type: "operator.reactivateAgent", agentId: a1 });
  h.flush();
  t.true(offeredAgents(h, fid, mark).includes(a1));
  t.is(agentState(h, a1)?.drain, undefined);
  t.is(agentState(h, a1)?.deactivated, undefined);
  t.true(offeredAgents(h, fid, 0).includes(a2));
  t.deepEqual(h.invariants(), []);
});

test("drain - with a deadline the tasks keep running until it passes", (t) => {
  const { h, fid, a1 } = running();
  const mark = h.mark();
  op(h, { type: "operator.drainAgent", agentId: a1, deadlineSeconds: 10 });
  const inverse = h.sentTo("framework", fid, "event.inverseOffers", mark)[0]!.inverseOffers[0]!;
  t.is(inverse.unavailability.start, h.clock.now() + 10_000, "the framework is told when");
  h.advance(9000);
  t.deepEqual(h.sentTo("agent", a1, "agent.killTask", mark), []);
  h.advance(1500);
  t.deepEqual(
    h.sentTo("agent", a1, "agent.killTask", mark).map((k) => k.taskId),
    ["t1", "t2"],
  );
  t.is(h.sentTo("agent", a1, "agent.killTask", mark)[0]!.maxGracePeriodSeconds, undefined);
});

test("drain - markGone: TASK_GONE_BY_OPERATOR, then the agent is removed for good", (t) => {
  const { h, fid, a1 } = running();
  op(h, { type: "operator.drainAgent", agentId: a1, markGone: true });
  const mark = h.mark();
  h.update(a1, fid, { taskId: "t1", state: "TASK_KILLED", uuid: "k1" });
  h.update(a1, fid, { taskId: "t2", state: "TASK_KILLED", uuid: "k2" });
  t.deepEqual(
    h.updatesTo(fid, mark).map((s) => [s.state, s.reason]),
    [
      ["TASK_GONE_BY_OPERATOR", "REASON_AGENT_DRAINING"],
      ["TASK_GONE_BY_OPERATOR", "REASON_AGENT_DRAINING"],
    ],
  );
  t.is(agentState(h, a1), undefined);
  t.true(h.ctx.removedAgents.has(a1));
  t.is(h.sentTo("agent", a1, "agent.shutdown", mark).length, 1);
  t.deepEqual(h.invariants(), []);
});

test("drain - an agent without tasks is DRAINED at once", (t) => {
  const { h, a2 } = running();
  op(h, { type: "operator.drainAgent", agentId: a2 });
  t.like(agentState(h, a2), { drain: { state: "DRAINED" } });
});

test("deactivate - no offers, tasks untouched", (t) => {
  const { h, fid, a1, a2 } = running();
  const mark = h.mark();
  op(h, { type: "operator.deactivateAgent", agentId: a2 });
  h.advance(3000);
  t.false(offeredAgents(h, fid, mark).includes(a2));
  t.deepEqual(h.sentTo("agent", a1, "agent.killTask", mark), []);
  t.like(agentState(h, a2), { deactivated: true });
  t.is(agentState(h, a2)?.drain, undefined);
});

test("operator errors: unknown agent, reactivating an active one, an unknown inverse offer", (t) => {
  const { h, fid, a1 } = running();
  t.throws(() => op(h, { type: "operator.drainAgent", agentId: "nope" }), {
    message: "agent nope is not known",
  });
  t.throws(() => op(h, { type: "operator.reactivateAgent", agentId: a1 }), {
    message: `agent ${a1} is not deactivated`,
  });
  t.throws(
    () => h.call(fid, { type: "scheduler.acceptInverseOffers", inverseOfferIds: ["IO-x"] }),
    { message: "inverse offer IO-x not outstanding for this framework" },
  );
});

test("inverse offers - the framework's answer is in the state", (t) => {
  const { h, fid, a1 } = running();
  const mark = h.mark();
  op(h, { type: "operator.drainAgent", agentId: a1, deadlineSeconds: 60 });
  const id = h.sentTo("framework", fid, "event.inverseOffers", mark)[0]!.inverseOffers[0]!
    .inverseOfferId;
  t.deepEqual(agentState(h, a1)?.inverseOffers, [
    { inverseOfferId: id, frameworkId: fid, status: "OUTSTANDING" },
  ]);
  h.call(fid, { type: "scheduler.declineInverseOffers", inverseOfferIds: [id] });
  t.is(agentState(h, a1)?.inverseOffers?.[0]?.status, "DECLINED");
  h.call(fid, { type: "scheduler.acceptInverseOffers", inverseOfferIds: [id] });
  t.is(agentState(h, a1)?.inverseOffers?.[0]?.status, "ACCEPTED");
});

test("maintenance - inverse offers when scheduled, drained at the start, reactivated at the end", (t) => {
  const { h, fid, a1 } = running();
  const start = h.clock.now() + 5000;
  let mark = h.mark();
  op(h, {
    type: "operator.updateMaintenanceSchedule",
    windows: [{ machines: [{ hostname: "h1" }], unavailability: { start, durationMs: 10_000 } }],
  });
  t.deepEqual(
    (
      op(h, {
        type: "operator.getMaintenanceSchedule",
      }) as MessageOf<"operator.maintenanceSchedule">
    ).windows.length,
    1,
  );
  const inverse = h.sentTo("framework", fid, "event.inverseOffers", mark);
  t.deepEqual(inverse[0]?.inverseOffers[0]?.unavailability, { start, durationMs: 10_000 });
  t.like(agentState(h, a1), { unavailability: { start } });
  t.is(agentState(h, a1)?.drain, undefined, "not drained before the window");
  h.advance(5500);
  t.like(agentState(h, a1), { deactivated: true, drain: { state: "DRAINING", scheduled: true } });
  t.deepEqual(
    h.sentTo("agent", a1, "agent.killTask", mark).map((k) => k.taskId),
    ["t1", "t2"],
  );
  h.update(a1, fid, { taskId: "t1", state: "TASK_KILLED", uuid: "k1" });
  h.update(a1, fid, { taskId: "t2", state: "TASK_KILLED", uuid: "k2" });
  t.like(agentState(h, a1), { drain: { state: "DRAINED" } });
  mark = h.mark();
  h.advance(10_000);
  t.is(agentState(h, a1)?.drain, undefined, "the window ended");
  t.true(offeredAgents(h, fid, mark).includes(a1));
  t.deepEqual(h.invariants(), []);
});

test("maintenance - a window naming neither an agent id nor a hostname is refused", (t) => {
  const { h } = running();
  t.throws(
    () =>
      op(h, {
        type: "operator.updateMaintenanceSchedule",
        windows: [{ machines: [{}], unavailability: { start: 0 } }],
      }),
    { message: "windows[0].machines[0] names neither an agentId nor a hostname" },
  );
});

test("drain - survives a master failover; kills resume when the agent reregisters", (t) => {
  const registry = new MemoryRegistry();
  const first = running(new Harness({ masterId: "m1" }, { registry }));
  op(first.h, { type: "operator.drainAgent", agentId: first.a1, deadlineSeconds: 1 });
  const h = new Harness({ masterId: "m2", agentReregisterTimeout: 30_000 }, { registry });
  recoverFromRegistry(h.ctx, parseSnapshot(registry.values, silentLogger(), h.metrics));
  const { fid, a1 } = first;
  t.like(agentState(h, a1), { deactivated: true, drain: { state: "DRAINING" } });
  h.addFramework({ frameworkId: fid, failoverTimeoutSeconds: 100 });
  h.clock.advanceTo(h.clock.now() + 2000);
  const mark = h.mark();
  h.agent(
    a1,
    {
      type: "agent.reregister",
      agentId: a1,
      hostname: "h1",
      resources: { cpus: 4, mem: 4096 },
      attributes: {},
      tasks: ["t1", "t2"].map((taskId) => ({
        frameworkId: fid,
        role: "*",
        executorId: taskId,
        task: task(taskId, a1, { cpus: 1, mem: 256 }),
        status: { taskId, state: "TASK_RUNNING" as const, timestamp: 1, agentId: a1, uuid: "u1" },
      })),
    },
    true,
  );
  t.deepEqual(
    h.sentTo("agent", a1, "agent.killTask", mark).map((k) => k.taskId),
    ["t1", "t2"],
  );
  t.is(h.sentTo("framework", fid, "event.inverseOffers", mark).length, 1);
});

/**
 * A new leader's recovery on the network-free core: what it restores from the
 * registry, the allocation pause, the agent reregister timeout, Mesos's
 * reconciliation answers while agents are not back, framework failover
 * (unacknowledged updates resent) and partitions (unreachable, gone).
 */
import test from "ava";
import { handleOperatorCall, NO_CONTROLS } from "../../../actors/master/operator.ts";
import { recoverFromRegistry } from "../../../actors/master/recovery.ts";
import { MemoryRegistry, parseSnapshot } from "../../../actors/master/registry.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import type { FrameworkInfo } from "../../../protocol/frameworks.ts";
import { decodeRecord, encodeRecord, StoreChecks, StoreKeys } from "../../../protocol/store.ts";
import { acceptCall, Harness, task } from "./harness.ts";

/** A first leader with one framework running t1 on one of two agents, weights set. */
function firstLeader(framework: Partial<FrameworkInfo> = {}) {
  const registry = new MemoryRegistry();
  const h = new Harness({ masterId: "m1" }, { registry });
  const fid = h.addFramework({ failoverTimeoutSeconds: 100, ...framework });
  const a1 = h.addAgent({ cpus: 4, mem: 4096 }, "h1");
  const a2 = h.addAgent({ cpus: 4, mem: 4096 }, "h2");
  h.flush();
  const offer = h.offersTo(fid).find((o) => o.agentId === a1)!;
  h.call(fid, acceptCall([offer.offerId], [task("t1", a1, { cpus: 1, mem: 256 })], 0));
  h.update(a1, fid, { taskId: "t1", state: "TASK_RUNNING", uuid: "u1" });
  handleOperatorCall(h.ctx, NO_CONTROLS, { type: "operator.setWeights", weights: { "*": 2 } });
  handleOperatorCall(h.ctx, NO_CONTROLS, {
    type: "operator.setPriorities",
    priorities: { "*": 3 },
  });
  return { registry, h, fid, a1, a2 };
}

/** The next leader: a fresh core over the same registry, recovered. */
function nextLeader(registry: MemoryRegistry, overrides = {}) {
  const h = new Harness(
    { masterId: "m2", agentReregisterTimeout: 30_000, ...overrides },
    {
      registry,
    },
  );
  const snapshot = parseSnapshot(registry.values, silentLogger(), h.metrics);
  recoverFromRegistry(h.ctx, snapshot);
  return h;
}

function reregister(h: Harness, agentId: string, fid: string, state = "TASK_RUNNING" as const) {
  return h.agent(
    agentId,
    {
      type: "agent.reregister",
      agentId,
      hostname: agentId === "m1-S0" ? "h1" : "h2",
      resources: { cpus: 4, mem: 4096 },
      attributes: {},
      tasks:
        agentId === "m1-S0"
          ? [
              {
                frameworkId: fid,
                role: "*",
                executorId: "t1",
                task: task("t1", agentId, { cpus: 1, mem: 256 }),
                status: { taskId: "t1", state, timestamp: 1, agentId, uuid: "u1" },
              },
            ]
          : [],
    },
    true,
  );
}

test("recovery - agents come back recovered and are asked to reregister; frameworks disconnected and told to resubscribe", (t) => {
  const { registry, fid, a1, a2 } = firstLeader();
  const h = nextLeader(registry);
  const state = h.state();
  t.deepEqual(
    state.agents.map((a) => [a.id, a.hostname, a.status, a.active]),
    [
      [a1, "h1", "recovered", false],
      [a2, "h2", "recovered", false],
    ],
  );
  t.deepEqual(state.total, {}, "recovered agents are not counted");
  t.deepEqual(
    state.frameworks.map((f) => [f.id, f.active]),
    [[fid, false]],
  );
  t.is(state.roles["*"]?.weight, 2, "weights restored");
  t.is(state.roles["*"]?.priority, 3, "priorities restored");
  t.like(state.recovery, { paused: true, expected: 2, reregistered: 0 });
  t.is(h.sentTo("agent", a1, "agent.reregisterRequest").length, 1);
  t.is(h.sentTo("agent", a2, "agent.reregisterRequest").length, 1);
  t.deepEqual(h.sentTo("framework", fid, "event.resubscribe"), [
    { type: "event.resubscribe", masterId: "m2" },
  ]);
});

test("recovery - allocation pauses until the configured share of agents is back", (t) => {
  const { registry, fid, a1, a2 } = firstLeader();
  const h = nextLeader(registry, { recoveryAgentFraction: 1 });
  h.addFramework({ frameworkId: fid, failoverTimeoutSeconds: 100 });
  reregister(h, a1, fid);
  h.agent(a1, { type: "agent.heartbeat" });
  h.flush();
  t.is(h.core.allocator.run(), 0, "paused while one of two agents is back");
  t.like(h.state().recovery, { paused: true, reregistered: 1 });
  reregister(h, a2, fid);
  h.agent(a2, { type: "agent.heartbeat" });
  h.flush();
  t.is(h.state().recovery, undefined);
  t.true(h.offersTo(fid).length > 0, "offers resume");
  t.deepEqual(h.invariants(), []);
});

test("recovery - agents not back within the reregister timeout become unreachable (stored); allocation resumes", (t) => {
  const { registry, fid, a1, a2 } = firstLeader();
  const h = nextLeader(registry);
  h.addFramework({ frameworkId: fid, failoverTimeoutSeconds: 100 });
  reregister(h, a1, fid);
  h.alive.agents.add(a1);
  h.advance(29_000);
  t.like(h.state().recovery, { paused: true });
  h.advance(1500);
  t.is(h.state().recovery, undefined);
  t.is(h.ctx.agents.get(a2)?.status, "unreachable");
  t.like(decodeRecord(registry.values.get(StoreKeys.agent(a2))!, StoreChecks.agent), {
    state: "unreachable",
  });
  t.true(
    h.offersTo(fid).some((o) => o.agentId === a1),
    "the agent that came back is offered",
  );
});

test("recovery - ids assigned after a restart with the same master id never repeat", (t) => {
  const { registry } = firstLeader();
  const h = nextLeader(registry, { masterId: "m1" });
  t.not(h.addAgent({ cpus: 1 }), "m1-S0");
  t.is(h.ctx.sequence.agents, 3);
});

test("reconciliation - explicit: recovered agent no answer, unreachable TASK_UNREACHABLE, gone TASK_GONE, unknown TASK_UNKNOWN", (t) => {
  const { registry, fid, a1, a2 } = firstLeader({ capabilities: ["PARTITION_AWARE"] });
  const h = nextLeader(registry, { agentRemovalTimeout: 0 });
  // resubscribed partition-aware (its info replaces the stored one): told TASK_UNREACHABLE
  h.addFramework({
    frameworkId: fid,
    failoverTimeoutSeconds: 100,
    capabilities: ["PARTITION_AWARE"],
  });
  let mark = h.mark();
  h.call(fid, {
    type: "scheduler.reconcile",
    tasks: [{ taskId: "t1", agentId: a1 }, { taskId: "t9" }],
  });
  t.deepEqual(h.updatesTo(fid, mark), [], "a task on an agent not back yet is not answered");
  reregister(h, a1, fid);
  mark = h.mark();
  h.call(fid, {
    type: "scheduler.reconcile",
    tasks: [
      { taskId: "t1", agentId: a1 },
      { taskId: "t2", agentId: a1 },
      { taskId: "t3", agentId: "nobody" },
    ],
  });
  t.deepEqual(
    h.updatesTo(fid, mark).map((u) => [u.taskId, u.state]),
    [
      ["t1", "TASK_RUNNING"],
      ["t2", "TASK_UNKNOWN"],
      ["t3", "TASK_UNKNOWN"],
    ],
  );
  h.advance(31_000);
  t.is(h.ctx.agents.get(a2)?.status, "unreachable");
  h.ctx.removedAgents.add("gone-agent");
  mark = h.mark();
  h.call(fid, {
    type: "scheduler.reconcile",
    tasks: [
      { taskId: "t4", agentId: a2 },
      { taskId: "t5", agentId: "gone-agent" },
      { taskId: "t6" },
    ],
  });
  t.deepEqual(
    h.updatesTo(fid, mark).map((u) => [u.taskId, u.state]),
    [
      ["t4", "TASK_UNREACHABLE"],
      ["t5", "TASK_GONE"],
      ["t6", "TASK_UNKNOWN"],
    ],
  );
});

test("reconciliation - implicit answers the known non-terminal tasks only", (t) => {
  const { h, fid, a1 } = firstLeader();
  h.core.allocator.run();
  const offer = Array.from(h.ctx.frameworks.get(fid)!.offers).find((o) => o.agentId === a1)!;
  h.call(fid, acceptCall([offer.offerId], [task("t2", a1, { cpus: 1, mem: 128 })], 0));
  h.update(a1, fid, { taskId: "t2", state: "TASK_FINISHED", uuid: "u2" });
  t.is(
    h.ctx.frameworks.get(fid)?.tasks.get("t2")?.state,
    "TASK_FINISHED",
    "terminal, not acknowledged",
  );
  const mark = h.mark();
  h.call(fid, { type: "scheduler.reconcile", tasks: [] });
  t.deepEqual(
    h.updatesTo(fid, mark).map((u) => [u.taskId, u.state]),
    [["t1", "TASK_RUNNING"]],
  );
});

test("framework failover - a framework not subscribed here gets NOT_SUBSCRIBED; on resubscription its unacknowledged updates come again", (t) => {
  const { registry, fid, a1 } = firstLeader();
  const h = nextLeader(registry);
  const err = t.throws(() => h.call(fid, { type: "scheduler.heartbeat" }), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.NotSubscribed);
  t.true(err?.retryable);
  t.throws(() => h.call(fid, { type: "scheduler.heartbeat" }, false));
  t.like(h.sentTo("framework", fid, "event.error").at(-1), { code: ErrorCode.NotSubscribed });
  reregister(h, a1, fid);
  const mark = h.mark();
  h.addFramework({ frameworkId: fid, failoverTimeoutSeconds: 100 });
  t.deepEqual(
    h.updatesTo(fid, mark).map((u) => [u.taskId, u.state, u.uuid]),
    [["t1", "TASK_RUNNING", "u1"]],
    "the update not acknowledged is sent again with its uuid",
  );
  h.call(fid, { type: "scheduler.acknowledge", agentId: a1, taskId: "t1", uuid: "u1" });
  h.alive.frameworks.delete(fid);
  h.advance(20_000);
  const again = h.mark();
  h.addFramework({ frameworkId: fid, failoverTimeoutSeconds: 100 });
  t.deepEqual(h.updatesTo(fid, again), [], "nothing to resend once acknowledged");
});

test("framework failover - a recovered framework that never comes back is removed after its failover timeout, at least the reregister timeout", (t) => {
  const { registry, fid } = firstLeader({ failoverTimeoutSeconds: 1 });
  const h = nextLeader(registry);
  h.advance(29_000);
  t.is(h.ctx.frameworks.get(fid)?.status, "disconnected");
  h.advance(2000);
  t.is(h.ctx.frameworks.get(fid), undefined);
  t.true(h.ctx.removedFrameworks.has(fid));
});

test("partitions - an unreachable agent reregisters with its tasks: TASK_UNREACHABLE then TASK_RUNNING", (t) => {
  const { h, fid, a1 } = firstLeader({ capabilities: ["PARTITION_AWARE"] });
  h.call(fid, { type: "scheduler.acknowledge", agentId: a1, taskId: "t1", uuid: "u1" });
  h.alive.agents.delete(a1);
  const mark = h.mark();
  h.advance(3500);
  t.is(h.ctx.agents.get(a1)?.status, "unreachable");
  reregister(h, a1, fid);
  t.deepEqual(
    h.updatesTo(fid, mark).map((u) => u.state),
    ["TASK_UNREACHABLE", "TASK_RUNNING"],
  );
  t.deepEqual(h.invariants(), []);
});

test("partitions - a removed agent: TASK_UNREACHABLE then TASK_GONE for partition-aware frameworks, TASK_LOST for others; told to shut down when it returns", (t) => {
  // a framework not PARTITION_AWARE is told TASK_LOST where others get TASK_UNREACHABLE (Mesos)
  for (const [capabilities, unreachable, expected] of [
    [["PARTITION_AWARE"], "TASK_UNREACHABLE", "TASK_GONE"],
    [[], "TASK_LOST", "TASK_LOST"],
  ] as const) {
    const { h, fid, a1 } = firstLeader({ capabilities: [...capabilities] });
    h.alive.agents.delete(a1);
    const mark = h.mark();
    h.advance(64_000);
    t.true(h.ctx.removedAgents.has(a1));
    t.deepEqual(
      h.updatesTo(fid, mark).map((u) => u.state),
      [unreachable, expected],
    );
    const back = h.mark();
    t.throws(() => reregister(h, a1, fid), { instanceOf: AgoraError });
    t.is(h.sentTo("agent", a1, "agent.shutdown", back).length, 1);
  }
});

test("recovery - a recovered agent that reregisters with what the registry holds is not written again", (t) => {
  const { registry, a1 } = firstLeader();
  const h = nextLeader(registry);
  const puts: string[] = [];
  const put = registry.put.bind(registry);
  registry.put = (key, value) => {
    puts.push(key);
    return put(key, value);
  };
  h.agent(
    a1,
    {
      type: "agent.reregister",
      agentId: a1,
      hostname: "h1",
      resources: { mem: 4096, cpus: 4 },
      attributes: {},
      tasks: [],
    },
    true,
  );
  t.deepEqual(puts, [], "same hostname, resources and attributes: nothing to store");
  t.is(h.ctx.agents.get(a1)?.status, "active");
  h.agent(
    a1,
    {
      type: "agent.reregister",
      agentId: a1,
      hostname: "h1",
      resources: { cpus: 8, mem: 4096 },
      attributes: {},
      tasks: [],
    },
    true,
  );
  t.deepEqual(puts, [StoreKeys.agent(a1)], "changed resources are stored before the reply");
});

test("recovery - a stored record valid in shape but not in meaning is skipped and counted, never a crash", (t) => {
  const { registry, fid } = firstLeader();
  registry.values.set(
    StoreKeys.agent("bad"),
    encodeRecord({
      id: "bad",
      hostname: "h",
      resources: { cpus: 1, ports: [[5, 1]] },
      attributes: {},
      state: "admitted",
    }),
  );
  const h = nextLeader(registry);
  t.is(h.metrics.get("registry_entries_invalid"), 1);
  t.false(h.ctx.agents.has("bad"));
  t.is(h.ctx.agents.size, 2, "the good agents are restored");
  t.true(h.ctx.frameworks.has(fid));
});

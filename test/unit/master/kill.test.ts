/**
 * `scheduler.kill` for tasks whose agent cannot get the kill now (Mesos
 * `Master::kill`, `killedTasks`): remembered, answered as reconciliation
 * answers, and sent when the agent reregisters with the task live.
 */
import test from "ava";
import { recoverFromRegistry } from "../../../actors/master/recovery.ts";
import { MemoryRegistry, parseSnapshot } from "../../../actors/master/registry.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { acceptCall, Harness, task } from "./harness.ts";

function running(h = new Harness()) {
  const fid = h.addFramework({ failoverTimeoutSeconds: 100, capabilities: ["PARTITION_AWARE"] });
  const aid = h.addAgent({ cpus: 4, mem: 4096 }, "h1");
  h.flush();
  const offer = h.offersTo(fid)[0]!;
  h.call(fid, acceptCall([offer.offerId], [task("t1", aid, { cpus: 1, mem: 256 })], 0));
  h.update(aid, fid, { taskId: "t1", state: "TASK_RUNNING", uuid: "u1" });
  h.call(fid, { type: "scheduler.acknowledge", agentId: aid, taskId: "t1", uuid: "u1" });
  return { h, fid, aid };
}

function reregister(h: Harness, agentId: string, fid: string, taskIds: string[]) {
  return h.agent(
    agentId,
    {
      type: "agent.reregister",
      agentId,
      hostname: "h1",
      resources: { cpus: 4, mem: 4096 },
      attributes: {},
      tasks: taskIds.map((taskId) => ({
        frameworkId: fid,
        role: "*",
        executorId: taskId,
        task: task(taskId, agentId, { cpus: 1, mem: 256 }),
        status: { taskId, state: "TASK_RUNNING" as const, timestamp: 1, agentId, uuid: "u1" },
      })),
    },
    true,
  );
}

test("kill - a task on an unreachable agent: TASK_UNREACHABLE now, agent.killTask when it reregisters with the task", (t) => {
  const { h, fid, aid } = running();
  h.alive.agents.delete(aid);
  h.advance(3500);
  t.is(h.ctx.agents.get(aid)?.status, "unreachable");
  const mark = h.mark();
  h.call(fid, { type: "scheduler.kill", taskId: "t1", gracePeriodSeconds: 3 });
  t.deepEqual(h.sentTo("agent", aid, "agent.killTask", mark), [], "the agent cannot get it now");
  t.like(h.updatesTo(fid, mark)[0], {
    taskId: "t1",
    state: "TASK_UNREACHABLE",
    reason: "REASON_RECONCILIATION",
  });
  reregister(h, aid, fid, ["t1"]);
  t.deepEqual(h.sentTo("agent", aid, "agent.killTask", mark), [
    { type: "agent.killTask", frameworkId: fid, taskId: "t1", gracePeriodSeconds: 3 },
  ]);
  t.is(h.metrics.get("kills_redelivered"), 1);
  t.deepEqual(h.invariants(), []);
});

test("kill - a kill the agent may have missed is sent again when it reregisters; not for a task it no longer has", (t) => {
  const { h, fid, aid } = running();
  let mark = h.mark();
  h.call(fid, { type: "scheduler.kill", taskId: "t1" });
  t.is(h.sentTo("agent", aid, "agent.killTask", mark).length, 1);
  // partitioned before it got the kill: it comes back with the task still running
  mark = h.mark();
  reregister(h, aid, fid, ["t1"]);
  t.deepEqual(h.sentTo("agent", aid, "agent.killTask", mark), [
    { type: "agent.killTask", frameworkId: fid, taskId: "t1" },
  ]);
  // the task ends: its kill goes with it
  h.update(aid, fid, { taskId: "t1", state: "TASK_KILLED", uuid: "u2" });
  h.call(fid, { type: "scheduler.acknowledge", agentId: aid, taskId: "t1", uuid: "u2" });
  mark = h.mark();
  reregister(h, aid, fid, []);
  t.deepEqual(h.sentTo("agent", aid, "agent.killTask", mark), []);
  t.deepEqual(h.invariants(), []);
});

test("kill - after a failover, a task on an agent not back yet: no answer, killed when the agent reregisters with it", (t) => {
  const registry = new MemoryRegistry();
  const first = running(new Harness({ masterId: "m1" }, { registry }));
  const h = new Harness({ masterId: "m2", agentReregisterTimeout: 30_000 }, { registry });
  recoverFromRegistry(h.ctx, parseSnapshot(registry.values, silentLogger(), h.metrics));
  const { fid, aid } = first;
  h.addFramework({
    frameworkId: fid,
    failoverTimeoutSeconds: 100,
    capabilities: ["PARTITION_AWARE"],
  });
  t.is(h.ctx.agents.get(aid)?.status, "recovered");
  const mark = h.mark();
  h.call(fid, { type: "scheduler.kill", taskId: "t1", agentId: aid });
  h.call(fid, { type: "scheduler.kill", taskId: "t2" });
  t.deepEqual(h.updatesTo(fid, mark), [], "no answer while the agent may come back with it");
  t.deepEqual(h.sentTo("agent", aid, "agent.killTask", mark), []);
  reregister(h, aid, fid, ["t1", "t2", "t3"]);
  t.deepEqual(
    h.sentTo("agent", aid, "agent.killTask", mark).map((m) => m.taskId),
    ["t1", "t2"],
  );
  t.is(h.ctx.agents.get(aid)?.kills, undefined, "forgotten once delivered");
  t.is(h.ctx.recovery, undefined);
});

test("kill - an unknown task on a known active agent is still answered TASK_LOST", (t) => {
  const { h, fid, aid } = running();
  const mark = h.mark();
  h.call(fid, { type: "scheduler.kill", taskId: "ghost", agentId: aid });
  t.like(h.updatesTo(fid, mark)[0], { taskId: "ghost", state: "TASK_LOST" });
  t.is(h.ctx.agents.get(aid)?.kills, undefined);
});

/**
 * Master high availability with a real nats-server: one leader per prefix,
 * standbys answering on their instance subject, and a failover in which the
 * registry (agent, framework, weights) survives and the agent and framework
 * come back to the new leader with their task.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import test from "ava";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import type { MasterState } from "../../../protocol/operator.ts";
import type { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../../helpers/wait.ts";
import {
  commandTask,
  FakeAgent,
  FakeScheduler,
  freshSubjects,
  is,
  WAIT_MS,
} from "../master/helpers.ts";
import { type HaMaster, instanceState, leaderOf, operator, startHaMaster } from "./helpers.ts";

const nats = useNatsServer(test);

/** Asks a master until its state lists exactly these masters (each ask waits for its answer). */
async function waitForMasters(
  nc: NatsConnection,
  subjects: Subjects,
  masterId: string,
  ids: string[],
): Promise<NonNullable<MasterState["masters"]>> {
  let masters: NonNullable<MasterState["masters"]> = [];
  return eventually(
    async () => {
      masters = [...((await instanceState(nc, subjects, masterId)).masters ?? [])];
      masters.sort((x, y) => x.id.localeCompare(y.id));
      return masters.map((m) => m.id).join() === ids.join() && masters;
    },
    `the masters ${ids.join()}`,
    WAIT_MS,
    { everyMs: 0, diagnose: () => `masters are ${JSON.stringify(masters)}` },
  );
}

test("ha - two masters on one prefix: exactly one leads, the other stands by", async (t) => {
  const subjects = freshSubjects();
  const a = await startHaMaster(nats().url, subjects, "ma");
  const b = await startHaMaster(nats().url, subjects, "mb");
  const nc = await connect({ servers: nats().url, name: "test-operator" });
  t.teardown(async () => {
    await closeGracefully(nc);
    await a.stop();
    await b.stop();
  });
  const leader = await leaderOf([a, b]);
  const standby = leader === a ? b : a;
  t.is(leader, a, "the first master of the prefix leads");
  t.true(a.master.isLeading());
  t.false(b.master.isLeading());
  const standbyView = await instanceState(nc, subjects, standby.master.masterId);
  t.like(standbyView, { masterId: "mb", leader: false, leaderId: "ma" });
  const leaderView = await instanceState(nc, subjects, "ma");
  t.like(leaderView, { masterId: "ma", leader: true, leaderId: "ma" });
  // both masters keep presence keys: the leader lists them (it reads them once a lease)
  const listed = await waitForMasters(nc, subjects, "ma", ["ma", "mb"]);
  t.deepEqual(
    listed.map((m) => [m.id, m.leader]),
    [
      ["ma", true],
      ["mb", false],
    ],
  );
  const viaOperator = await operator(nc, subjects, { type: "operator.getState" }, [
    "operator.state",
  ]);
  t.is(viaOperator.state.masterId, "ma", "only the leader answers master.operator");

  // an agent registers once, with the leader only
  const agent = await FakeAgent.connect(nats().url, subjects);
  t.teardown(() => agent.close());
  const registered = await agent.register({ cpus: 2, mem: 1024 });
  t.is(registered.masterId, "ma");
  t.is(a.master.state().agents.length, 1);
  t.deepEqual(b.master.state().agents, []);
});

test("ha - the leader crashes: the standby leads, the agent reregisters and the framework resubscribes with its task", async (t) => {
  const subjects = freshSubjects();
  const masters: HaMaster[] = [];
  t.teardown(async () => {
    for (const m of masters) await m.stop();
  });
  const a = await startHaMaster(nats().url, subjects, "fa");
  masters.push(a);
  const b = await startHaMaster(nats().url, subjects, "fb");
  masters.push(b);
  const nc = await connect({ servers: nats().url, name: "test-operator" });
  t.teardown(() => closeGracefully(nc));
  t.is(await leaderOf([a, b]), a);

  const agent = await FakeAgent.connect(nats().url, subjects);
  const scheduler = await FakeScheduler.connect(nats().url, subjects);
  t.teardown(async () => {
    await agent.close();
    await scheduler.close();
  });
  const { agentId } = await agent.register({ cpus: 4, mem: 4096 });
  agent.startHeartbeats(50);
  const { frameworkId } = await scheduler.subscribe({
    roles: ["web"],
    failoverTimeoutSeconds: 60,
    capabilities: ["PARTITION_AWARE"],
  });
  await operator(nc, subjects, { type: "operator.setWeights", weights: { web: 3 } }, ["ok"]);
  const offers = await scheduler.offers();
  const offer = offers.offers[0]!;
  scheduler.launch([offer.offerId], [commandTask("t1", agentId, { cpus: 1, mem: 128 })]);
  await agent.inbox.waitFor(is("agent.runTask"), "runTask");
  agent.update(frameworkId, "t1", "TASK_RUNNING", "u1");
  const running = await scheduler.update("t1", "TASK_RUNNING");
  scheduler.call({
    type: "scheduler.acknowledge",
    agentId,
    taskId: "t1",
    uuid: running.uuid!,
  });
  await agent.inbox.waitFor(is("agent.acknowledge"), "the acknowledgement");

  const agentMark = agent.inbox.items.length;
  const schedulerMark = scheduler.inbox.items.length;
  await a.crash();
  const leader = await leaderOf([b]);
  t.is(leader, b);

  // the new leader read the registry: the agent is recovered, the framework disconnected
  const recovered = await instanceState(nc, subjects, "fb");
  t.like(recovered, { leader: true, leaderId: "fb" });
  t.is(recovered.agents[0]?.status, "recovered");
  t.like(recovered.recovery, { paused: true, expected: 1, reregistered: 0 });
  const weights = await operator(nc, subjects, { type: "operator.getWeights" }, [
    "operator.weights",
  ]);
  t.deepEqual(weights.weights, { web: 3 }, "the weights survived the failover");

  // calls of the framework are refused until it resubscribes
  await t.throwsAsync(scheduler.request({ type: "scheduler.heartbeat" }), {
    message: /not subscribed/,
  });

  await agent.inbox.waitFor(
    is("agent.reregisterRequest"),
    "agent.reregisterRequest",
    WAIT_MS,
    agentMark,
  );
  const reregistered = await agent.reregister({ cpus: 4, mem: 4096 }, [
    {
      frameworkId,
      role: offer.role,
      executorId: "t1",
      task: commandTask("t1", agentId, { cpus: 1, mem: 128 }),
      status: { taskId: "t1", state: "TASK_RUNNING", timestamp: Date.now(), agentId },
    },
  ]);
  t.is(reregistered.masterId, "fb");
  t.is(reregistered.agentId, agentId);

  const resubscribe = await scheduler.inbox.waitFor(
    is("event.resubscribe"),
    "event.resubscribe",
    WAIT_MS,
    schedulerMark,
  );
  t.like(resubscribe, { masterId: "fb" });
  const again = await scheduler.subscribe({
    frameworkId,
    roles: ["web"],
    failoverTimeoutSeconds: 60,
    capabilities: ["PARTITION_AWARE"],
  });
  t.is(again.frameworkId, frameworkId);
  t.is(again.masterId, "fb");

  const state = b.master.state();
  t.is(state.recovery, undefined, "every registry agent is back");
  t.deepEqual(
    state.frameworks.map((f) => [f.id, f.active, f.tasks.map((x) => [x.id, x.state])]),
    [[frameworkId, true, [["t1", "TASK_RUNNING"]]]],
  );
  t.deepEqual(state.agents[0]?.used, { cpus: 1, mem: 128 });
  t.deepEqual(b.master.checkInvariants(), []);
});

test("ha - a registration acknowledged by one leader is known to the next", async (t) => {
  const subjects = freshSubjects();
  const a = await startHaMaster(nats().url, subjects, "ra");
  const agent = await FakeAgent.connect(nats().url, subjects);
  const scheduler = await FakeScheduler.connect(nats().url, subjects);
  t.teardown(async () => {
    await agent.close();
    await scheduler.close();
    await a.stop();
  });
  const { agentId } = await agent.register({ cpus: 1, mem: 256 }, "host-r", { rack: "r1" });
  const { frameworkId } = await scheduler.subscribe({ name: "kept", failoverTimeoutSeconds: 30 });
  await a.crash();
  // a new master process on the same prefix (same id, as after a restart)
  const again = await startHaMaster(nats().url, subjects, "ra");
  t.teardown(() => again.stop());
  await leaderOf([again]);
  const state = again.master.state();
  t.deepEqual(
    state.agents.map((x) => [x.id, x.hostname, x.resources, x.attributes, x.status]),
    [[agentId, "host-r", { cpus: 1, mem: 256 }, { rack: "r1" }, "recovered"]],
  );
  t.deepEqual(
    state.frameworks.map((f) => [f.id, f.name, f.active]),
    [[frameworkId, "kept", false]],
  );
  // ids assigned by the restarted master never repeat the stored ones
  const other = await FakeAgent.connect(nats().url, subjects);
  t.teardown(() => other.close());
  const second = await other.register({ cpus: 1, mem: 256 });
  t.not(second.agentId, agentId);
});

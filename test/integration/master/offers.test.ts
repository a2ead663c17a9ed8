/**
 * Offers and task validation over a real nats-server: invalid tasks,
 * invalid offers, decline filters, revive, suppress, reconciliation, agents
 * that stop heartbeating, teardown, the state JSON and the cluster events.
 */
import test from "ava";
import { decodeReply, encode } from "../../../protocol/codec.ts";
import { AgoraError } from "../../../protocol/errors.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../../helpers/wait.ts";
import {
  commandTask,
  EventRecorder,
  FakeAgent,
  FakeScheduler,
  freshSubjects,
  is,
  startMaster,
  type TestMaster,
  WAIT_MS,
} from "./helpers.ts";

const nats = useNatsServer(test);

/** A master, an agent with `cpus:4;mem:4096` heartbeating, a subscribed scheduler and its first offer. */
async function cluster(t: { teardown(fn: () => Promise<void>): void }) {
  const subjects = freshSubjects();
  const m: TestMaster = await startMaster(nats().url, subjects);
  const agent = await FakeAgent.connect(nats().url, subjects);
  const scheduler = await FakeScheduler.connect(nats().url, subjects);
  const events = await EventRecorder.start(nats().url, subjects);
  t.teardown(async () => {
    await Promise.all([agent.close(), scheduler.close(), events.close()]);
    await m.stop();
  });
  const { frameworkId } = await scheduler.subscribe({ name: "fw" });
  const { agentId } = await agent.register({ cpus: 4, mem: 4096 });
  agent.startHeartbeats(50);
  const offer = (await scheduler.offers()).offers[0]!;
  return { subjects, m, agent, scheduler, events, frameworkId, agentId, offer };
}

test("offers - an invalid task is TASK_ERROR and resources beyond the offer too", async (t) => {
  const { scheduler, agent, agentId, offer, m } = await cluster(t);
  scheduler.launch(
    [offer.offerId],
    [
      { taskId: "no-command", name: "x", agentId, resources: { cpus: 1 } },
      commandTask("too-big", agentId, { cpus: 5 }),
      commandTask("fine", agentId, { cpus: 1, mem: 64 }),
    ],
  );
  const noCommand = await scheduler.update("no-command", "TASK_ERROR");
  t.is(noCommand.reason, "REASON_TASK_INVALID");
  t.is(noCommand.source, "SOURCE_MASTER");
  const tooBig = await scheduler.update("too-big", "TASK_ERROR");
  t.regex(tooBig.message ?? "", /not contained/);
  const run = await agent.inbox.waitFor(is("agent.runTask"), "runTask");
  t.deepEqual(run.type === "agent.runTask" && run.tasks.map((x) => x.taskId), ["fine"]);
  t.deepEqual(m.master.checkInvariants(), []);
});

test("offers - accepting a used, rescinded or unknown offer drops the tasks", async (t) => {
  const { scheduler, agent, agentId, offer } = await cluster(t);
  await scheduler.request({
    type: "scheduler.accept",
    offerIds: [offer.offerId],
    operations: [{ type: "launch", tasks: [commandTask("a", agentId, { cpus: 1 })] }],
    filters: { refuseSeconds: 0 },
  });
  const used = await t.throwsAsync(
    scheduler.request({
      type: "scheduler.accept",
      offerIds: [offer.offerId],
      operations: [{ type: "launch", tasks: [commandTask("b", agentId, { cpus: 1 })] }],
    }),
    { instanceOf: AgoraError },
  );
  t.is(used?.code, "NOT_FOUND");
  t.is((await scheduler.update("b", "TASK_DROPPED")).reason, "REASON_INVALID_OFFERS");

  scheduler.launch(["no-such-offer"], [commandTask("c", agentId, { cpus: 1 })]);
  await scheduler.update("c", "TASK_DROPPED");
  await scheduler.inbox.waitFor(
    (e) => e.type === "event.error" && e.code === "NOT_FOUND",
    "event.error for the published accept",
  );

  // the agent reregisters: its outstanding offer is rescinded
  const leftover = await scheduler.inbox.waitFor(
    (e) => e.type === "event.offers" && e.offers[0]?.offerId !== offer.offerId,
    "the leftover offer",
  );
  const next = (leftover as MessageOf<"event.offers">).offers[0]!;
  await agent.reregister({ cpus: 4, mem: 4096 });
  await scheduler.inbox.waitFor(
    (e) => e.type === "event.rescind" && e.offerId === next.offerId,
    "rescind",
  );
  scheduler.launch([next.offerId], [commandTask("d", agentId, { cpus: 1 })]);
  await scheduler.update("d", "TASK_DROPPED");
  t.pass();
});

test("offers - a declined offer goes to another framework; revive brings it back", async (t) => {
  const { subjects, scheduler, offer, m } = await cluster(t);
  const other = await FakeScheduler.connect(nats().url, subjects);
  t.teardown(() => other.close());
  await other.subscribe({ name: "other" });
  await scheduler.request({
    type: "scheduler.decline",
    offerIds: [offer.offerId],
    filters: { refuseSeconds: 3600 },
  });
  const taken = (await other.offers()).offers[0]!;
  t.deepEqual(taken.resources, { cpus: 4, mem: 4096 });
  await other.request({
    type: "scheduler.decline",
    offerIds: [taken.offerId],
    filters: { refuseSeconds: 3600 },
  });
  const mark = scheduler.inbox.items.length;
  await scheduler.request({ type: "scheduler.revive" });
  const again = (await scheduler.offers(mark)).offers[0]!;
  t.deepEqual(again.resources, { cpus: 4, mem: 4096 });
  t.deepEqual(m.master.checkInvariants(), []);
});

test("offers - a short decline filter expires and the resources are offered again", async (t) => {
  const { scheduler, offer } = await cluster(t);
  const mark = scheduler.inbox.items.length;
  scheduler.call({
    type: "scheduler.decline",
    offerIds: [offer.offerId],
    filters: { refuseSeconds: 0.2 },
  });
  const again = (await scheduler.offers(mark)).offers[0]!;
  t.not(again.offerId, offer.offerId);
});

test("offers - suppress stops offers until revive", async (t) => {
  const { scheduler, offer, m } = await cluster(t);
  await scheduler.request({ type: "scheduler.suppress" });
  await scheduler.request({
    type: "scheduler.decline",
    offerIds: [offer.offerId],
    filters: { refuseSeconds: 0 },
  });
  const mark = scheduler.inbox.items.length;
  const runs = m.master.metrics.get("allocation_runs");
  await eventually(
    () => m.master.metrics.get("allocation_runs") >= runs + 3,
    "three allocation cycles",
  );
  t.is(scheduler.inbox.ofType("event.offers").length, 1, "no offer while suppressed");
  await scheduler.request({ type: "scheduler.revive" });
  await scheduler.offers(mark);
  t.pass();
});

test("offers - reconciliation answers the latest state, TASK_UNKNOWN for unknown tasks", async (t) => {
  const { scheduler, agent, agentId, frameworkId, offer } = await cluster(t);
  scheduler.launch([offer.offerId], [commandTask("r1", agentId, { cpus: 1 })]);
  await agent.inbox.waitFor(is("agent.runTask"), "runTask");
  agent.update(frameworkId, "r1", "TASK_RUNNING", "u1");
  await scheduler.update("r1", "TASK_RUNNING");
  const mark = scheduler.inbox.items.length;
  scheduler.call({ type: "scheduler.reconcile", tasks: [{ taskId: "r1" }, { taskId: "r2" }] });
  const r1 = await scheduler.inbox.waitFor(
    (e) =>
      e.type === "event.update" &&
      e.status.reason === "REASON_RECONCILIATION" &&
      e.status.taskId === "r1",
    "reconcile r1",
    WAIT_MS,
    mark,
  );
  t.true(
    r1.type === "event.update" &&
      r1.status.state === "TASK_RUNNING" &&
      r1.status.uuid === undefined,
  );
  await scheduler.update("r2", "TASK_UNKNOWN");
  const mark2 = scheduler.inbox.items.length;
  scheduler.call({ type: "scheduler.reconcile", tasks: [] });
  const implicit = await scheduler.inbox.waitFor(
    (e) => e.type === "event.update" && e.status.reason === "REASON_RECONCILIATION",
    "implicit reconciliation",
    WAIT_MS,
    mark2,
  );
  t.true(implicit.type === "event.update" && implicit.status.taskId === "r1");
});

// the scheduler is not PARTITION_AWARE: as Mesos does, it is told TASK_LOST, not TASK_UNREACHABLE
test("offers - an agent that stops heartbeating: TASK_LOST at a scheduler not partition-aware, its offers rescinded", async (t) => {
  const { scheduler, agent, agentId, frameworkId, offer, events, m } = await cluster(t);
  await scheduler.request({
    type: "scheduler.accept",
    offerIds: [offer.offerId],
    operations: [{ type: "launch", tasks: [commandTask("u1", agentId, { cpus: 1 })] }],
    filters: { refuseSeconds: 0 },
  });
  agent.update(frameworkId, "u1", "TASK_RUNNING", "x1");
  await scheduler.update("u1", "TASK_RUNNING");
  const leftover = (
    await scheduler.inbox.waitFor(
      (e) => e.type === "event.offers" && e.offers.some((o) => o.offerId !== offer.offerId),
      "leftover offer",
    )
  ).type;
  t.is(leftover, "event.offers");
  const outstanding = scheduler.inbox
    .ofType("event.offers")
    .flatMap((e) => e.offers)
    .at(-1)!;
  agent.stopHeartbeats();
  const status = await scheduler.update("u1", "TASK_LOST");
  t.is(status.reason, "REASON_AGENT_DISCONNECTED");
  t.is(status.source, "SOURCE_MASTER");
  await scheduler.inbox.waitFor(
    (e) => e.type === "event.rescind" && e.offerId === outstanding.offerId,
    "rescind",
  );
  await events.inbox.waitFor(
    (e) => e.type === "cluster.agentUnreachable" && e.agentId === agentId,
    "cluster agent.unreachable",
  );
  t.is(m.master.state().agents[0]?.status, "unreachable");
  t.deepEqual(m.master.state().total, {});
});

test("offers - teardown kills the framework's tasks on its agents", async (t) => {
  const { scheduler, agent, agentId, frameworkId, offer, events, m } = await cluster(t);
  scheduler.launch([offer.offerId], [commandTask("k1", agentId, { cpus: 1 })]);
  await agent.inbox.waitFor(is("agent.runTask"), "runTask");
  scheduler.stopHeartbeats();
  await scheduler.request({ type: "scheduler.teardown", reason: "done" });
  const shutdown = await agent.inbox.waitFor(is("agent.shutdownFramework"), "shutdownFramework");
  t.deepEqual(shutdown, { type: "agent.shutdownFramework", frameworkId });
  await events.inbox.waitFor(
    (e) => e.type === "cluster.frameworkRemoved" && e.frameworkId === frameworkId,
    "framework.removed",
  );
  t.deepEqual(m.master.state().frameworks, []);
  t.deepEqual(m.master.state().agents[0]?.used, {});
  const err = await t.throwsAsync(scheduler.request({ type: "scheduler.heartbeat" }), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, "INVALID_STATE", "a removed framework may not come back");
  t.false(err?.retryable);
});

test("offers - the state JSON and the cluster events", async (t) => {
  const { subjects, scheduler, agent, agentId, frameworkId, offer, events, m } = await cluster(t);
  scheduler.launch([offer.offerId], [commandTask("s1", agentId, { cpus: 1, mem: 128 })], 0);
  await agent.inbox.waitFor(is("agent.runTask"), "runTask");
  agent.update(frameworkId, "s1", "TASK_RUNNING", "x");
  await scheduler.update("s1", "TASK_RUNNING");
  const reply = await m.nc.request(
    subjects.masterOperator(),
    encode({ type: "operator.getState" }),
    {
      timeout: WAIT_MS,
    },
  );
  const { state } = decodeReply(reply.data, ["operator.state"]);
  t.is(state.masterId, m.master.masterId);
  t.true(state.leader);
  t.is(state.policy, "drf");
  t.true(state.startTime > 0);
  t.deepEqual(state.total, { cpus: 4, mem: 4096 });
  t.deepEqual(Object.keys(state.agents[0]!).sort(), [
    "active",
    "attributes",
    "free",
    "hostname",
    "id",
    "offered",
    "principal",
    "resources",
    "status",
    "used",
  ]);
  t.like(state.agents[0], {
    id: agentId,
    used: { cpus: 1, mem: 128 },
    active: true,
    status: "active",
  });
  const fw = state.frameworks[0]!;
  t.like(fw, {
    id: frameworkId,
    name: "fw",
    roles: ["*"],
    active: true,
    used: { cpus: 1, mem: 128 },
  });
  t.is(typeof fw.dominantShare, "number");
  t.deepEqual(fw.tasks, [
    {
      id: "s1",
      name: "s1",
      state: "TASK_RUNNING",
      agentId,
      resources: { cpus: 1, mem: 128 },
      role: "*",
    },
  ]);
  t.like(state.roles["*"], { weight: 1 });
  const kinds = new Set(events.inbox.items.map((e) => e.type));
  for (const kind of [
    "cluster.frameworkAdded",
    "cluster.agentAdded",
    "cluster.offersSent",
    "cluster.taskUpdated",
    "cluster.allocation",
  ]) {
    t.true(kinds.has(kind as never), kind);
  }
});

test("offers - a scheduler that stops heartbeating is disconnected, its offers rescinded, then removed", async (t) => {
  const { scheduler, frameworkId, offer, events, m } = await cluster(t);
  scheduler.stopHeartbeats();
  await events.inbox.waitFor(
    (e) => e.type === "cluster.frameworkDisconnected" && e.frameworkId === frameworkId,
    "framework.disconnected",
  );
  await events.inbox.waitFor(
    (e) => e.type === "cluster.offerRescinded" && e.offerId === offer.offerId,
    "offer.rescinded",
  );
  await events.inbox.waitFor(
    (e) => e.type === "cluster.frameworkRemoved" && e.frameworkId === frameworkId,
    "framework.removed (failover timeout 0)",
  );
  t.deepEqual(m.master.state().frameworks, []);
  t.deepEqual(m.master.state().agents[0]?.offered, {});
});

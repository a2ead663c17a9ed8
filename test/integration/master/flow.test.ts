/**
 * The master over a real nats-server with protocol-level agents and
 * schedulers: registration, offers, launch, status updates and
 * acknowledgements, and the seed's walk-through.
 */
import test from "ava";
import { useNatsServer } from "../../helpers/nats.ts";
import {
  commandTask,
  EventRecorder,
  FakeAgent,
  FakeScheduler,
  freshSubjects,
  is,
  startMaster,
} from "./helpers.ts";

const nats = useNatsServer(test);

test("master - agent registration assigns an id and reregistration keeps it", async (t) => {
  const subjects = freshSubjects();
  const m = await startMaster(nats().url, subjects, { masterId: "m1" });
  const agent = await FakeAgent.connect(nats().url, subjects);
  try {
    const registered = await agent.register({ cpus: 4, mem: 4096 });
    t.is(registered.agentId, "m1-S0");
    t.is(registered.masterId, "m1");
    t.is(registered.heartbeatIntervalSeconds, 0.2);
    const again = await agent.reregister({ cpus: 4, mem: 4096 });
    t.is(again.agentId, "m1-S0");
    const state = m.master.state();
    t.is(state.agents.length, 1);
    t.like(state.agents[0], { id: "m1-S0", hostname: "host-1", active: true, status: "active" });
    t.deepEqual(state.total, { cpus: 4, mem: 4096 });
  } finally {
    await agent.close();
    await m.stop();
  }
});

test("master - an unknown agent that heartbeats is asked to reregister, and may", async (t) => {
  const subjects = freshSubjects();
  const m = await startMaster(nats().url, subjects, { masterId: "m2" });
  const agent = await FakeAgent.connect(nats().url, subjects);
  try {
    agent.listen("ghost-agent");
    await agent.nc.flush();
    agent.heartbeat();
    await agent.inbox.waitFor(is("agent.reregisterRequest"), "agent.reregisterRequest");
    const registered = await agent.reregister({ cpus: 1, mem: 512 });
    t.is(registered.agentId, "ghost-agent");
    t.is(m.master.state().agents[0]?.id, "ghost-agent");
  } finally {
    await agent.close();
    await m.stop();
  }
});

test("master - accept launches on the agent, updates reach the scheduler and acks reach the agent", async (t) => {
  const subjects = freshSubjects();
  const m = await startMaster(nats().url, subjects);
  const agent = await FakeAgent.connect(nats().url, subjects);
  const scheduler = await FakeScheduler.connect(nats().url, subjects);
  const events = await EventRecorder.start(nats().url, subjects);
  try {
    const { agentId } = await agent.register({ cpus: 2, mem: 1024 });
    agent.startHeartbeats(50);
    const { frameworkId } = await scheduler.subscribe({ name: "fw" });
    const { offers } = await scheduler.offers();
    t.is(offers.length, 1);
    const offer = offers[0]!;
    t.like(offer, { agentId, frameworkId, hostname: "host-1", role: "*" });
    t.deepEqual(offer.resources, { cpus: 2, mem: 1024 });

    scheduler.launch([offer.offerId], [commandTask("t1", agentId, { cpus: 1, mem: 256 })]);
    const run = (await agent.inbox.waitFor(is("agent.runTask"), "agent.runTask")) as Extract<
      (typeof agent.inbox.items)[number],
      { type: "agent.runTask" }
    >;
    t.deepEqual(run.framework, { frameworkId, name: "fw", role: "*", principal: "default" });
    t.is(run.tasks[0]?.taskId, "t1");

    agent.update(frameworkId, "t1", "TASK_RUNNING", "u-1");
    const running = await scheduler.update("t1", "TASK_RUNNING");
    t.is(running.uuid, "u-1");
    t.is(running.agentId, agentId);
    scheduler.call({ type: "scheduler.acknowledge", agentId, taskId: "t1", uuid: "u-1" });
    const ack = await agent.inbox.waitFor(is("agent.acknowledge"), "agent.acknowledge");
    t.deepEqual(ack, { type: "agent.acknowledge", frameworkId, taskId: "t1", uuid: "u-1" });

    const task = m.master.state().frameworks[0]?.tasks[0];
    t.like(task, { id: "t1", state: "TASK_RUNNING", agentId, role: "*" });
    t.deepEqual(m.master.state().agents[0]?.used, { cpus: 1, mem: 256 });

    agent.update(frameworkId, "t1", "TASK_FINISHED", "u-2");
    await scheduler.update("t1", "TASK_FINISHED");
    await events.inbox.waitFor(
      (e) => e.type === "cluster.taskUpdated" && e.taskId === "t1" && e.state === "TASK_FINISHED",
      "task.updated FINISHED",
    );
    t.deepEqual(m.master.state().agents[0]?.used, {});
    t.deepEqual(m.master.checkInvariants(), []);
  } finally {
    await Promise.all([agent.close(), scheduler.close(), events.close()]);
    await m.stop();
  }
});

test("master - the seed walk-through: leftovers go to framework 2, freed resources are offered again", async (t) => {
  const subjects = freshSubjects();
  const m = await startMaster(nats().url, subjects);
  const agent = await FakeAgent.connect(nats().url, subjects);
  const fw1 = await FakeScheduler.connect(nats().url, subjects);
  const fw2 = await FakeScheduler.connect(nats().url, subjects);
  try {
    const { frameworkId: f1 } = await fw1.subscribe({ name: "framework-1" });
    const { agentId } = await agent.register({ cpus: 4, mem: 4096 });
    agent.startHeartbeats(50);
    const first = (await fw1.offers()).offers[0]!;
    t.deepEqual(first.resources, { cpus: 4, mem: 4096 });

    const { frameworkId: f2 } = await fw2.subscribe({ name: "framework-2" });
    fw1.launch(
      [first.offerId],
      [
        commandTask("task-1", agentId, { cpus: 2, mem: 1024 }),
        commandTask("task-2", agentId, { cpus: 1, mem: 2048 }),
      ],
      60,
    );
    const run = await agent.inbox.waitFor(is("agent.runTask"), "runTask");
    t.is(run.type === "agent.runTask" && run.tasks.length, 2);

    const leftover = (await fw2.offers()).offers[0]!;
    t.is(leftover.frameworkId, f2);
    t.deepEqual(leftover.resources, { cpus: 1, mem: 1024 });
    t.is(fw1.inbox.ofType("event.offers").length, 1, "framework 1 has a refuse filter on it");

    // framework 2 keeps its offer outstanding; the tasks of framework 1 end and
    // their resources come back to framework 1, now the poorest
    const mark = fw1.inbox.items.length;
    for (const id of ["task-1", "task-2"]) {
      agent.update(f1, id, "TASK_RUNNING", `${id}-run`);
      agent.update(f1, id, "TASK_FINISHED", `${id}-done`);
    }
    const offeredAgain = () =>
      fw1.inbox.items
        .slice(mark)
        .flatMap((e) => (e.type === "event.offers" ? e.offers : []))
        .reduce((sum, o) => sum + ((o.resources.cpus as number) ?? 0), 0);
    await fw1.inbox.waitFor(
      () => offeredAgain() >= 3,
      "freed resources offered again",
      undefined,
      mark,
    );
    t.is(offeredAgain(), 3);
    t.deepEqual(m.master.state().agents[0]?.offered, { cpus: 4, mem: 4096 });
    t.deepEqual(m.master.checkInvariants(), []);
  } finally {
    await Promise.all([agent.close(), fw1.close(), fw2.close()]);
    await m.stop();
  }
});

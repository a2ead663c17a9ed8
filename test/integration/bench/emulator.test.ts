/**
 * The agent emulator over a real nats-server against a protocol-level fake
 * master written here: it answers registrations and reregistrations, records
 * heartbeats and status updates, and sends commands and acknowledgements.
 */
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import test from "ava";
import { type AgentEmulator, startAgentEmulator } from "../../../bench/emulator/index.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { decode, encode } from "../../../protocol/codec.ts";
import type { TaskInfo, TaskStatus } from "../../../protocol/common.ts";
import type { Message, MessageOf } from "../../../protocol/registry.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { unbatch } from "../../helpers/messages.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../../helpers/wait.ts";

const FRAMEWORK = { frameworkId: "fw-1", name: "test", role: "*" };

interface Received {
  agentId: string;
  msg: Message;
}

/** A master that speaks the protocol and nothing more. */
class FakeMaster {
  readonly registrations: MessageOf<"agent.register">[] = [];
  readonly reregistrations: MessageOf<"agent.reregister">[] = [];
  readonly heartbeats: string[] = [];
  readonly updates: Array<{ agentId: string; frameworkId: string; status: TaskStatus }> = [];
  readonly received: Received[] = [];
  #next = 0;

  private constructor(
    readonly nc: NatsConnection,
    readonly subjects: Subjects,
    readonly heartbeatIntervalSeconds: number,
  ) {}

  static async start(url: string, subjects: Subjects, heartbeatIntervalSeconds = 0.05) {
    const nc = await connect({ servers: url, name: "fake-master" });
    const master = new FakeMaster(nc, subjects, heartbeatIntervalSeconds);
    nc.subscribe(subjects.masterRegisterAll(), { callback: (_, m) => master.#onRegister(m) });
    nc.subscribe(subjects.masterAgentAll(), { callback: (_, m) => master.#onAgent(m) });
    await nc.flush();
    return master;
  }

  #registered(agentId: string): Uint8Array {
    return encode({
      type: "agent.registered",
      agentId,
      masterId: "fake",
      heartbeatIntervalSeconds: this.heartbeatIntervalSeconds,
    });
  }

  #onRegister(m: Msg): void {
    const msg = decode(m.data);
    if (msg.type !== "agent.register") return;
    this.registrations.push(msg);
    m.respond(this.#registered(`fake-S${this.#next++}`));
  }

  #onAgent(m: Msg): void {
    for (const msg of unbatch(m.data)) this.#onAgentMessage(m, msg);
  }

  #onAgentMessage(m: Msg, msg: Message): void {
    const agentId = m.subject.slice(m.subject.lastIndexOf(".") + 1);
    this.received.push({ agentId, msg });
    switch (msg.type) {
      case "agent.heartbeat":
        this.heartbeats.push(agentId);
        if (m.reply) m.respond(encode({ type: "ok" }));
        break;
      case "agent.update":
        this.updates.push({ agentId, frameworkId: msg.frameworkId, status: msg.status });
        break;
      case "agent.reregister":
        this.reregistrations.push(msg);
        m.respond(this.#registered(agentId));
        break;
    }
  }

  send(agentId: string, msg: Message): void {
    this.nc.publish(this.subjects.agent(agentId), encode(msg));
  }

  sendRaw(agentId: string, data: Uint8Array): void {
    this.nc.publish(this.subjects.agent(agentId), data);
  }

  runTask(agentId: string, taskIds: string[]): void {
    const tasks: TaskInfo[] = taskIds.map((taskId) => ({
      taskId,
      name: taskId,
      agentId,
      resources: { cpus: 0.1, mem: 32 },
      command: { value: "true" },
    }));
    this.send(agentId, { type: "agent.runTask", framework: FRAMEWORK, tasks });
  }

  ack(agentId: string, status: TaskStatus): void {
    this.send(agentId, {
      type: "agent.acknowledge",
      frameworkId: FRAMEWORK.frameworkId,
      taskId: status.taskId,
      uuid: status.uuid!,
    });
  }

  updatesOf(taskId: string): TaskStatus[] {
    return this.updates.filter((u) => u.status.taskId === taskId).map((u) => u.status);
  }

  close(): Promise<void> {
    return closeGracefully(this.nc);
  }
}

const nats = useNatsServer(test, { jetstream: false });
let counter = 0;

interface Setup {
  master: FakeMaster;
  emulator: AgentEmulator;
  nc: NatsConnection;
  /** Every message the emulator published before this call has reached the fake master. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

async function setup(
  count: number,
  options: Partial<Parameters<typeof startAgentEmulator>[0]> = {},
  heartbeatIntervalSeconds?: number,
): Promise<Setup> {
  const subjects = new Subjects(`emutest${++counter}`);
  const master = await FakeMaster.start(nats().url, subjects, heartbeatIntervalSeconds);
  const nc = await connect({ servers: nats().url, name: "emulator-under-test" });
  const emulator = await startAgentEmulator({ nc, subjects, count, ...options });
  return {
    master,
    emulator,
    nc,
    async settle() {
      await nc.flush();
      await master.nc.flush();
    },
    async close() {
      await emulator.stop();
      await closeGracefully(nc);
      await master.close();
    },
  };
}

test("emulator - 200 agents register with their resources and heartbeat", async (t) => {
  const s = await setup(200, { hostnamePrefix: "node", registrationConcurrency: 20 });
  try {
    await s.emulator.ready;
    t.is(s.master.registrations.length, 200);
    t.is(new Set(s.emulator.agents).size, 200);
    t.deepEqual(
      new Set(s.master.registrations.map((r) => r.hostname)),
      new Set(Array.from({ length: 200 }, (_, i) => `node-${i}`)),
    );
    t.deepEqual(s.master.registrations[0]?.resources, { cpus: 4, mem: 4096 });
    await eventually(
      () => new Set(s.master.heartbeats).size === 200,
      "a heartbeat from every agent",
    );
    await eventually(
      () => s.emulator.stats().heartbeatReplies >= 200,
      "the replies to 200 heartbeats",
    );
    const stats = s.emulator.stats();
    t.is(stats.registered, 200);
    t.is(stats.registration.registered, 200);
    t.is(stats.registrationFailures, 0);
    t.is(stats.heartbeatErrors, 0);
  } finally {
    await s.close();
  }
});

test("emulator - a task reports RUNNING, then FINISHED only after each acknowledgement", async (t) => {
  const s = await setup(2);
  try {
    await s.emulator.ready;
    const agentId = s.emulator.agents[1]!;
    s.master.runTask(agentId, ["t1"]);
    const running = await eventually(() => s.master.updatesOf("t1")[0], "TASK_RUNNING");
    t.is(running.state, "TASK_RUNNING");
    t.is(running.agentId, agentId);
    t.is(running.source, "SOURCE_EXECUTOR");
    t.truthy(running.uuid);
    // an ack with another uuid does not advance the stream
    s.master.send(agentId, {
      type: "agent.acknowledge",
      frameworkId: FRAMEWORK.frameworkId,
      taskId: "t1",
      uuid: "not-the-head",
    });
    await eventually(() => s.emulator.stats().acksUnexpected === 1, "the unexpected ack counted");
    await s.settle();
    t.deepEqual(
      s.master.updatesOf("t1").map((u) => u.state),
      ["TASK_RUNNING"],
    );
    t.deepEqual(s.emulator.task(FRAMEWORK.frameworkId, "t1")?.pending, [
      "TASK_RUNNING",
      "TASK_FINISHED",
    ]);

    s.master.ack(agentId, running);
    const finished = await eventually(() => s.master.updatesOf("t1")[1], "TASK_FINISHED");
    t.is(finished.state, "TASK_FINISHED");
    t.not(finished.uuid, running.uuid);
    t.deepEqual(s.emulator.task(FRAMEWORK.frameworkId, "t1")?.pending, ["TASK_FINISHED"]);

    s.master.ack(agentId, finished);
    await eventually(() => s.emulator.stats().tasksFinished === 1, "the task to finish");
    const stats = s.emulator.stats();
    t.is(stats.updatesAcked, 2);
    t.is(stats.updatesSent, 2);
    t.is(stats.tasksActive, 0);
    t.is(s.emulator.task(FRAMEWORK.frameworkId, "t1"), undefined);
  } finally {
    await s.close();
  }
});

test("emulator - bad messages on the agent subjects are counted and do not stop it", async (t) => {
  const s = await setup(1);
  try {
    await s.emulator.ready;
    const agentId = s.emulator.agents[0]!;
    s.master.sendRaw(agentId, new Uint8Array([0xc1, 0x00, 0xff]));
    s.master.sendRaw(agentId, encode({ type: "agent.bogus" } as unknown as Message));
    s.master.sendRaw(
      agentId,
      encode({ type: "agent.runTask", framework: FRAMEWORK } as unknown as Message),
    );
    s.master.send(agentId, { type: "event.heartbeat" });
    s.master.runTask("no-such-agent", ["t0"]);
    await eventually(() => s.emulator.stats().messagesInvalid === 4, "4 invalid messages counted");
    await eventually(
      () => s.emulator.stats().messagesUnknownAgent === 1,
      "the message to an unknown agent counted",
    );
    s.master.runTask(agentId, ["t2"]);
    const running = await eventually(() => s.master.updatesOf("t2")[0], "TASK_RUNNING after");
    t.is(running.state, "TASK_RUNNING");
    t.is(s.emulator.stats().tasksLaunched, 1);
  } finally {
    await s.close();
  }
});

test("emulator - an unacknowledged update is re-sent with the same uuid", async (t) => {
  const s = await setup(1, { statusUpdateRetryMinMs: 50, taskDurationMs: 60_000 });
  try {
    await s.emulator.ready;
    const agentId = s.emulator.agents[0]!;
    s.master.runTask(agentId, ["t3"]);
    const [first, again] = await eventually(() => {
      const u = s.master.updatesOf("t3");
      return u.length >= 2 ? u : undefined;
    }, "a retried update");
    t.is(again?.uuid, first?.uuid);
    t.is(again?.state, "TASK_RUNNING");
    t.true(s.emulator.stats().updatesRetried >= 1);
  } finally {
    await s.close();
  }
});

test("emulator - kill, reregistration with tasks and framework shutdown", async (t) => {
  const s = await setup(1, { taskDurationMs: 60_000 });
  try {
    await s.emulator.ready;
    const agentId = s.emulator.agents[0]!;
    s.master.runTask(agentId, ["k1", "k2"]);
    const r1 = await eventually(() => s.master.updatesOf("k1")[0], "k1 RUNNING");
    const r2 = await eventually(() => s.master.updatesOf("k2")[0], "k2 RUNNING");
    s.master.ack(agentId, r1);
    s.master.ack(agentId, r2);
    await eventually(() => s.emulator.stats().updatesAcked === 2, "both RUNNING acked");

    s.master.send(agentId, { type: "agent.killTask", frameworkId: "fw-1", taskId: "k1" });
    const killed = await eventually(() => s.master.updatesOf("k1")[1], "k1 KILLED");
    t.is(killed.state, "TASK_KILLED");

    s.master.send(agentId, { type: "agent.reregisterRequest" });
    const rereg = await eventually(() => s.master.reregistrations[0], "agent.reregister");
    t.is(rereg.agentId, agentId);
    t.deepEqual(rereg.tasks.map((task) => [task.task.taskId, task.status.state]).sort(), [
      ["k1", "TASK_KILLED"],
      ["k2", "TASK_RUNNING"],
    ]);
    // the unacknowledged KILLED goes out again after reregistration
    await eventually(() => s.master.updatesOf("k1").length >= 3, "KILLED re-sent");
    await eventually(() => s.emulator.stats().reregistrations === 1, "reregistered");

    s.master.send(agentId, { type: "agent.shutdownFramework", frameworkId: "fw-1" });
    await eventually(() => s.emulator.stats().tasksDropped === 2, "the framework's tasks dropped");
    t.is(s.emulator.stats().tasksActive, 0);
  } finally {
    await s.close();
  }
});

test("emulator - over several connections each command is handled once", async (t) => {
  const subjects = new Subjects(`emutest${++counter}`);
  const master = await FakeMaster.start(nats().url, subjects);
  const emulator = await startAgentEmulator({
    servers: nats().url,
    connections: 3,
    subjects,
    count: 30,
    heartbeatMode: "publish",
  });
  try {
    await emulator.ready;
    const ids = emulator.agents;
    for (const [i, agentId] of ids.entries()) master.runTask(agentId, [`m${i}`]);
    await eventually(() => emulator.stats().updatesSent === 30, "RUNNING from every agent");
    await eventually(() => master.updates.length === 30, "30 updates at the master");
    t.is(emulator.stats().tasksLaunched, 30);
    t.is(emulator.stats().counters.tasks_duplicate ?? 0, 0);
    await eventually(() => new Set(master.heartbeats).size === 30, "heartbeats without replies");
    t.is(emulator.stats().heartbeatReplies, 0);
  } finally {
    await emulator.stop();
    await master.close();
  }
});

import { readFile } from "node:fs/promises";
import test from "ava";
import { agentCheckpointPath } from "../../../actors/agent/checkpoint.ts";
import { TaskState } from "../../../protocol/common.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../../helpers/wait.ts";
import { commandTask, startAgentFixture, testFramework } from "./helpers.ts";

const nats = useNatsServer(test, { jetstream: false });

test("agent registration - registers its resources and attributes, then heartbeats", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const [register] = fx.master.messages("agent.register");
  t.is(register?.hostname, "test-host");
  t.deepEqual(register?.resources, {
    cpus: 4,
    mem: 4096,
    disk: 10000,
    ports: [[31000, 32000]],
  });
  t.deepEqual(register?.attributes, { rack: "r1", zone: "a", generation: 3 });
  t.is(fx.agent.agentId(), fx.master.agentId);
  await fx.master.waitFor("heartbeats", () => fx.master.messages("agent.heartbeat").length >= 3);
  const heartbeat = fx.master.received.find((r) => r.msg.type === "agent.heartbeat");
  t.is(heartbeat?.subject, fx.subjects.masterAgent(fx.master.agentId));
  const checkpoint = JSON.parse(await readFile(agentCheckpointPath(fx.workDir), "utf8"));
  t.is(checkpoint.agentId, fx.master.agentId);
});

test("agent registration - retried with backoff until a master answers", async (t) => {
  const fx = await startAgentFixture(nats().url, { startMaster: false });
  t.teardown(() => fx.dispose());
  await eventually(() => fx.agent.metrics.get("registration_attempts") >= 3, "a few attempts");
  t.false(fx.agent.registered());
  await fx.master.start();
  await eventually(() => fx.agent.registered(), "registration");
  t.is(fx.agent.agentId(), fx.master.agentId);
});

test("agent registration - reregisters with its id and tasks when the master comes back", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, "sleep 60");
  fx.master.runTask(framework, [task]);
  await fx.master.waitForState(task.taskId, TaskState.Running);

  await fx.master.stop();
  await eventually(() => !fx.agent.registered(), "the agent to notice");
  await fx.master.start();
  const reregister = await fx.master.waitFor("reregistration", () =>
    fx.master.messages("agent.reregister").at(0),
  );
  t.is(reregister.agentId, fx.master.agentId);
  t.is(reregister.hostname, "test-host");
  const reported = reregister.tasks.find((r) => r.task.taskId === task.taskId);
  t.is(reported?.frameworkId, framework.frameworkId);
  t.is(reported?.executorId, task.taskId);
  t.is(reported?.role, "*");
  t.is(reported?.status.state, TaskState.Running);
  await eventually(() => fx.agent.registered(), "registered again");
  t.is(fx.agent.metrics.get("registrations"), 1);
  t.is(fx.agent.metrics.get("reregistrations"), 1);
});

test("agent registration - reregisters when the master asks", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  fx.master.send({ type: "agent.reregisterRequest" });
  const reregister = await fx.master.waitFor("reregistration", () =>
    fx.master.messages("agent.reregister").at(0),
  );
  t.is(reregister.agentId, fx.master.agentId);
  t.deepEqual(reregister.tasks, []);
});

test("agent registration - a restarted agent reregisters with its checkpointed id", async (t) => {
  const first = await startAgentFixture(nats().url);
  const id = first.master.agentId;
  await first.agent.stop();
  const { createAgent } = await import("../../../actors/agent/index.ts");
  const { testLogger } = await import("./helpers.ts");
  const second = createAgent({
    nc: first.nc,
    logger: testLogger(),
    subjects: first.subjects,
    config: first.config,
    requestTimeoutMs: 1000,
  });
  t.teardown(async () => {
    await second.shutdown();
    await first.dispose();
  });
  await second.start();
  const reregister = await first.master.waitFor("reregistration", () =>
    first.master.messages("agent.reregister").at(0),
  );
  t.is(reregister.agentId, id);
  await eventually(() => second.registered(), "registered");
  t.is(second.agentId(), id);
  t.is(first.master.messages("agent.register").length, 1);
});

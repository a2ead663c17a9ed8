import test from "ava";
import { TaskState } from "../../../protocol/common.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../../helpers/wait.ts";
import { commandTask, processesWithEnv, startAgentFixture, testFramework } from "./helpers.ts";

const nats = useNatsServer(test, { jetstream: false });

test("agent shutdown - agent.shutdown kills every executor and task and leaves no process behind", async (t) => {
  let shutdownReason: string | undefined;
  let shutDown = false;
  const fx = await startAgentFixture(nats().url, {
    onShutdown: (reason) => {
      shutdownReason = reason;
      shutDown = true;
    },
  });
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const polite = commandTask(fx.master, "sleep 60");
  const stubborn = commandTask(fx.master, 'trap "" TERM; echo ready; sleep 60');
  const silent = commandTask(fx.master, "", {
    command: undefined,
    executor: { executorId: "never-subscribes", command: { value: "sleep 60" } },
  });
  fx.master.runTask(framework, [polite, stubborn, silent]);
  await fx.master.waitForState(polite.taskId, TaskState.Running);
  await fx.master.waitForState(stubborn.taskId, TaskState.Running);
  await fx.waitForSandbox(framework.frameworkId, stubborn.taskId, "stdout", "ready");
  const before = await processesWithEnv("AGORA_AGENT_ID", fx.master.agentId);
  t.true(before.length >= 5, `executors and tasks run: ${before.length}`);

  fx.master.send({ type: "agent.shutdown", reason: "removed by the test" });
  await eventually(() => shutDown, "the agent to shut down");
  t.is(shutdownReason, "removed by the test");
  t.deepEqual(await processesWithEnv("AGORA_AGENT_ID", fx.master.agentId), []);
  t.false(fx.agent.registered());
});

test("agent shutdown - stop leaves executors running (they outlive their agent)", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, "sleep 60");
  fx.master.runTask(framework, [task]);
  await fx.master.waitForState(task.taskId, TaskState.Running);
  await fx.agent.stop();
  const alive = await processesWithEnv("AGORA_EXECUTOR_ID", task.taskId);
  t.true(alive.length >= 2, "the executor and its command");
});

import test from "ava";
import type { ExecutorInfo, TaskInfo } from "../../../protocol/common.ts";
import { TaskSource, TaskState } from "../../../protocol/common.ts";
import { echoExecutorScript } from "../../helpers/bundle.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../../helpers/wait.ts";
import { commandTask, processesWithEnv, startAgentFixture, testFramework } from "./helpers.ts";

const nats = useNatsServer(test, { jetstream: false });

const text = new TextEncoder();
const decoder = new TextDecoder();

/** The echo executor fixture (bundled: plain `node file.mjs`), started without a shell. */
async function echoExecutor(executorId = "echo"): Promise<ExecutorInfo> {
  return {
    executorId,
    name: "echo executor",
    command: {
      shell: false,
      value: process.execPath,
      arguments: [await echoExecutorScript()],
    },
  };
}

function customTask(base: TaskInfo, executor: ExecutorInfo, data?: string): TaskInfo {
  const { command: _command, ...rest } = base;
  return { ...rest, executor, data: data === undefined ? undefined : text.encode(data) };
}

test("custom executor - receives launches and messages and sends updates through the library", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const executor = await echoExecutor();
  const first = customTask(commandTask(fx.master, "-"), executor, "payload-1");
  fx.master.runTask(framework, [first]);
  const running = await fx.master.waitForState(first.taskId, TaskState.Running);
  t.is(running.source, TaskSource.Executor);
  t.is(running.executorId, "echo");
  t.is(decoder.decode(running.data), "payload-1");

  // A second task of the same executor reuses the running process.
  const second = customTask(commandTask(fx.master, "-"), executor);
  fx.master.runTask(framework, [second]);
  await fx.master.waitForState(second.taskId, TaskState.Running);
  t.is(fx.agent.metrics.get("executors_launched"), 1);

  fx.master.send({
    type: "agent.frameworkMessage",
    frameworkId: framework.frameworkId,
    executorId: "echo",
    data: text.encode("hello"),
  });
  const echoed = await fx.master.waitFor("the echoed message", () =>
    fx.master.messages("agent.message").find((m) => decoder.decode(m.data) === "echo:hello"),
  );
  t.is(echoed.frameworkId, framework.frameworkId);
  t.is(echoed.executorId, "echo");

  fx.master.send({
    type: "agent.killTask",
    frameworkId: framework.frameworkId,
    taskId: second.taskId,
  });
  await fx.master.waitForState(second.taskId, TaskState.Killed);

  fx.master.send({
    type: "agent.frameworkMessage",
    frameworkId: framework.frameworkId,
    executorId: "echo",
    data: text.encode("finish"),
  });
  const finished = await fx.master.waitForState(first.taskId, TaskState.Finished);
  t.is(finished.message, "finish requested");
  t.true(
    (await fx.readSandbox(framework.frameworkId, "echo", "stdout")).includes(
      "echo executor echo subscribed",
    ),
  );
});

test("custom executor - acknowledgements reach the executor", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = customTask(commandTask(fx.master, "-"), await echoExecutor("acked"));
  fx.master.runTask(framework, [task]);
  await fx.master.waitForState(task.taskId, TaskState.Running);
  // The agent forwards the ack as executor.acknowledged; watch the executor's subject.
  const seen: string[] = [];
  const { decode } = await import("../../../protocol/codec.ts");
  const sub = fx.nc.subscribe(
    fx.subjects.executor(fx.master.agentId, framework.frameworkId, "acked"),
    {
      callback: (_e, m) => {
        seen.push(decode(m.data).type);
      },
    },
  );
  t.teardown(() => sub.unsubscribe());
  await fx.nc.flush();
  fx.master.send({
    type: "agent.frameworkMessage",
    frameworkId: framework.frameworkId,
    executorId: "acked",
    data: text.encode("fail"),
  });
  await fx.master.waitForState(task.taskId, TaskState.Failed);
  await eventually(() => seen.includes("executor.acknowledged"), "executor.acknowledged");
  t.pass();
});

test("custom executor - shutting the framework down stops its executor", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = customTask(commandTask(fx.master, "-"), await echoExecutor("doomed"));
  fx.master.runTask(framework, [task]);
  await fx.master.waitForState(task.taskId, TaskState.Running);
  t.is((await processesWithEnv("AGORA_EXECUTOR_ID", "doomed")).length > 0, true);
  fx.master.send({ type: "agent.shutdownFramework", frameworkId: framework.frameworkId });
  await eventually(
    () => fx.agent.metrics.get("executors_terminated") === 1,
    "the executor to exit",
  );
  t.deepEqual((await processesWithEnv("AGORA_AGENT_ID", fx.master.agentId)).length, 0);
});

/**
 * The agent's fetch step with a custom executor: the URIs of its
 * `ExecutorInfo.command` are in the sandbox before the executor is spawned.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import type { ExecutorInfo, TaskInfo } from "../../../protocol/common.ts";
import { TaskReason, TaskSource, TaskState } from "../../../protocol/common.ts";
import { echoExecutorScript } from "../../helpers/bundle.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { commandTask, startAgentFixture, testFramework } from "./helpers.ts";

const nats = useNatsServer(test, { jetstream: false });

async function scratch(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-agent-fetch-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The echo executor fixture, started by a script the agent fetches into the sandbox. */
async function fetchedEchoExecutor(dir: string): Promise<ExecutorInfo> {
  const script = path.join(dir, "start-executor.sh");
  const bundle = await echoExecutorScript();
  await writeFile(script, `#!/bin/sh\nexec '${process.execPath}' '${bundle}'\n`);
  return {
    executorId: "fetched-echo",
    command: {
      value: "./start-executor.sh",
      uris: [{ value: script, executable: true }],
    },
  };
}

function customTask(base: TaskInfo, executor: ExecutorInfo): TaskInfo {
  const { command: _command, ...rest } = base;
  return { ...rest, executor };
}

test("agent fetch - a custom executor's uris are fetched before it is spawned from them", async (t) => {
  const dir = await scratch(t);
  const fx = await startAgentFixture(nats().url, {
    config: { fetcherCacheDir: path.join(dir, "cache") },
  });
  t.teardown(() => fx.dispose());
  const task = customTask(commandTask(fx.master, "-"), await fetchedEchoExecutor(dir));
  fx.master.runTask(testFramework(), [task]);
  const running = await fx.master.waitForState(task.taskId, TaskState.Running);
  t.is(running.source, TaskSource.Executor, "the executor started from the fetched script");
  t.is(fx.agent.metrics.get("containerizer/fetcher/task_fetches_succeeded"), 1);
});

test("agent fetch - a custom executor whose uri is missing fails its task: REASON_CONTAINER_LAUNCH_FAILED", async (t) => {
  const dir = await scratch(t);
  const fx = await startAgentFixture(nats().url, {
    config: { fetcherCacheDir: path.join(dir, "cache") },
  });
  t.teardown(() => fx.dispose());
  const missing = path.join(dir, "no-such-executor");
  const executor: ExecutorInfo = {
    executorId: "missing",
    command: { value: "./no-such-executor", uris: [{ value: missing, executable: true }] },
  };
  const task = customTask(commandTask(fx.master, "-"), executor);
  fx.master.runTask(testFramework(), [task]);
  const failed = await fx.master.waitForState(task.taskId, TaskState.Failed);
  t.is(failed.reason, TaskReason.ContainerLaunchFailed);
  t.true(failed.message?.includes(missing), failed.message);
  t.is(fx.agent.metrics.get("containerizer/fetcher/task_fetches_failed"), 1);
});

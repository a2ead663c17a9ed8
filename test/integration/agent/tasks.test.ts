import test from "ava";
import { TaskReason, TaskSource, TaskState } from "../../../protocol/common.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { commandTask, startAgentFixture, testFramework } from "./helpers.ts";

const nats = useNatsServer(test, { jetstream: false });

test("agent tasks - echo hello: STARTING, RUNNING, FINISHED and hello in the sandbox stdout", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, "echo hello");
  fx.master.runTask(framework, [task]);
  const finished = await fx.master.waitForState(task.taskId, TaskState.Finished);
  const states = fx.master.updates(task.taskId).map((s) => s.state);
  t.deepEqual([...new Set(states)], [TaskState.Starting, TaskState.Running, TaskState.Finished]);
  t.is(finished.exitCode, 0);
  t.is(finished.source, TaskSource.Executor);
  t.is(finished.agentId, fx.master.agentId);
  t.is(finished.executorId, task.taskId);
  t.truthy(finished.uuid);
  t.is(finished.message, "Command exited with status 0");
  t.is((await fx.readSandbox(framework.frameworkId, task.taskId, "stdout")).trim(), "hello");
  const update = fx.master.messages("agent.update").find((u) => u.status.taskId === task.taskId);
  t.is(update?.frameworkId, framework.frameworkId);
});

test("agent tasks - a non-zero exit is TASK_FAILED with the exit code", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const task = commandTask(fx.master, "echo oops >&2; exit 3");
  const framework = testFramework();
  fx.master.runTask(framework, [task]);
  const failed = await fx.master.waitForState(task.taskId, TaskState.Failed);
  t.is(failed.exitCode, 3);
  t.is(failed.message, "Command exited with status 3");
  t.true((await fx.readSandbox(framework.frameworkId, task.taskId, "stderr")).includes("oops"));
});

test("agent tasks - a kill of a command that ignores SIGTERM ends in TASK_KILLED after SIGKILL", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, 'trap "" TERM; echo ready; sleep 60', {
    killGracePeriodSeconds: 1,
  });
  fx.master.runTask(framework, [task]);
  await fx.master.waitForState(task.taskId, TaskState.Running);
  // The trap must be in place before the kill, or SIGTERM would do.
  await fx.waitForSandbox(framework.frameworkId, task.taskId, "stdout", "ready");
  fx.master.send({
    type: "agent.killTask",
    frameworkId: framework.frameworkId,
    taskId: task.taskId,
  });
  const killed = await fx.master.waitForState(task.taskId, TaskState.Killed);
  t.is(killed.signal, "SIGKILL");
  t.is(killed.message, "Command terminated with signal SIGKILL");
  t.false(fx.master.updates(task.taskId).some((s) => s.state === TaskState.Failed));
});

test("agent tasks - the task's environment reaches the process, the sandbox is its cwd", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, 'echo "$GREETING|$MESOS_EXECUTOR_ID"; pwd', {
    command: {
      value: 'echo "$GREETING|$MESOS_EXECUTOR_ID"; pwd',
      environment: { GREETING: "hello world" },
    },
  });
  fx.master.runTask(framework, [task]);
  await fx.master.waitForState(task.taskId, TaskState.Finished);
  const [line, cwd] = (await fx.readSandbox(framework.frameworkId, task.taskId, "stdout"))
    .trim()
    .split("\n");
  t.is(line, `hello world|${task.taskId}`);
  t.true(cwd?.includes(task.taskId));
});

test("agent tasks - a program without the shell gets its arguments", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, "", {
    command: { value: "/bin/echo", shell: false, arguments: ["a b", "$HOME"] },
  });
  fx.master.runTask(framework, [task]);
  await fx.master.waitForState(task.taskId, TaskState.Finished);
  t.is((await fx.readSandbox(framework.frameworkId, task.taskId, "stdout")).trim(), "a b $HOME");
});

test("agent tasks - updates are retried until acknowledged, the next one only after the ack", async (t) => {
  const fx = await startAgentFixture(nats().url, {
    master: { autoAck: false },
    config: { statusUpdateRetryMin: 100, statusUpdateRetryMax: 400 },
  });
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, "echo retried");
  fx.master.runTask(framework, [task]);
  const starting = await fx.master.waitForState(task.taskId, TaskState.Starting);
  await fx.master.waitFor(
    "the STARTING update re-sent",
    () => fx.master.updates(task.taskId).filter((s) => s.uuid === starting.uuid).length >= 3,
  );
  // Nothing but STARTING until it is acknowledged, though the command has ended.
  t.true(fx.master.updates(task.taskId).every((s) => s.uuid === starting.uuid));
  t.true(fx.agent.metrics.get("status_updates_retried") >= 2);
  fx.master.acknowledge(framework.frameworkId, starting);
  const running = await fx.master.waitForState(task.taskId, TaskState.Running);
  t.not(running.uuid, starting.uuid);
  fx.master.autoAck = true;
  fx.master.acknowledge(framework.frameworkId, running);
  await fx.master.waitForState(task.taskId, TaskState.Finished);
});

test("agent tasks - a kill of an unknown task is answered with TASK_LOST", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  fx.master.send({ type: "agent.killTask", frameworkId: "fw-x", taskId: "nope" });
  const lost = await fx.master.waitForState("nope", TaskState.Lost);
  t.is(lost.source, TaskSource.Agent);
  t.is(lost.reason, TaskReason.TaskUnknown);
});

test("agent tasks - a kill before the executor subscribed kills the task during launch", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, "sleep 60");
  fx.master.runTask(framework, [task]);
  fx.master.send({
    type: "agent.killTask",
    frameworkId: framework.frameworkId,
    taskId: task.taskId,
  });
  const killed = await fx.master.waitForState(task.taskId, TaskState.Killed);
  t.is(killed.reason, TaskReason.TaskKilledDuringLaunch);
});

test("agent tasks - an executor that never subscribes fails its task with a registration timeout", async (t) => {
  const fx = await startAgentFixture(nats().url, { config: { executorRegistrationTimeout: 300 } });
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, "", {
    command: undefined,
    executor: { executorId: "silent", command: { value: "sleep 30" } },
  });
  fx.master.runTask(framework, [task]);
  const failed = await fx.master.waitForState(task.taskId, TaskState.Failed);
  t.is(failed.reason, TaskReason.ExecutorRegistrationTimeout);
  t.is(failed.source, TaskSource.Agent);
});

test("agent tasks - an executor that exits fails its tasks with REASON_EXECUTOR_TERMINATED", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, "", {
    command: undefined,
    executor: { executorId: "crasher", command: { value: "echo bye; exit 7" } },
  });
  fx.master.runTask(framework, [task]);
  const failed = await fx.master.waitForState(task.taskId, TaskState.Failed);
  t.is(failed.reason, TaskReason.ExecutorTerminated);
  t.true(failed.message?.includes("status 7"));
  t.is((await fx.readSandbox(framework.frameworkId, "crasher", "stdout")).trim(), "bye");
});

test("agent tasks - a task without command or executor is TASK_ERROR", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, "x", { command: undefined });
  fx.master.runTask(framework, [task]);
  const error = await fx.master.waitForState(task.taskId, TaskState.Error);
  t.is(error.reason, TaskReason.TaskInvalid);
});

test("agent tasks - a work dir given relative to the current directory works", async (t) => {
  const { mkdtemp, rm } = await import("node:fs/promises");
  const path = await import("node:path");
  const os = await import("node:os");
  const absolute = await mkdtemp(path.join(os.tmpdir(), "agora-relative-"));
  t.teardown(() => rm(absolute, { recursive: true, force: true }));
  const fx = await startAgentFixture(nats().url, {
    config: { workDir: path.relative(process.cwd(), absolute) },
    workDir: absolute,
  });
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, "echo relative");
  fx.master.runTask(framework, [task]);
  await fx.master.waitForState(task.taskId, TaskState.Finished);
  t.is((await fx.readSandbox(framework.frameworkId, task.taskId, "stdout")).trim(), "relative");
});

test("agent tasks - a program that cannot be started is TASK_FAILED", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, "", {
    command: { value: "/no/such/program", shell: false },
  });
  fx.master.runTask(framework, [task]);
  const failed = await fx.master.waitForState(task.taskId, TaskState.Failed);
  t.is(failed.reason, TaskReason.CommandExecutorFailed);
  t.true(failed.message?.includes("ENOENT"));
});

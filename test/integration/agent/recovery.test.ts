/**
 * Agent recovery with real processes (serial: each test runs agents, executors and tasks,
 * and timings such as the reregistration timeout must not depend on the others' load): `agora agent` is SIGKILLed and
 * restarted on the same work dir (Mesos `--recover=reconnect`), executors are
 * SIGKILLed with and without their agent, and an executor outlives its
 * agent's recovery timeout.
 */
import { existsSync } from "node:fs";
import { appendFile, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import test from "ava";
import { TaskReason, TaskState } from "../../../protocol/common.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../../helpers/wait.ts";
import { commandTask, testFramework } from "./helpers.ts";
import {
  listFiles,
  startRecoveryFixture,
  taskProcesses,
  WAIT_FOR_GO,
  waitForExit,
  waitForNoProcesses,
} from "./recovery-helpers.ts";

const nats = useNatsServer(test, { jetstream: false });

type Reregister = MessageOf<"agent.reregister">;

test.serial(
  "agent recovery - a SIGKILLed agent restarted on its work dir reattaches the live executor, resends the unacknowledged update and delivers the finish once",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    const first = fx.startAgent();
    await fx.registered();
    const framework = testFramework();
    const task = commandTask(fx.master, WAIT_FOR_GO);
    fx.master.autoAck = false;
    fx.master.runTask(framework, [task]);
    const starting = await fx.master.waitForState(task.taskId, TaskState.Starting);
    fx.master.acknowledge(framework.frameworkId, starting);
    // RUNNING stays unacknowledged across the restart.
    const running = await fx.master.waitForState(task.taskId, TaskState.Running);
    const executorPid = await fx.executorPid(framework.frameworkId, task.taskId);
    // Killed once the checkpoint holds the acknowledgement and the pending update.
    const journal = path.join(
      fx.workDir,
      "meta",
      "frameworks",
      framework.frameworkId,
      "executors",
      task.taskId,
      "tasks.jsonl",
    );
    await eventually(async () => {
      // the task's latest line in its executor's journal
      const text = (await readFile(journal, "utf8").catch(() => "")).trim().split("\n").at(-1);
      return (
        text?.includes(`"acked":["${starting.uuid}"]`) === true && text.includes(running.uuid!)
      );
    }, "the checkpoint");
    await fx.kill(first);

    const restartedAt = fx.mark();
    const second = fx.startAgent();
    const reregister = await fx.master.waitFor("reregistration", () =>
      fx.master.received
        .slice(restartedAt)
        .find((r): r is typeof r & { msg: Reregister } => r.msg.type === "agent.reregister"),
    );
    t.is(reregister.msg.agentId, fx.master.agentId);
    const reported = reregister.msg.tasks.find((r) => r.task.taskId === task.taskId);
    t.truthy(reported, "the task is reported on reregistration");
    // Its RUNNING update is not acknowledged yet: the master is told the acknowledged state.
    t.is(reported?.status.state, TaskState.Starting);
    const resent = await fx.master.waitFor("RUNNING resent", () =>
      fx.master.received
        .slice(restartedAt)
        .find((r) => r.msg.type === "agent.update" && r.msg.status.uuid === running.uuid),
    );
    t.truthy(resent);
    t.true(
      fx.master.received.indexOf(resent) > fx.master.received.indexOf(reregister),
      "updates are resent after the reregistration",
    );
    fx.master.autoAck = true;
    fx.master.acknowledge(framework.frameworkId, running);
    // The same executor process runs on.
    t.true((await taskProcesses(task.taskId)).includes(executorPid));

    await writeFile(path.join(fx.sandbox(framework.frameworkId, task.taskId), "go"), "");
    const finished = await fx.master.waitForState(task.taskId, TaskState.Finished);
    t.is(finished.exitCode, 0);
    await waitForExit(executorPid);
    const finishes = new Set(
      fx.master
        .updates(task.taskId)
        .filter((s) => s.state === TaskState.Finished)
        .map((s) => s.uuid),
    );
    t.is(finishes.size, 1);
    t.false(fx.master.updates(task.taskId).some((s) => s.state === TaskState.Failed));
    // The closed task leaves no checkpoint behind.
    await eventually(
      async () =>
        (await listFiles(path.join(fx.workDir, "meta"))).every((f) => !f.includes(task.taskId)),
      "the task checkpoint to go",
    );
    second.child.kill("SIGTERM");
    t.is((await second.result).code, 0);
  },
);

test.serial(
  "agent recovery - an executor SIGKILLed while its agent is down: TASK_FAILED once after the restart, its task's processes gone",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    // The task forks a child of its own: both must go.
    const { agent: first, framework, task } = await fx.runningTask("sleep 300 & sleep 301; wait");
    const executorPid = await fx.executorPid(framework.frameworkId, task.taskId);
    await eventually(
      async () => (await taskProcesses(task.taskId)).length >= 3,
      "the task's processes",
    );
    await fx.kill(first);
    process.kill(executorPid, "SIGKILL");
    await waitForExit(executorPid);
    t.true((await taskProcesses(task.taskId)).length > 0, "the task outlived its executor");

    fx.startAgent();
    const failed = await fx.master.waitForState(task.taskId, TaskState.Failed);
    t.is(failed.reason, TaskReason.ExecutorTerminated);
    await waitForNoProcesses(task.taskId);
    const reregister = await fx.master.waitFor("reregistration", () =>
      fx.master.messages("agent.reregister").at(-1),
    );
    t.not(
      reregister.tasks.find((r) => r.task.taskId === task.taskId)?.status.state,
      TaskState.Failed,
      "the failure is reported by its update, not twice",
    );
    // Reported once: acknowledged, the stream is closed and its checkpoint gone.
    await eventually(
      async () =>
        (await listFiles(path.join(fx.workDir, "meta"))).every((f) => !f.includes(task.taskId)),
      "the executor checkpoint to go",
    );
    t.is(fx.master.updates(task.taskId).filter((s) => s.state === TaskState.Failed).length, 1);
  },
);

test.serial(
  "agent recovery - kill -9 of an executor under a live agent: its task's processes end with it, TASK_FAILED once",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    const { framework, task } = await fx.runningTask("sleep 300 & sleep 301; wait");
    const executorPid = await fx.executorPid(framework.frameworkId, task.taskId);
    await eventually(
      async () => (await taskProcesses(task.taskId)).length >= 3,
      "the task's processes",
    );
    process.kill(executorPid, "SIGKILL");
    const failed = await fx.master.waitForState(task.taskId, TaskState.Failed);
    t.is(failed.reason, TaskReason.ExecutorTerminated);
    await waitForNoProcesses(task.taskId);
    t.is(fx.master.updates(task.taskId).filter((s) => s.state === TaskState.Failed).length, 1);
  },
);

test.serial(
  "agent recovery - --recover cleanup kills the checkpointed executor and its task and reports TASK_FAILED",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    const { agent: first, task } = await fx.runningTask("sleep 300");
    await fx.kill(first);
    fx.startAgent(["--recover", "cleanup"]);
    const failed = await fx.master.waitForState(task.taskId, TaskState.Failed);
    t.is(failed.reason, TaskReason.ExecutorTerminated);
    t.regex(failed.message ?? "", /cleanup/);
    await waitForNoProcesses(task.taskId);
    await fx.master.waitFor(
      "reregistration",
      () => fx.master.messages("agent.reregister").length > 0,
    );
  },
);

test.serial(
  "agent recovery - a torn checkpoint journal line is skipped with a log line; the agent reregisters",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    const { agent: first, framework, task } = await fx.runningTask("sleep 300");
    await fx.kill(first);
    const journal = path.join(
      fx.workDir,
      "meta",
      "frameworks",
      framework.frameworkId,
      "executors",
      task.taskId,
      "tasks.jsonl",
    );
    t.true(existsSync(journal));
    // a line torn by a crash in the middle of an append
    await appendFile(journal, '{"taskId": "torn');
    const second = fx.startAgent();
    await fx.master.waitFor(
      "reregistration",
      () => fx.master.messages("agent.reregister").length > 0,
    );
    const line = await second.stderr.waitFor((l) => l.includes("corrupt checkpoint file skipped"), {
      timeoutMs: 20_000,
      what: "the log line",
    });
    t.true(line.includes("tasks.jsonl"), line);
    // the task's earlier, whole lines still hold it: it is reregistered
    const tasks = fx.master.messages("agent.reregister")[0]?.tasks ?? [];
    t.true(
      tasks.some((x) => x.task.taskId === task.taskId),
      JSON.stringify(tasks),
    );
  },
);

test.serial(
  "agent recovery - --reconfiguration-policy equal refuses changed resources, additive accepts more",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    const first = fx.startAgent(["--resources", "cpus:4;mem:4096;disk:10000"]);
    await fx.registered();
    await fx.kill(first);
    const refused = await fx.startAgent(["--resources", "cpus:8;mem:4096;disk:10000"]).result;
    t.not(refused.code, 0);
    const lines = refused.stderr.trim().split("\n");
    t.regex(lines.at(-1) ?? "", /reconfiguration-policy equal refuses .*cpus 4 → 8/);
    const shrunk = await fx.startAgent([
      "--resources",
      "cpus:2;mem:4096;disk:10000",
      "--reconfiguration-policy",
      "additive",
    ]).result;
    t.not(shrunk.code, 0);
    fx.startAgent([
      "--resources",
      "cpus:8;mem:4096;disk:10000;gpus:1",
      "--reconfiguration-policy",
      "additive",
    ]);
    const reregister = await fx.master.waitFor("reregistration", () =>
      fx.master.messages("agent.reregister").at(-1),
    );
    t.is(reregister.resources.cpus, 8);
    t.is(reregister.resources.gpus, 1);
  },
);

test.serial(
  "agent recovery - an executor whose agent stays away past its recovery timeout kills its task and exits",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    const first = fx.startAgent(["--recovery-timeout", "1500ms"]);
    await fx.registered();
    const framework = testFramework();
    const task = commandTask(fx.master, "sleep 300");
    fx.master.runTask(framework, [task]);
    await fx.master.waitForState(task.taskId, TaskState.Running);
    const executorPid = await fx.executorPid(framework.frameworkId, task.taskId);
    await fx.kill(first);
    await waitForExit(executorPid);
    await waitForNoProcesses(task.taskId);
    t.pass();
  },
);

test.serial(
  "agent recovery - a live executor that does not resubscribe within the reregistration timeout is killed, its task TASK_FAILED",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    const { agent: first, framework, task } = await fx.runningTask("sleep 300");
    const executorPid = await fx.executorPid(framework.frameworkId, task.taskId);
    await fx.kill(first);
    // A stopped executor is alive but cannot answer executor.reconnect.
    process.kill(executorPid, "SIGSTOP");
    const restartedAt = fx.mark();
    fx.startAgent(["--executor-reregistration-timeout", "1s"]);
    const failed = await fx.master.waitForState(task.taskId, TaskState.Failed);
    t.is(failed.reason, TaskReason.ExecutorTerminated);
    t.regex(failed.message ?? "", /did not reregister within 1s/);
    await waitForExit(executorPid);
    await waitForNoProcesses(task.taskId);
    // The agent reregistered only after the wait, reporting the task as the master knew it;
    // the failure followed as its own update.
    const after = fx.master.received.slice(restartedAt);
    const reregister = after.findIndex((r) => r.msg.type === "agent.reregister");
    const failure = after.findIndex(
      (r) => r.msg.type === "agent.update" && r.msg.status.state === TaskState.Failed,
    );
    t.true(reregister !== -1 && reregister < failure);
    const msg = after[reregister]?.msg;
    const reported =
      msg?.type === "agent.reregister"
        ? msg.tasks.find((r) => r.task.taskId === task.taskId)?.status.state
        : undefined;
    t.truthy(reported);
    t.not(reported, TaskState.Failed);
  },
);

test.serial(
  "agent recovery - without its checkpointed id the agent kills the checkpointed executors and registers anew",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    const { agent: first, task } = await fx.runningTask("sleep 300");
    await fx.kill(first);
    await rm(path.join(fx.workDir, "meta", "agent.json"));
    const restartedAt = fx.mark();
    fx.startAgent();
    await waitForNoProcesses(task.taskId);
    await fx.master.waitFor("a new registration", () =>
      fx.master.received.slice(restartedAt).some((r) => r.msg.type === "agent.register"),
    );
    t.false(existsSync(path.join(fx.workDir, "meta", "frameworks")));
  },
);

import test from "ava";
import { pack } from "msgpackr";
import { decode, encode } from "../../../protocol/codec.ts";
import { TaskState } from "../../../protocol/common.ts";
import { ErrorCode } from "../../../protocol/errors.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { commandTask, startAgentFixture, testFramework } from "./helpers.ts";

const nats = useNatsServer(test, { jetstream: false });

test("agent hostile input - bad messages are dropped or answered with errors; the agent runs the next task", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const { nc, subjects, master } = fx;
  const agentSubject = subjects.agent(master.agentId);
  const framework = testFramework();

  // Published garbage on the master's command subject: dropped and counted.
  const garbage: Uint8Array[] = [
    new Uint8Array([0xc1, 0xff, 0x00]),
    new Uint8Array(),
    pack([1, 2, 3]),
    pack({ v: 1, type: "agent.runTask", framework, tasks: "all of them" }),
    pack({ v: 1, type: "agent.runTask", framework, tasks: [{ taskId: "a.b.c" }] }),
    pack({ v: 99, type: "agent.shutdown" }),
    pack({ v: 1, type: "agent.shutdown" }).subarray(0, 5),
    pack({ v: 1, type: "no.such.type" }),
    encode({ type: "agent.heartbeat" }),
    pack({ v: 1, type: "agent.killTask", frameworkId: "f", taskId: "x".repeat(10_000) }),
  ];
  for (const bytes of garbage) nc.publish(agentSubject, bytes);

  // A request gets an error reply with a stable code.
  const reply = decode((await nc.request(agentSubject, pack({ v: 1, type: 42 }))).data);
  t.is(reply.type, "error");
  t.is(reply.type === "error" ? reply.code : undefined, ErrorCode.InvalidMessage);
  const wrongType = decode(
    (await nc.request(agentSubject, encode({ type: "agent.heartbeat" }))).data,
  );
  t.is(wrongType.type === "error" ? wrongType.code : undefined, ErrorCode.UnknownType);

  // On the executors' subjects: an unknown executor may not subscribe; bad updates are dropped.
  const executorSubject = subjects.agentExecutor(master.agentId, framework.frameworkId, "ghost");
  const refused = decode(
    (await nc.request(executorSubject, encode({ type: "executor.subscribe" }))).data,
  );
  t.is(refused.type === "error" ? refused.code : undefined, ErrorCode.NotFound);
  nc.publish(
    executorSubject,
    encode({
      type: "executor.update",
      status: { taskId: "ghost-task", state: TaskState.Finished, timestamp: 0, uuid: "u1" },
    }),
  );
  nc.publish(executorSubject, new Uint8Array([1, 2, 3, 4]));
  nc.publish(executorSubject, encode({ type: "executor.message", data: new Uint8Array([1]) }));
  await nc.flush();

  // The agent is still serving.
  const task = commandTask(master, "echo still alive");
  master.runTask(framework, [task]);
  await master.waitForState(task.taskId, TaskState.Finished);
  t.is((await fx.readSandbox(framework.frameworkId, task.taskId, "stdout")).trim(), "still alive");
  t.true(fx.agent.metrics.get("messages_invalid") >= garbage.length + 3);
  t.is(fx.agent.metrics.get("executor_updates_unknown_task"), 1);
  t.true(fx.agent.registered());
  t.false(master.updates("ghost-task").length > 0);
});

test("agent hostile input - illegal transitions, other executors' tasks and duplicate launches are refused", async (t) => {
  const fx = await startAgentFixture(nats().url);
  t.teardown(() => fx.dispose());
  const { nc, subjects, master } = fx;
  const framework = testFramework();
  const sleeper = commandTask(master, "sleep 60");
  const other = commandTask(master, "sleep 60");
  // A second runTask of a live task is ignored.
  master.runTask(framework, [sleeper, other]);
  master.runTask(framework, [sleeper]);
  await master.waitForState(sleeper.taskId, TaskState.Running);
  await master.waitForState(other.taskId, TaskState.Running);
  t.is(fx.agent.metrics.get("tasks_duplicate"), 1);
  const forge = (executorId: string, taskId: string, state: string, uuid: string) =>
    nc.publish(
      subjects.agentExecutor(master.agentId, framework.frameworkId, executorId),
      pack({ v: 1, type: "executor.update", status: { taskId, state, timestamp: 0, uuid } }),
    );
  // RUNNING → STARTING is not a legal transition.
  forge(sleeper.taskId, sleeper.taskId, TaskState.Starting, "forged-1");
  // One executor may not report the task of another.
  forge(sleeper.taskId, other.taskId, TaskState.Finished, "forged-2");
  await nc.flush();
  // The legal kill still goes through, after the forged messages.
  master.send({
    type: "agent.killTask",
    frameworkId: framework.frameworkId,
    taskId: sleeper.taskId,
  });
  await master.waitForState(sleeper.taskId, TaskState.Killed);
  // the forger knows not the executor's own token: refused before any other check
  t.is(fx.agent.metrics.get("executor_messages_bad_token"), 2);
  t.is(fx.agent.metrics.get("executor_updates_illegal"), 0);
  const all = [...master.updates(sleeper.taskId), ...master.updates(other.taskId)];
  t.false(all.some((s) => s.uuid?.startsWith("forged")));
});

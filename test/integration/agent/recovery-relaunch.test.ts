/**
 * An agent that crashes after sending `executor.launch` but before its
 * checkpoint marks the task launched: restarted, it must not launch the task
 * a second time (the command executor would answer TASK_ERROR and end a task
 * that still runs). The executor's resubscription names the tasks it runs;
 * those were launched, whatever the checkpoint says (Mesos: the executor's
 * SUBSCRIBE carries its unacknowledged tasks, which the agent does not
 * relaunch).
 *
 * The crash window is made deterministic by leaving exactly what a crash in it
 * leaves on disk: the agent is SIGKILLed while the task runs, and the task's
 * checkpoint is written back (through the agent's own state store) as not
 * launched.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import test from "ava";
import { AgentStateStore, type TaskCheckpoint } from "../../../actors/agent/state-store.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { TaskState } from "../../../protocol/common.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../../helpers/wait.ts";
import { startRecoveryFixture, WAIT_FOR_GO } from "./recovery-helpers.ts";

const nats = useNatsServer(test, { jetstream: false });

/** The task's checkpoint as the agent's store reads it back. */
async function taskCheckpointOf(
  store: AgentStateStore,
  taskId: string,
): Promise<TaskCheckpoint | undefined> {
  const state = await store.load();
  return state.executors.flatMap((e) => e.tasks).find((c) => c.task.taskId === taskId);
}

test.serial(
  "agent recovery - a task the resubscribing executor reports is not launched again though its checkpoint says not launched",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    const { agent: first, framework, task } = await fx.runningTask(WAIT_FOR_GO);
    const store = new AgentStateStore(fx.workDir, silentLogger(), new Metrics());
    await eventually(
      async () => (await taskCheckpointOf(store, task.taskId))?.launched,
      "the task checkpointed as launched",
    );
    await fx.kill(first);

    // What a crash between the launch and its checkpoint leaves: the task not marked launched.
    const checkpoint = await taskCheckpointOf(store, task.taskId);
    if (checkpoint === undefined) throw new Error("the task's checkpoint is gone");
    await store.saveTask(framework.frameworkId, checkpoint.executorId, task.taskId, () => ({
      ...checkpoint,
      launched: false,
    }));
    t.false((await taskCheckpointOf(store, task.taskId))?.launched);

    const from = fx.mark();
    fx.startAgent();
    await fx.master.waitFor("reregistration", () =>
      fx.master.received.slice(from).some((r) => r.msg.type === "agent.reregister"),
    );
    // The agent reregisters once the executor resubscribed. The fix checkpoints the task as
    // launched; the bug launches it again, which the command executor answers with TASK_ERROR.
    const errors = () => fx.master.updates(task.taskId).filter((s) => s.state === TaskState.Error);
    await eventually(
      async () => errors().length > 0 || (await taskCheckpointOf(store, task.taskId))?.launched,
      "the task checkpointed as launched, or a TASK_ERROR",
    );
    t.deepEqual(errors(), [], "a second launch was answered TASK_ERROR");

    await writeFile(path.join(fx.sandbox(framework.frameworkId, task.taskId), "go"), "");
    const terminal = await fx.master.waitFor("the task's end", () =>
      fx.master
        .updates(task.taskId)
        .find((s) => s.state !== TaskState.Running && s.state !== TaskState.Starting),
    );
    t.is(terminal.state, TaskState.Finished, terminal.message);
    t.deepEqual(errors(), []);
  },
);

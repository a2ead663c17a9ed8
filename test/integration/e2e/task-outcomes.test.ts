/**
 * How tasks end, end to end through a real master, agent and command
 * executor: success, failure, kill with grace period, invalid tasks, and
 * launches on offers that are no longer valid.
 */
import { access } from "node:fs/promises";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import {
  isTerminalState,
  type Offer,
  type TaskInfo,
  TaskReason,
  TaskState,
  type TaskStatus,
} from "../../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import type { ClusterContext } from "../../helpers/cluster.ts";
import {
  eventually,
  frameworkWithOffer,
  startCluster,
  startFramework,
  type TestFramework,
  tempDir,
  useCluster,
  WAIT_MS,
} from "./helpers.ts";

interface Context extends ClusterContext {
  scratch: { dir: string; remove(): Promise<void> };
}
const test = anyTest as TestFn<Context>;

let seq = 0;

useCluster(test, {
  prefix: "outcomes",
  agents: [{ hostname: "agent-1", resources: "cpus:4;mem:4096" }],
});
test.before(async (t) => {
  t.context.scratch = await tempDir("agora-outcomes-");
});
test.after.always(async (t) => {
  await t.context.scratch?.remove();
});

function task(offer: Offer, command: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    ...commandTask({
      name: `t${++seq}`,
      agentId: offer.agentId,
      resources: { cpus: 0.1, mem: 32 },
      command,
    }),
    ...extra,
  };
}

/** The terminal status of a task, and every state it went through. */
async function outcome(
  fw: TestFramework,
  taskId: string,
): Promise<{ last: TaskStatus; states: string[] }> {
  const end = await fw.events.waitFor(
    isEvent("update", (e) => e.status.taskId === taskId && isTerminalState(e.status.state)),
    { timeoutMs: WAIT_MS, what: `the end of ${taskId}` },
  );
  const states = fw.events
    .filter(isEvent("update", (e) => e.status.taskId === taskId))
    .map((e) => e.status.state);
  return { last: end.status, states };
}

// One agent, so run one test at a time: each takes the whole offer.
test.serial("outcomes - a command that exits 0 is TASK_FINISHED", async (t) => {
  const fw = await frameworkWithOffer(t, { name: `outcomes-${++seq}` });
  const info = task(fw.offer, "true");
  await fw.driver.accept([fw.offer.offerId], [info]);
  const { last, states } = await outcome(fw, info.taskId);
  t.is(last.state, TaskState.Finished);
  t.deepEqual(
    states.filter((s) => s !== TaskState.Staging),
    [TaskState.Starting, TaskState.Running, TaskState.Finished],
  );
  t.is(last.agentId, fw.offer.agentId);
});

test.serial("outcomes - a non-zero exit is TASK_FAILED with the exit code", async (t) => {
  const fw = await frameworkWithOffer(t, { name: `outcomes-${++seq}` });
  const info = task(fw.offer, "exit 7");
  await fw.driver.accept([fw.offer.offerId], [info]);
  const { last } = await outcome(fw, info.taskId);
  t.is(last.state, TaskState.Failed);
  t.is(last.exitCode, 7);
});

test.serial(
  "outcomes - a task ignoring SIGTERM is SIGKILLed after its grace period: TASK_KILLED",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `outcomes-${++seq}` });
    const ready = path.join(t.context.scratch.dir, `ready-${++seq}`);
    const info = task(fw.offer, `trap '' TERM; touch '${ready}'; sleep 60`, {
      killGracePeriodSeconds: 0.5,
    });
    await fw.driver.accept([fw.offer.offerId], [info]);
    await fw.events.waitFor(
      isEvent(
        "update",
        (e) => e.status.taskId === info.taskId && e.status.state === TaskState.Running,
      ),
      { timeoutMs: WAIT_MS },
    );
    // The shell has set its trap once the file exists.
    await eventually(
      async () =>
        access(ready).then(
          () => true,
          () => false,
        ),
      "the trap",
    );
    await fw.driver.kill(info.taskId, fw.offer.agentId);
    const { last } = await outcome(fw, info.taskId);
    t.is(last.state, TaskState.Killed);
    t.is(last.signal, "SIGKILL", "SIGTERM was ignored, so the grace period ended with SIGKILL");
  },
);

test.serial(
  "outcomes - an invalid task is TASK_ERROR; the valid task of the same accept runs",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `outcomes-${++seq}` });
    const valid = task(fw.offer, "true");
    const { command: _command, ...noCommand } = task(fw.offer, "true");
    await fw.driver.accept([fw.offer.offerId], [noCommand, valid]);
    const invalid = await outcome(fw, noCommand.taskId);
    t.is(invalid.last.state, TaskState.Error);
    t.is(invalid.last.reason, TaskReason.TaskInvalid);
    t.is((await outcome(fw, valid.taskId)).last.state, TaskState.Finished);
  },
);

test.serial("outcomes - resources beyond the offer are TASK_ERROR", async (t) => {
  const fw = await frameworkWithOffer(t, { name: `outcomes-${++seq}` });
  const big = task(fw.offer, "true", { resources: { cpus: 64, mem: 32 } });
  await fw.driver.accept([fw.offer.offerId], [big]);
  const { last } = await outcome(fw, big.taskId);
  t.is(last.state, TaskState.Error);
  t.is(last.reason, TaskReason.TaskInvalid);
});

test.serial(
  "outcomes - accepting a used offer drops the task: TASK_DROPPED and NOT_FOUND",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `outcomes-${++seq}` });
    await fw.driver.decline([fw.offer.offerId], { refuseSeconds: 0 });
    const late = task(fw.offer, "true");
    const err = await t.throwsAsync(fw.driver.accept([fw.offer.offerId], [late]));
    t.true(err instanceof AgoraError);
    t.is((err as AgoraError).code, ErrorCode.NotFound);
    const { last } = await outcome(fw, late.taskId);
    t.is(last.state, TaskState.Dropped);
    t.is(last.reason, TaskReason.InvalidOffers);
  },
);

test.serial("outcomes - accepting a rescinded offer drops the task", async (t) => {
  // A cluster of its own whose master rescinds offers quickly.
  const subjects = new Subjects("outcomes-rescind");
  const cluster = await startCluster({
    url: t.context.server.url,
    subjects,
    agents: [{ hostname: "agent-r", resources: "cpus:1;mem:256" }],
    master: { offerTimeout: 300 },
  });
  t.teardown(() => cluster.stop());
  const fw = await startFramework({
    servers: t.context.server.url,
    subjects,
    framework: { name: "rescinded" },
  });
  t.teardown(() => fw.driver.teardown().catch(() => fw.driver.stop()));
  const { offers } = await fw.events.waitFor(isEvent("offers"), { timeoutMs: WAIT_MS });
  const offer = offers[0]!;
  await fw.events.waitFor(
    isEvent("rescind", (e) => e.offerId === offer.offerId),
    {
      timeoutMs: WAIT_MS,
    },
  );
  const late = task(offer, "true");
  const err = await t.throwsAsync(fw.driver.accept([offer.offerId], [late]));
  t.is((err as AgoraError).code, ErrorCode.NotFound);
  const { last } = await outcome(fw, late.taskId);
  t.is(last.state, TaskState.Dropped);
});

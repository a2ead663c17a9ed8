import test from "ava";
import {
  StatusUpdateManager,
  type StatusUpdateStore,
} from "../../../actors/agent/status-updates.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { TaskState, type TaskStatus } from "../../../protocol/common.ts";

interface Sent {
  at: number;
  frameworkId: string;
  status: TaskStatus;
}

function setup(
  options: { retryMinMs?: number; retryMaxMs?: number; store?: StatusUpdateStore } = {},
) {
  const clock = new VirtualClock(0);
  const sent: Sent[] = [];
  const closed: string[] = [];
  const metrics = new Metrics();
  const manager = new StatusUpdateManager({
    clock,
    retryMinMs: options.retryMinMs ?? 10_000,
    retryMaxMs: options.retryMaxMs ?? 600_000,
    forward: (frameworkId, status) => sent.push({ at: clock.now(), frameworkId, status }),
    onClosed: (frameworkId, taskId) => closed.push(`${frameworkId}/${taskId}`),
    store: options.store,
    logger: silentLogger(),
    metrics,
  });
  manager.resume();
  return { clock, sent, closed, metrics, manager };
}

let seq = 0;
function status(taskId: string, state: TaskState, uuid = `u${++seq}`): TaskStatus {
  return { taskId, state, uuid, timestamp: 0, source: "SOURCE_EXECUTOR" };
}

test("status updates - one update at a time per task, in order, the next after the ack", (t) => {
  const { sent, manager } = setup();
  const starting = status("t1", TaskState.Starting);
  const running = status("t1", TaskState.Running);
  const finished = status("t1", TaskState.Finished);
  t.is(manager.update("f1", starting), "queued");
  t.is(manager.update("f1", running), "queued");
  t.is(manager.update("f1", finished), "queued");
  t.deepEqual(
    sent.map((s) => s.status.uuid),
    [starting.uuid],
  );
  t.is(manager.acknowledge("f1", "t1", starting.uuid!)?.uuid, starting.uuid);
  t.deepEqual(
    sent.map((s) => s.status.uuid),
    [starting.uuid, running.uuid],
  );
  manager.acknowledge("f1", "t1", running.uuid!);
  t.deepEqual(
    sent.map((s) => s.status.state),
    [TaskState.Starting, TaskState.Running, TaskState.Finished],
  );
  t.is(sent[0]?.frameworkId, "f1");
});

test("status updates - streams of different tasks are independent", (t) => {
  const { sent, manager } = setup();
  manager.update("f1", status("a", TaskState.Running));
  manager.update("f1", status("b", TaskState.Running));
  manager.update("f2", status("a", TaskState.Running));
  t.is(sent.length, 3);
  t.is(manager.size, 3);
});

test("status updates - an unacknowledged update is retried, doubling up to the cap", (t) => {
  const { clock, sent, manager, metrics } = setup({ retryMinMs: 10_000, retryMaxMs: 60_000 });
  const running = status("t1", TaskState.Running);
  manager.update("f1", running);
  for (let i = 0; i < 7; i++) clock.advanceTo(clock.nextAt()!);
  t.deepEqual(
    sent.map((s) => s.at),
    [0, 10_000, 30_000, 70_000, 130_000, 190_000, 250_000, 310_000],
  );
  t.true(sent.every((s) => s.status.uuid === running.uuid));
  t.is(metrics.get("status_updates_retried"), 7);
});

test("status updates - the ack stops retries and the next update starts from retry-min again", (t) => {
  const { clock, sent, manager } = setup({ retryMinMs: 100, retryMaxMs: 1000 });
  const running = status("t1", TaskState.Running);
  const finished = status("t1", TaskState.Finished);
  manager.update("f1", running);
  manager.update("f1", finished);
  clock.advance(100);
  clock.advance(200);
  t.is(sent.length, 3);
  manager.acknowledge("f1", "t1", running.uuid!);
  t.is(sent.length, 4);
  t.is(sent[3]?.status.uuid, finished.uuid);
  clock.advance(99);
  t.is(sent.length, 4);
  clock.advance(1);
  t.is(sent.length, 5);
  t.is(sent[4]?.status.uuid, finished.uuid);
});

test("status updates - duplicates by uuid are ignored", (t) => {
  const { sent, manager, metrics } = setup();
  const running = status("t1", TaskState.Running);
  t.is(manager.update("f1", running), "queued");
  t.is(manager.update("f1", { ...running }), "duplicate");
  manager.acknowledge("f1", "t1", running.uuid!);
  t.is(manager.update("f1", { ...running }), "duplicate");
  t.is(sent.length, 1);
  t.is(metrics.get("status_updates_duplicate"), 2);
});

test("status updates - the terminal update's ack closes the stream", (t) => {
  const { clock, sent, closed, manager } = setup();
  const finished = status("t1", TaskState.Finished);
  manager.update("f1", finished);
  t.true(manager.has("f1", "t1"));
  manager.acknowledge("f1", "t1", finished.uuid!);
  t.false(manager.has("f1", "t1"));
  t.deepEqual(closed, ["f1/t1"]);
  t.is(clock.nextAt(), undefined);
  t.is(sent.length, 1);
});

test("status updates - nothing may follow a terminal update", (t) => {
  const { sent, manager } = setup();
  manager.update("f1", status("t1", TaskState.Failed));
  t.is(manager.update("f1", status("t1", TaskState.Running)), "after-terminal");
  t.is(sent.length, 1);
  t.is(manager.pending("f1", "t1").length, 1);
});

test("status updates - stale and unknown acks are ignored", (t) => {
  const { sent, manager, metrics } = setup();
  const running = status("t1", TaskState.Running);
  const finished = status("t1", TaskState.Finished);
  manager.update("f1", running);
  manager.update("f1", finished);
  t.is(manager.acknowledge("f1", "t1", finished.uuid!), undefined);
  t.is(manager.acknowledge("f1", "nope", running.uuid!), undefined);
  t.is(manager.acknowledge("f2", "t1", running.uuid!), undefined);
  t.is(sent.length, 1);
  t.is(metrics.get("status_update_acks_unexpected"), 3);
  t.truthy(manager.acknowledge("f1", "t1", running.uuid!));
});

test("status updates - paused: nothing is sent; resume sends every pending update", (t) => {
  const { clock, sent, manager } = setup({ retryMinMs: 100 });
  manager.pause();
  manager.update("f1", status("a", TaskState.Running));
  manager.update("f1", status("b", TaskState.Running));
  clock.advance(10_000);
  t.is(sent.length, 0);
  manager.resume();
  t.deepEqual(
    sent.map((s) => s.status.taskId),
    ["a", "b"],
  );
  manager.pause();
  clock.advance(10_000);
  t.is(sent.length, 2);
});

test("status updates - cleanup drops a framework's streams", (t) => {
  const { clock, manager } = setup();
  manager.update("f1", status("a", TaskState.Running));
  manager.update("f2", status("b", TaskState.Running));
  manager.cleanup("f1");
  t.false(manager.has("f1", "a"));
  t.true(manager.has("f2", "b"));
  manager.clear();
  t.is(manager.size, 0);
  t.is(clock.nextAt(), undefined);
});

test("status updates - the store sees appends, acks and closes", (t) => {
  const log: string[] = [];
  const { manager } = setup({
    store: {
      appended: (f, s) => log.push(`append ${f} ${s.taskId} ${s.state}`),
      acknowledged: (f, task, uuid) => log.push(`ack ${f} ${task} ${uuid}`),
      closed: (f, task) => log.push(`close ${f} ${task}`),
    },
  });
  const finished = status("t1", TaskState.Finished, "x");
  manager.update("f1", finished);
  manager.acknowledge("f1", "t1", "x");
  t.deepEqual(log, ["append f1 t1 TASK_FINISHED", "ack f1 t1 x", "close f1 t1"]);
});

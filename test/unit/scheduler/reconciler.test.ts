import test from "ava";
import { Reconciler, TaskBook, type TaskRef } from "../../../actors/scheduler/reconciler.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { TaskState, type TaskStatus } from "../../../protocol/common.ts";

function status(taskId: string, state: TaskStatus["state"], agentId = "a1"): TaskStatus {
  return { taskId, state, agentId, timestamp: 0 };
}

function reconciler(book: TaskBook) {
  const clock = new VirtualClock();
  const calls: TaskRef[][] = [];
  const r = new Reconciler({
    clock,
    logger: silentLogger(),
    metrics: new Metrics(),
    book,
    reconcile: async (tasks) => {
      calls.push(tasks);
    },
    retryMs: 1000,
    retryMaxMs: 4000,
    attempts: 4,
    batch: 2,
  });
  return { clock, calls, r };
}

test("task book - tracks the latest non-terminal state, forgets terminal tasks and the oldest beyond its bound", (t) => {
  const book = new TaskBook(2);
  book.observe(status("t1", TaskState.Staging));
  book.observe(status("t1", TaskState.Running));
  book.observe(status("t2", TaskState.Running, "a2"));
  t.is(book.stateOf("t1"), TaskState.Running);
  book.observe(status("t2", TaskState.Finished));
  t.is(book.stateOf("t2"), undefined);
  book.observe(status("t3", TaskState.Running));
  book.observe(status("t4", TaskState.Running));
  t.is(book.size, 2);
  t.deepEqual(
    book.refs().map((r) => r.taskId),
    ["t3", "t4"],
  );
  book.observe({ taskId: "t4", state: TaskState.Unknown, timestamp: 0 });
  t.deepEqual(book.refs().at(-1), { taskId: "t4", agentId: "a1" });
});

test("reconciler - implicit, then explicit in batches, retried with doubling delays for unanswered tasks", (t) => {
  const book = new TaskBook(100);
  for (const id of ["t1", "t2", "t3"]) book.observe(status(id, TaskState.Running));
  const { clock, calls, r } = reconciler(book);
  r.start();
  t.deepEqual(calls.splice(0), [
    [],
    [
      { taskId: "t1", agentId: "a1" },
      { taskId: "t2", agentId: "a1" },
    ],
    [{ taskId: "t3", agentId: "a1" }],
  ]);
  r.observe(status("t1", TaskState.Running));
  // a TASK_UNKNOWN right after a failover is asked again: the agent may not be back yet
  r.observe(status("t2", TaskState.Unknown));
  clock.advance(999);
  t.deepEqual(calls, []);
  clock.advance(1);
  t.deepEqual(
    calls
      .splice(0)
      .flat()
      .map((c) => c.taskId),
    ["t2", "t3"],
  );
  r.observe(status("t3", TaskState.Lost));
  clock.advance(2000);
  t.deepEqual(
    calls
      .splice(0)
      .flat()
      .map((c) => c.taskId),
    ["t2"],
  );
  r.observe(status("t2", TaskState.Running));
  t.is(r.pending, 0);
  clock.advance(60_000);
  t.deepEqual(calls, []);
});

test("reconciler - gives up after its rounds, and a new start replaces the rounds under way", (t) => {
  const book = new TaskBook(100);
  book.observe(status("t1", TaskState.Running));
  const { clock, calls, r } = reconciler(book);
  r.start();
  clock.advance(60_000);
  t.is(calls.filter((c) => c.length > 0).length, 4);
  t.is(r.pending, 0);
  calls.length = 0;
  r.start();
  r.start();
  t.is(calls.filter((c) => c.length === 0).length, 2);
  clock.advance(1000);
  t.is(calls.filter((c) => c.length > 0).length, 3);
  r.cancel();
  clock.advance(60_000);
  t.is(calls.filter((c) => c.length > 0).length, 3);
});

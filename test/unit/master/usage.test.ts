import test from "ava";
import { acceptCall, Harness, task } from "./harness.ts";

function launched() {
  const h = new Harness();
  const fid = h.addFramework();
  const aid = h.addAgent({ cpus: 4, mem: 4096 });
  h.flush();
  const offer = h.offersTo(fid)[0]!;
  h.call(fid, acceptCall([offer.offerId], [task("t1", aid, { cpus: 1, mem: 256 })], 0));
  return { h, fid, aid };
}

const stats = (timestamp: number, cpusUserTimeSecs: number) => ({
  timestamp,
  cpusUserTimeSecs,
  memTotalBytes: 1024,
  processes: 2,
});

function stateTask(h: Harness, fid: string, taskId: string) {
  return h
    .state()
    .frameworks.find((f) => f.id === fid)
    ?.tasks.find((x) => x.id === taskId);
}

test("usage - the latest agent.usage of a task shows as its statistics in the state", (t) => {
  const { h, fid, aid } = launched();
  t.is(stateTask(h, fid, "t1")?.statistics, undefined, "nothing reported yet");
  for (const [at, cpu] of [
    [1, 0.5],
    [2, 1.5],
  ] as const) {
    h.agent(aid, {
      type: "agent.usage",
      executors: [
        { frameworkId: fid, executorId: "t1", taskIds: ["t1"], statistics: stats(at, cpu) },
      ],
    });
  }
  t.deepEqual(stateTask(h, fid, "t1")?.statistics, stats(2, 1.5));
  t.is(h.metrics.get("usage_tasks_recorded"), 2);
  t.deepEqual(h.invariants(), []);
});

test("usage - statistics of an unknown task, or of a task on another agent, are ignored and counted", (t) => {
  const { h, fid } = launched();
  const other = h.addAgent({ cpus: 1, mem: 1024 }, "other");
  h.agent(other, {
    type: "agent.usage",
    executors: [
      { frameworkId: fid, executorId: "t1", taskIds: ["t1", "nope"], statistics: stats(1, 1) },
      {
        frameworkId: "no-such-framework",
        executorId: "x",
        taskIds: ["x"],
        statistics: stats(1, 1),
      },
    ],
  });
  t.is(stateTask(h, fid, "t1")?.statistics, undefined);
  t.is(h.metrics.get("usage_tasks_unknown"), 3);
});

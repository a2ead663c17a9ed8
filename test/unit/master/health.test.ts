/**
 * Health checks in the master core: an unusable check refused at the accept,
 * the framework's capabilities carried to the agent, and a task's health in
 * the state.
 */
import test from "ava";
import { TaskReason, TaskState } from "../../../protocol/common.ts";
import { FrameworkCapability } from "../../../protocol/frameworks.ts";
import { acceptCall, Harness, task } from "./harness.ts";

function setup(capabilities?: string[]) {
  const h = new Harness();
  const fid = h.addFramework(capabilities === undefined ? {} : { capabilities });
  const aid = h.addAgent({ cpus: 4, mem: 4096 });
  h.flush();
  const offer = h.offersTo(fid)[0];
  if (offer === undefined) throw new Error("expected an offer");
  return { h, fid, aid, offer };
}

test("health - an unusable health check is TASK_ERROR with the check's message; the others launch", (t) => {
  const { h, fid, aid, offer } = setup();
  const mark = h.mark();
  h.call(
    fid,
    acceptCall(
      [offer.offerId],
      [
        task("bad", aid, { cpus: 1 }, { healthCheck: { type: "TCP", tcp: {} } }),
        task("good", aid, { cpus: 1 }, { healthCheck: { type: "TCP", tcp: { port: 8080 } } }),
      ],
    ),
  );
  const [refused] = h.updatesTo(fid, mark);
  t.is(refused?.taskId, "bad");
  t.is(refused?.state, TaskState.Error);
  t.is(refused?.reason, TaskReason.TaskInvalid);
  t.is(
    refused?.message,
    "invalid health check: a TCP health check needs 'tcp.port' (the port the task listens on)",
  );
  const runs = h.sentTo("agent", aid, "agent.runTask", mark);
  t.deepEqual(
    runs.flatMap((r) => r.tasks.map((x) => x.taskId)),
    ["good"],
  );
  t.deepEqual(h.invariants(), []);
});

test("health - runTask carries the framework's capabilities to the agent", (t) => {
  const { h, fid, aid, offer } = setup([FrameworkCapability.TaskKillingState]);
  const mark = h.mark();
  h.call(fid, acceptCall([offer.offerId], [task("t", aid, { cpus: 1 })]));
  const [run] = h.sentTo("agent", aid, "agent.runTask", mark);
  t.deepEqual(run?.framework.capabilities, [FrameworkCapability.TaskKillingState]);
});

test("health - the state shows a task's health from its latest status", (t) => {
  const { h, fid, aid, offer } = setup();
  h.call(fid, acceptCall([offer.offerId], [task("t", aid, { cpus: 1 })]));
  const stateTask = () => h.state().frameworks[0]?.tasks.find((x) => x.id === "t");
  h.update(aid, fid, { taskId: "t", uuid: "u1" });
  t.false("healthy" in (stateTask() ?? {}), "no health before the check judged it");
  h.update(aid, fid, {
    taskId: "t",
    uuid: "u2",
    healthy: true,
    reason: TaskReason.TaskHealthCheckStatusUpdated,
  });
  t.true(stateTask()?.healthy);
  h.update(aid, fid, {
    taskId: "t",
    uuid: "u3",
    healthy: false,
    reason: TaskReason.TaskHealthCheckStatusUpdated,
  });
  t.false(stateTask()?.healthy);
  t.deepEqual(
    h.updatesTo(fid).map((s) => s.healthy),
    [undefined, true, false],
    "each health change reaches the framework",
  );
});

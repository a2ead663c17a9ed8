/**
 * Drain end to end through the scheduler driver: a real master and agent on
 * the test's nats-server; the framework running a task on the agent gets an
 * inverse offer, answers it, sees its task killed at the deadline with
 * REASON_AGENT_DRAINING, and the inverse offer withdrawn when the agent is
 * drained.
 */
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { request } from "../../../infra/request.ts";
import { TaskReason, TaskState } from "../../../protocol/common.ts";
import type { Message } from "../../../protocol/registry.ts";
import type { ClusterContext } from "../../helpers/cluster.ts";
import { frameworkWithOffer, useCluster, WAIT_MS } from "./helpers.ts";

const test = anyTest as TestFn<ClusterContext>;

useCluster(test, {
  prefix: "e2edrain",
  agents: [{ hostname: "drain-e2e", resources: "cpus:2;mem:1024" }],
});

async function operator(t: ExecutionContext<ClusterContext>, msg: Message) {
  const nc = await connect({ servers: t.context.server.url, name: "drain-e2e-operator" });
  try {
    return await request(
      nc,
      t.context.subjects.masterOperator(),
      msg,
      ["ok", "operator.state"],
      WAIT_MS,
    );
  } finally {
    await closeGracefully(nc);
  }
}

test("drain e2e - inverse offer, answer recorded, kill at the deadline with REASON_AGENT_DRAINING, then withdrawn", async (t) => {
  const fw = await frameworkWithOffer(t, { name: "drain-e2e" });
  const { offer } = fw;
  const info = commandTask({
    name: "sleeper",
    agentId: offer.agentId,
    resources: { cpus: 0.5, mem: 64 },
    command: "sleep 300",
  });
  await fw.driver.accept([offer.offerId], [info]);
  await fw.events.waitFor(
    isEvent(
      "update",
      (e) => e.status.taskId === info.taskId && e.status.state === TaskState.Running,
    ),
    { timeoutMs: WAIT_MS, what: "the task runs" },
  );

  await operator(t, {
    type: "operator.drainAgent",
    agentId: offer.agentId,
    deadlineSeconds: 2,
    maxGracePeriodSeconds: 1,
  });
  const { inverseOffers } = await fw.events.waitFor(isEvent("inverseOffers"), {
    timeoutMs: WAIT_MS,
    what: "the inverse offer",
  });
  t.is(inverseOffers.length, 1);
  t.is(inverseOffers[0]?.agentId, offer.agentId);
  t.is(inverseOffers[0]?.hostname, "drain-e2e");
  await fw.driver.acceptInverseOffers([inverseOffers[0]!.inverseOfferId]);
  const state = await operator(t, { type: "operator.getState" });
  if (state.type !== "operator.state") throw new Error("no state");
  t.deepEqual(state.state.agents[0]?.inverseOffers, [
    {
      inverseOfferId: inverseOffers[0]!.inverseOfferId,
      frameworkId: fw.driver.frameworkId,
      status: "ACCEPTED",
    },
  ]);

  const killed = await fw.events.waitFor(
    isEvent(
      "update",
      (e) => e.status.taskId === info.taskId && e.status.state === TaskState.Killed,
    ),
    { timeoutMs: WAIT_MS, what: "the kill at the deadline" },
  );
  t.is(killed.status.reason, TaskReason.AgentDraining);
  t.regex(killed.status.message ?? "", /^the agent is draining/);
  const rescinded = await fw.events.waitFor(isEvent("rescindInverseOffer"), {
    timeoutMs: WAIT_MS,
    what: "the inverse offer withdrawn once drained",
  });
  t.is(rescinded.inverseOfferId, inverseOffers[0]!.inverseOfferId);
  await operator(t, { type: "operator.reactivateAgent", agentId: offer.agentId });
});

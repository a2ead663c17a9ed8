/**
 * Drain end to end through the scheduler driver: a real master and agent on
 * the test's nats-server; the framework running a task on the agent gets an
 * inverse offer, answers it, sees its task killed at the deadline with
 * REASON_AGENT_DRAINING, and the inverse offer withdrawn when the agent is
 * drained.
 */
import anyTest, { type TestFn } from "ava";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import type { LocalCluster } from "../../../cli/local-cluster.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { type NatsServer, startNatsServer } from "../../../infra/nats-server.ts";
import { request } from "../../../infra/request.ts";
import { TaskReason, TaskState } from "../../../protocol/common.ts";
import type { Message } from "../../../protocol/registry.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { startCluster, startFramework, WAIT_MS } from "./helpers.ts";

const test = anyTest as TestFn<{ server: NatsServer; cluster: LocalCluster; subjects: Subjects }>;

test.before(async (t) => {
  const server = await startNatsServer();
  const subjects = new Subjects("e2edrain");
  const cluster = await startCluster({
    url: server.url,
    subjects,
    agents: [{ hostname: "drain-e2e", resources: "cpus:2;mem:1024" }],
  });
  t.context = { server, cluster, subjects };
});

test.after.always(async (t) => {
  await t.context.cluster?.stop();
  await t.context.server?.stop();
});

async function operator(t: { context: { server: NatsServer; subjects: Subjects } }, msg: Message) {
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
  const fw = await startFramework({
    servers: t.context.server.url,
    subjects: t.context.subjects,
    framework: { name: "drain-e2e" },
  });
  t.teardown(() => fw.driver.teardown().catch(() => fw.driver.stop()));
  const { offers } = await fw.events.waitFor(isEvent("offers"), { timeoutMs: WAIT_MS });
  const offer = offers[0]!;
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

/**
 * The seed's walk-through (seed/mesos-architecture.txt), end to end: one
 * agent with 4 CPUs and 4 GB, two frameworks through SchedulerDrivers.
 */
import test from "ava";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import { type Offer, TaskState } from "../../../protocol/common.ts";
import { Resources } from "../../../protocol/resources.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually, startCluster, startFramework, WAIT_MS } from "./helpers.ts";

const nats = useNatsServer(test);

/** The resources of an offer other than cpus and mem (what the agent detected: disk, ports). */
function others(offer: Offer): Resources {
  const r = Resources.fromJSON(offer.resources);
  return r.subtract(Resources.scalars({ cpus: r.scalar("cpus"), mem: r.scalar("mem") }));
}

test("walkthrough - offers, launch, leftover to the second framework, re-offer after the tasks finish", async (t) => {
  const subjects = new Subjects("walkthrough");
  const cluster = await startCluster({
    url: nats().url,
    subjects,
    agents: [{ hostname: "agent-1", resources: "cpus:4;mem:4096" }],
  });
  t.teardown(() => cluster.stop());
  const wait = { timeoutMs: WAIT_MS };

  // 1-3. The agent reports 4 CPUs and 4 GB; framework 1 is offered all of it.
  const fw1 = await startFramework({
    servers: nats().url,
    subjects,
    framework: { name: "framework-1" },
  });
  t.teardown(() => fw1.driver.stop());
  const first = await fw1.events.waitFor(isEvent("offers"), wait);
  t.is(first.offers.length, 1);
  const offer1 = first.offers[0]!;
  t.is(offer1.hostname, "agent-1");
  const r1 = Resources.fromJSON(offer1.resources);
  t.is(r1.scalar("cpus"), 4);
  t.is(r1.scalar("mem"), 4096);

  // Framework 2 subscribes: everything is offered to framework 1, so it gets nothing.
  const fw2 = await startFramework({
    servers: nats().url,
    subjects,
    framework: { name: "framework-2" },
  });
  t.teardown(() => fw2.driver.stop());

  // 4. Framework 1 launches ⟨2 CPUs, 1 GB⟩ and ⟨1 CPU, 2 GB⟩.
  const tasks = [
    commandTask({
      taskId: "task-1",
      name: "task-1",
      agentId: offer1.agentId,
      resources: { cpus: 2, mem: 1024 },
      command: "sleep 1",
    }),
    commandTask({
      taskId: "task-2",
      name: "task-2",
      agentId: offer1.agentId,
      resources: { cpus: 1, mem: 2048 },
      command: "sleep 1",
    }),
  ];
  t.is(fw2.events.filter(isEvent("offers")).length, 0, "framework 2 was offered nothing before");
  await fw1.driver.accept([offer1.offerId], tasks);

  // 5. The tasks run; framework 2 is offered exactly the remaining ⟨1 CPU, 1 GB⟩.
  const leftover = await fw2.events.waitFor(isEvent("offers"), wait);
  t.is(leftover.offers.length, 1);
  const offer2 = leftover.offers[0]!;
  t.is(offer2.agentId, offer1.agentId);
  const r2 = Resources.fromJSON(offer2.resources);
  t.is(r2.scalar("cpus"), 1);
  t.is(r2.scalar("mem"), 1024);
  t.true(others(offer2).equals(others(offer1)), "the rest of the agent (disk, ports) is unused");

  for (const task of tasks) {
    for (const state of [TaskState.Running, TaskState.Finished]) {
      await fw1.events.waitFor(
        isEvent("update", (e) => e.status.taskId === task.taskId && e.status.state === state),
        { ...wait, what: `${task.taskId} ${state}` },
      );
    }
  }

  // 7. The freed ⟨3 CPUs, 3 GB⟩ are offered again (in one offer or one per finished task;
  // framework 2 still holds its leftover offer, nobody declines).
  const reoffered = () => {
    const offers = [
      ...fw1.events.filter(isEvent("offers")).flatMap((e) => e.offers),
      ...fw2.events.filter(isEvent("offers")).flatMap((e) => e.offers),
    ].filter((o) => o.offerId !== offer1.offerId && o.offerId !== offer2.offerId);
    return offers.reduce((sum, o) => sum.add(Resources.fromJSON(o.resources)), Resources.empty());
  };
  const total = await eventually(() => {
    const r = reoffered();
    return r.scalar("cpus") >= 3 && r.scalar("mem") >= 3072 ? r : undefined;
  }, "the freed resources offered again");
  t.is(total.scalar("cpus"), 3);
  t.is(total.scalar("mem"), 3072);

  await fw1.driver.teardown();
  await fw2.driver.teardown();
});

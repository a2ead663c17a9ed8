/**
 * Preemption on a live master over a real nats-server with a real agent
 * running a real process: a framework of higher priority declares a demand
 * (`scheduler.request`) that free resources cannot serve; the low-priority
 * task is killed, its framework sees TASK_KILLED with REASON_TASK_PREEMPTED,
 * and the demander is offered the freed resources. `agora preemption` turns
 * it on at run time.
 */
import test from "ava";
import { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import { isEvent, recordEvents } from "../../../actors/scheduler/recorder.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { TaskReason, TaskState } from "../../../protocol/common.ts";
import { Resources } from "../../../protocol/resources.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { runAgora } from "../cli/helpers.ts";
import { WAIT_MS } from "../e2e/wait.ts";
import { freshSubjects } from "../master/helpers.ts";
import { startFramework, startPolicyCluster } from "./helpers.ts";

const nats = useNatsServer(test);

test("preemption - a high-priority demand kills a low-priority task; the victim sees why", async (t) => {
  const url = nats().url;
  const subjects = freshSubjects();
  const cluster = await startPolicyCluster({
    url,
    subjects,
    agents: 1,
    resources: "cpus:2;mem:512",
    master: { policy: "priority" },
  });
  // one role: the priority policy orders its frameworks by priority (high 10 > low 0)
  const low = await startFramework(url, subjects, "low", ["svc"]);
  const high = new SchedulerDriver({
    servers: url,
    subjects,
    framework: { name: "high", roles: ["svc"], priority: 10 },
    logger: silentLogger(),
  });
  const highEvents = recordEvents(high);
  t.teardown(async () => {
    await Promise.allSettled([low.driver.stop(), high.stop()]);
    await cluster.stop();
  });

  // low runs a long task on the whole agent
  const { offers } = await low.events.waitFor(isEvent("offers"), { timeoutMs: WAIT_MS });
  const offer = offers[0]!;
  await low.driver.accept(
    [offer.offerId],
    [
      {
        taskId: "sleeper",
        name: "sleeper",
        agentId: offer.agentId,
        resources: { cpus: 2, mem: 256 },
        command: { value: "sleep 600" },
        killPolicy: { gracePeriodSeconds: 1 },
      },
    ],
    { refuseSeconds: 3600 },
  );
  await low.events.waitFor(
    (e) =>
      e.type === "update" && e.status.taskId === "sleeper" && e.status.state === TaskState.Running,
    { timeoutMs: WAIT_MS, what: "the low task running" },
  );

  // high wants 1 cpu: none is free; preemption is off, so nothing happens yet
  await high.start();
  await high.request([{ resources: { cpus: 1, mem: 128 } }]);
  const agora = (...args: string[]) =>
    runAgora([...args, "--nats", url, "--prefix", subjects.prefix]);
  const before = await agora("preemption");
  t.is(before.code, 0, before.stderr);
  t.is(before.stdout.trim(), "preemption off");
  t.is(cluster.master.state().frameworks.find((f) => f.name === "low")?.tasks.length, 1);

  const on = await agora("preemption", "on");
  t.is(on.code, 0, on.stderr);
  t.is(on.stdout.trim(), "preemption on");
  t.true(cluster.master.state().preemption);

  const killed = await low.events.waitFor(
    (e) =>
      e.type === "update" && e.status.taskId === "sleeper" && e.status.state === TaskState.Killed,
    { timeoutMs: WAIT_MS, what: "the low task killed" },
  );
  t.is(killed.type === "update" ? killed.status.reason : undefined, TaskReason.TaskPreempted);
  const served = await highEvents.waitFor(
    (e) =>
      e.type === "offers" &&
      e.offers.some((o) =>
        Resources.fromJSON(o.resources).contains(Resources.parse("cpus:1;mem:128")),
      ),
    { timeoutMs: WAIT_MS, what: "the freed resources offered to high" },
  );
  t.is(served.type, "offers");
  t.true(cluster.master.metrics.get("tasks_preempted") === 1, "one task preempted");
  t.deepEqual(cluster.auditor.problems, []);

  const bad = await agora("preemption", "maybe");
  t.is(bad.code, 2);
  t.regex(bad.stderr.trim(), /^agora: .*expected on or off, got "maybe"$/);
});

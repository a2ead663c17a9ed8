/**
 * Fault: 10,000 malformed messages (garbage bytes, wrong types, bad fields,
 * oversized fields, bad batches, truncated payloads) over every subject the
 * actors listen on, sent while another fault is under way (an agent frozen
 * with SIGSTOP past its heartbeat timeout, then continued). Every actor
 * survives, every request among them is answered with an `error`, and the
 * check passes afterwards.
 */
import { randomUUID } from "node:crypto";
import { createInbox } from "@nats-io/nats-core";
import { TaskState } from "../../../protocol/common.ts";
import { DEFAULT_PRINCIPAL } from "../../../protocol/subjects.ts";
import { checkAfterFault } from "../harness/check.ts";
import { type FloodTarget, flood } from "../harness/malformed.ts";
import { pidAlive, taskProcesses } from "../harness/processes.ts";
import { faultCase, startScenario } from "../harness/scenario.ts";
import { eventually } from "../harness/wait.ts";

const COUNT = 10_000;

export default faultCase(
  "malformed flood - 10,000 malformed messages on every subject during an agent pause leave every actor alive",
  [],
  async (t) => {
    const { cluster, framework, agentIds } = await startScenario(t, { prefix: "fflood" });
    const s = cluster.subjects;
    const fwId = framework.frameworkId;
    const tasks = [...framework.report().tasks.values()];
    const executorsBefore = new Map<string, number>();
    for (const task of tasks) {
      const name = [...agentIds].find(([, id]) => id === task.agentId)![0];
      const { executor } = await taskProcesses(cluster.agent(name).workDir, task.taskId);
      t.truthy(executor, `the executor of ${task.taskId} runs`);
      if (executor !== undefined) executorsBefore.set(task.taskId, executor.pid);
    }
    const bogus = `bogus-${randomUUID().slice(0, 8)}`;
    const targets: FloodTarget[] = [
      { subject: s.masterRegister(), requests: true },
      { subject: s.masterAgent(bogus), requests: true },
      { subject: s.masterSubscribe(DEFAULT_PRINCIPAL), requests: true },
      { subject: s.masterFramework(DEFAULT_PRINCIPAL, fwId), requests: true },
      { subject: s.masterFramework(DEFAULT_PRINCIPAL, bogus), requests: true },
      { subject: s.masterOperator(), requests: true },
      { subject: s.framework(DEFAULT_PRINCIPAL, fwId), requests: false },
      { subject: s.policy("drf"), requests: true },
      { subject: s.agent(bogus), requests: false },
    ];
    for (const id of cluster.masters.keys()) {
      targets.push({ subject: s.masterInstance(id), requests: cluster.features.leaderLease });
    }
    for (const agentId of agentIds.values()) {
      targets.push({ subject: s.masterAgent(agentId), requests: true });
      targets.push({ subject: s.agent(agentId), requests: false });
    }
    for (const task of tasks) {
      targets.push({ subject: s.agentExecutor(task.agentId, fwId, task.taskId), requests: true });
      targets.push({ subject: s.executor(task.agentId, fwId, task.taskId), requests: false });
    }

    // The other fault: a1 frozen past its heartbeat timeout while the flood goes on.
    const paused = agentIds.get("a1")!;
    const onPaused = tasks.filter((task) => task.agentId === paused);
    cluster.agent("a1").proc.pause();
    const result = await flood(cluster.observer, targets, {
      count: COUNT,
      seed: 20261201,
      inbox: createInbox(),
    });
    t.teardown(() => result.close());
    t.is(result.sent, COUNT);
    await framework.waitFor(
      (r) => onPaused.every((task) => r.tasks.get(task.taskId)?.latest === TaskState.Unreachable),
      "the paused agent's tasks unreachable",
    );
    cluster.agent("a1").proc.resume();
    await framework.waitFor(
      (r) => onPaused.every((task) => r.tasks.get(task.taskId)?.latest === TaskState.Running),
      "the continued agent's tasks running",
    );

    // Every request was answered, and only with errors.
    const answered = () => [...result.replies.values()].reduce((a, b) => a + b, 0);
    await eventually(
      () => answered() >= result.requests,
      `replies to all ${result.requests} requests`,
      undefined,
      () => JSON.stringify([...result.replies]),
    );
    const kinds = [...result.replies.keys()].filter((k) => k !== "error" && k !== "no responders");
    t.deepEqual(kinds, [], `replies other than errors: ${JSON.stringify([...result.replies])}`);
    t.true((result.replies.get("error") ?? 0) > 0, "the actors answered the bad requests");

    // Every actor is alive: masters, agents and framework (in the check), executors here.
    for (const [taskId, pid] of executorsBefore) {
      t.true(pidAlive(pid), `the executor of ${taskId} survived`);
    }
    const state = await checkAfterFault(t, cluster, { tasks: tasks.length });
    t.true(state?.agents.every((a) => a.active) ?? false, "every agent is active");
    t.log(
      `sent ${result.sent} (${result.requests} as requests), replies ${JSON.stringify([...result.replies])}, ${result.skipped} candidates not sent`,
    );
  },
);

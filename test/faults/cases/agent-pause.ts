/**
 * Fault: an agent frozen with SIGSTOP past the heartbeat timeout, then
 * continued with SIGCONT. The master marks it unreachable (its tasks
 * TASK_UNREACHABLE at the partition-aware framework); the continued agent
 * reregisters with its tasks, which come back TASK_RUNNING.
 */
import { TaskState } from "../../../protocol/common.ts";
import { checkAfterFault } from "../harness/check.ts";
import { faultCase, startScenario } from "../harness/scenario.ts";

export default faultCase(
  "agent pause - a SIGSTOPped agent's tasks become unreachable, then running again after SIGCONT",
  [],
  async (t) => {
    const { cluster, framework, agentIds } = await startScenario(t, { prefix: "fpause" });
    const victim = agentIds.get("a1")!;
    const before = framework.report();
    const onVictim = [...before.tasks.values()].filter((task) => task.agentId === victim);
    t.true(onVictim.length > 0, "the framework has tasks on the paused agent");

    cluster.agent("a1").proc.pause();
    await framework.waitFor(
      (r) => onVictim.every((task) => r.tasks.get(task.taskId)?.latest === TaskState.Unreachable),
      "the paused agent's tasks unreachable at the framework",
    );
    const state = await cluster.leaderState();
    t.is(state.agents.find((a) => a.id === victim)?.status, "unreachable");

    cluster.agent("a1").proc.resume();
    const report = await framework.waitFor(
      (r) => onVictim.every((task) => r.tasks.get(task.taskId)?.latest === TaskState.Running) && r,
      "the continued agent's tasks running again at the framework",
    );
    for (const task of onVictim) {
      const states = report.tasks.get(task.taskId)!.updates.map((u) => u.state);
      const unreachable = states.indexOf(TaskState.Unreachable);
      t.true(unreachable >= 0, `${task.taskId} was reported unreachable`);
      t.true(
        states.lastIndexOf(TaskState.Running) > unreachable,
        `${task.taskId} was reported running after unreachable`,
      );
      t.false(
        states.some((s) => s === TaskState.Lost || s === TaskState.Gone),
        `${task.taskId} was never lost`,
      );
    }
    await checkAfterFault(t, cluster, { tasks: 4 });
  },
);

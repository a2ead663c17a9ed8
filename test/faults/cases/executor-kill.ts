/**
 * Fault: an executor is killed with SIGKILL. Its task's processes end with
 * it (none is left running unmanaged), the task is reported once with a
 * terminal state at the framework and the leader, its resources are
 * released, and the other tasks keep running.
 */
import { isTerminalState, TaskState } from "../../../protocol/common.ts";
import { Resources } from "../../../protocol/resources.ts";
import { checkAfterFault } from "../harness/check.ts";
import { NEEDS } from "../harness/features.ts";
import { pidAlive, taskProcesses } from "../harness/processes.ts";
import { faultCase, startScenario } from "../harness/scenario.ts";
import { eventually } from "../harness/wait.ts";

export default faultCase(
  "executor kill - a SIGKILLed executor takes its task's processes with it and the task is reported once",
  [NEEDS.agentRecovery],
  async (t) => {
    const { cluster, framework, agentIds } = await startScenario(t, { prefix: "fexec" });
    const agentId = agentIds.get("a1")!;
    const workDir = cluster.agent("a1").workDir;
    const doomed = [...framework.report().tasks.values()].find((task) => task.agentId === agentId)!;
    const { executor, tasks: processes } = await taskProcesses(workDir, doomed.taskId);
    t.truthy(executor, "the task's executor was found");
    t.true(processes.length > 0, "the task's processes were found");
    const before = await cluster.leaderState();

    process.kill(executor!.pid, "SIGKILL");

    await eventually(
      () => processes.every((p) => !pidAlive(p.pid)),
      "the task's processes ended with their executor",
    );
    const report = await framework.waitFor((r) => {
      const task = r.tasks.get(doomed.taskId);
      return task?.latest !== undefined && isTerminalState(task.latest) && r;
    }, "the task's terminal update at the framework");
    const state = await checkAfterFault(t, cluster, {
      tasks: 4,
      ended: { [framework.frameworkId]: [doomed.taskId] },
    });
    // Reported once: one terminal update (retries of it carry the same uuid), one terminal state.
    const final = framework.report().tasks.get(doomed.taskId)!;
    t.is(final.terminalStates.size, 1, `terminal states: ${[...final.terminalStates].join(", ")}`);
    t.is(final.terminalUuids.size, 1, "one terminal update, acknowledged once");
    t.true(
      [TaskState.Failed, TaskState.Gone, TaskState.Lost].includes(
        [...final.terminalStates][0] as "TASK_FAILED",
      ),
      `the task ended ${[...final.terminalStates][0]}`,
    );
    for (const task of report.tasks.values()) {
      if (task.taskId !== doomed.taskId)
        t.is(task.latest, TaskState.Running, `${task.taskId} runs`);
    }
    // Its resources are released: the agent's used resources shrank by the task's.
    const usedOf = (st: typeof before | undefined) =>
      Resources.fromJSON(st?.agents.find((a) => a.id === agentId)?.used ?? {}).quantities();
    const released = usedOf(before).subtractSaturating(usedOf(state));
    const held = Resources.fromJSON(
      before.frameworks.flatMap((f) => f.tasks).find((task) => task.id === doomed.taskId)
        ?.resources ?? {},
    ).quantities();
    t.true(released.contains(held), `released ${released}, the task held ${held}`);
    const left = await taskProcesses(workDir, doomed.taskId);
    t.deepEqual(
      [left.executor, ...left.tasks].filter((p) => p !== undefined).map((p) => p.pid),
      [],
      "nothing of the task runs",
    );
  },
);

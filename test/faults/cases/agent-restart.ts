/**
 * Fault: an agent is killed with SIGKILL and started again with the same
 * --work-dir. Its executors outlive it; the new agent process reattaches to
 * them, reregisters under the same id with their tasks, and the tasks are
 * recovered: the same processes, RUNNING at the framework and the leader,
 * never lost, their resources counted once (not offered again). A task that
 * ends afterwards has its update delivered through the new agent. Then the
 * same again with a plain Ctrl-C (SIGINT) instead of SIGKILL.
 */
import { isClusterEvent } from "../../../cli/cluster-events.ts";
import { TaskState } from "../../../protocol/common.ts";
import { checkAfterFault } from "../harness/check.ts";
import { NEEDS } from "../harness/features.ts";
import { pidAlive, taskProcesses } from "../harness/processes.ts";
import { faultCase, startScenario } from "../harness/scenario.ts";
import { FAULT_WAIT_MS } from "../harness/wait.ts";

export default faultCase(
  "agent restart - an agent SIGKILLed (then SIGINTed) and restarted on its work dir recovers its running tasks",
  [NEEDS.agentRecovery],
  async (t) => {
    const { cluster, framework, agentIds } = await startScenario(t, { prefix: "frestart" });
    const agentId = agentIds.get("a1")!;
    const workDir = cluster.agent("a1").workDir;
    const onAgent = [...framework.report().tasks.values()].filter(
      (task) => task.agentId === agentId,
    );
    const executors = new Map<string, number>();
    for (const task of onAgent) {
      const { executor } = await taskProcesses(workDir, task.taskId);
      t.truthy(executor, `the executor of ${task.taskId} runs`);
      if (executor !== undefined) executors.set(task.taskId, executor.pid);
    }

    /** Stops a1 the way `how` says, starts it again, checks every task of it is recovered. */
    const restart = async (how: "SIGKILL" | "SIGINT") => {
      if (how === "SIGKILL") {
        await cluster.agent("a1").proc.kill();
      } else {
        const exit = await cluster.agent("a1").proc.stop();
        t.is(exit.code, 0, "Ctrl-C stops the agent cleanly");
      }
      for (const [taskId, pid] of executors) {
        t.true(pidAlive(pid), `the executor of ${taskId} outlives its agent (${how})`);
      }
      const mark = cluster.events.mark();
      cluster.restartAgent("a1");
      // The new process reregistered under the old id (not registered anew).
      await cluster.events.waitFor(
        isClusterEvent("cluster.agentReregistered", (e) => e.agentId === agentId),
        { from: mark, timeoutMs: FAULT_WAIT_MS, what: `the agent reregistering after ${how}` },
      );
      await checkAfterFault(t, cluster, { tasks: 4 });
      const state = await cluster.leaderState();
      t.deepEqual(
        state.agents.filter((a) => a.hostname === "a1" && a.active).map((a) => a.id),
        [agentId],
        `after ${how}, the agent is active under its old id only`,
      );
      const report = framework.report();
      for (const task of onAgent) {
        const states = report.tasks.get(task.taskId)!.updates.map((u) => u.state);
        t.is(states.at(-1), TaskState.Running, `${task.taskId} runs: ${states.join(" → ")}`);
        t.false(
          states.some((s) =>
            [TaskState.Lost, TaskState.Failed, TaskState.Gone, TaskState.Dropped].includes(
              s as "TASK_LOST",
            ),
          ),
          `${task.taskId} was never lost: ${states.join(" → ")}`,
        );
      }
      for (const [taskId, pid] of executors) {
        const { executor } = await taskProcesses(workDir, taskId);
        t.is(executor?.pid, pid, `the same executor runs ${taskId} after ${how} (reattached)`);
      }
    };
    await restart("SIGKILL");
    // A plain Ctrl-C loses nothing either.
    await restart("SIGINT");

    // The reattached executor reports through the new agent process.
    const doomed = onAgent[0]!;
    const { tasks: processes } = await taskProcesses(workDir, doomed.taskId);
    t.true(processes.length > 0, "the task's processes were found");
    for (const p of processes) process.kill(p.pid, "SIGKILL");
    await framework.waitFor(
      (r) => r.tasks.get(doomed.taskId)?.latest === TaskState.Failed,
      "the ended task's failure through the restarted agent",
    );
    await checkAfterFault(t, cluster, {
      tasks: 4,
      ended: { [framework.frameworkId]: [doomed.taskId] },
    });
  },
);

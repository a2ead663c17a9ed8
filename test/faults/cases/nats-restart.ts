/**
 * Fault: the single nats-server is killed with SIGKILL and started again on
 * the same port with the same JetStream store dir. Every actor reconnects
 * (the scheduler driver resubscribes), the master's state is intact (same
 * agents, same tasks, same framework), and updates flow again: a task ended
 * after the restart has its terminal update at the framework.
 */
import { TaskState } from "../../../protocol/common.ts";
import { checkAfterFault } from "../harness/check.ts";
import { pidAlive, taskProcesses } from "../harness/processes.ts";
import { faultCase, startScenario } from "../harness/scenario.ts";
import { eventually } from "../harness/wait.ts";

export default faultCase(
  "nats restart - every actor reconnects to a restarted nats-server with state intact",
  [],
  async (t) => {
    // Agents are unreachable after 4 × 1 s: longer than the server's restart, even on a loaded machine.
    const { cluster, framework, agentIds } = await startScenario(t, {
      prefix: "fnats",
      agentPingTimeout: "1s",
    });
    const before = await cluster.leaderState();
    const subscriptions = framework.report().subscriptions.length;

    await cluster.restartNats("SIGKILL");

    // The driver notices the reconnect and subscribes again.
    await framework.waitFor(
      (r) => r.subscriptions.length > subscriptions,
      "the framework resubscribed after the restart",
    );
    const after = await checkAfterFault(t, cluster, { tasks: 4 });
    t.deepEqual(
      after?.agents.map((a) => a.id).sort(),
      before.agents.map((a) => a.id).sort(),
      "the same agents",
    );
    const tasksOf = (s: typeof before | undefined) =>
      s?.frameworks
        .find((f) => f.id === framework.frameworkId)
        ?.tasks.map((task) => `${task.id} ${task.state}`)
        .sort();
    t.deepEqual(tasksOf(after), tasksOf(before), "the same tasks, still running");

    // Updates flow after the restart: end one task, its failure reaches the framework.
    const doomed = [...framework.report().tasks.values()].find(
      (task) => task.agentId === agentIds.get("a2"),
    )!;
    const { tasks: processes } = await taskProcesses(cluster.agent("a2").workDir, doomed.taskId);
    t.true(processes.length > 0, "the task's processes were found");
    for (const p of processes) process.kill(p.pid, "SIGKILL");
    await eventually(() => processes.every((p) => !pidAlive(p.pid)), "the task's processes gone");
    await framework.waitFor(
      (r) => r.tasks.get(doomed.taskId)?.latest === TaskState.Failed,
      "the ended task's failure at the framework",
    );
    await checkAfterFault(t, cluster, {
      tasks: 4,
      ended: { [framework.frameworkId]: [doomed.taskId] },
    });
  },
);

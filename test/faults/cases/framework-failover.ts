/**
 * Fault: the framework's scheduler process is killed with SIGKILL and a new
 * process fails over to the same framework id. The master keeps the
 * framework's tasks for its failover timeout; a task that ends while no
 * scheduler runs has its terminal update delivered (the agent retries it
 * until acknowledged) to the new process; every other task keeps running,
 * and the new process can kill the tasks its predecessor launched.
 */
import { isClusterEvent } from "../../../cli/cluster-events.ts";
import { TaskState } from "../../../protocol/common.ts";
import { checkAfterFault } from "../harness/check.ts";
import { pidAlive, taskProcesses } from "../harness/processes.ts";
import { faultCase, startScenario } from "../harness/scenario.ts";
import { eventually, FAULT_WAIT_MS } from "../harness/wait.ts";

export default faultCase(
  "framework failover - a SIGKILLed scheduler is replaced by a new process with the same id, tasks and updates intact",
  [],
  async (t) => {
    const { cluster, framework, agentIds } = await startScenario(t, {
      prefix: "ffailover",
      failoverTimeoutSeconds: 60,
    });
    const first = framework.report();
    const doomed = [...first.tasks.values()].find((task) => task.agentId === agentIds.get("a1"))!;

    await framework.proc.kill();
    // While no scheduler runs, one task ends: its update waits at the agent for an ack.
    const workDir = cluster.agent("a1").workDir;
    const { tasks: processes } = await taskProcesses(workDir, doomed.taskId);
    t.true(processes.length > 0, "the task's processes were found");
    for (const p of processes) process.kill(p.pid, "SIGKILL");
    await eventually(() => processes.every((p) => !pidAlive(p.pid)), "the task's processes gone");
    await cluster.events.waitFor(
      isClusterEvent(
        "cluster.frameworkDisconnected",
        (e) => e.frameworkId === framework.frameworkId,
      ),
      { timeoutMs: FAULT_WAIT_MS, what: "the master disconnecting the killed framework" },
    );
    const stateDuring = await cluster.leaderState();
    const during = stateDuring.frameworks.find((f) => f.id === framework.frameworkId);
    t.truthy(during, "the master keeps the disconnected framework");
    t.false(during?.active ?? true, "the framework is disconnected");

    const successor = cluster.startFramework({
      frameworkId: framework.frameworkId,
      failoverTimeoutSeconds: 60,
      tasks: 4,
    });
    const report = await successor.waitFor(
      (r) =>
        r.lines.some(
          (l) =>
            l.kind === "update" &&
            l.pid === successor.proc.pid &&
            l.status.taskId === doomed.taskId &&
            l.status.state === TaskState.Failed &&
            l.status.uuid !== undefined,
        ) &&
        // the master resends unacknowledged updates as it accepts the subscription: the
        // update may be recorded before the driver's `subscribed` event
        r.subscriptions.some((s) => s.pid === successor.proc.pid) &&
        r,
      "the ended task's terminal update at the new scheduler process",
    );
    t.true(
      report.subscriptions.some((s) => s.pid === successor.proc.pid),
      "the new process subscribed",
    );
    for (const task of report.tasks.values()) {
      if (task.taskId === doomed.taskId) continue;
      t.false(
        task.updates.some((u) => u.state === TaskState.Killed || u.state === TaskState.Lost),
        `${task.taskId} survived the failover`,
      );
    }
    await checkAfterFault(t, cluster, {
      tasks: 4,
      ended: { [framework.frameworkId]: [doomed.taskId] },
    });

    // The new process controls the old tasks: it kills one of them.
    const victim = [...report.tasks.values()].find((task) => task.taskId !== doomed.taskId)!;
    successor.send({ cmd: "kill", taskId: victim.taskId });
    await successor.waitFor(
      (r) => r.tasks.get(victim.taskId)?.latest === TaskState.Killed,
      "the killed task's TASK_KILLED at the new process",
    );
    await checkAfterFault(t, cluster, {
      tasks: 4,
      ended: { [framework.frameworkId]: [doomed.taskId, victim.taskId] },
    });
  },
);

/**
 * Agent recovery (Mesos's `--recover`): adopting what a previous run of the
 * agent checkpointed. A checkpointed executor whose process is still alive
 * (same pid, same start time in `/proc`) is `recovering`: with `reconnect`
 * it is sent `executor.reconnect` and gets the executor reregistration
 * timeout to subscribe again, else it is killed; with `cleanup` it is killed
 * at once. An executor that is gone has whatever is left of its session
 * killed. The tasks of killed or gone executors end as under a live agent
 * (TASK_FAILED with REASON_EXECUTOR_TERMINATED, or TASK_KILLED when a kill
 * was asked), each reported once through its checkpointed update stream.
 *
 * Containers (cgroups) are found again by the id checkpointed with their
 * executor: a live executor gets its container back, a gone or killed one
 * has it emptied and destroyed, and a container that no checkpointed
 * executor owns (an orphan, e.g. of an executor spawned just before a crash)
 * is destroyed at once.
 */
import type { Clock } from "../../infra/clock.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { TaskReason, TaskState } from "../../protocol/common.ts";
import { isSameProcess, killSession, signalTree } from "../shared/process-tree.ts";
import type { AgentContainers, ExecutorContainer } from "./containers.ts";
import { type ExecutorRecord, newExecutorRecord, type TaskRecord } from "./executor-record.ts";
import type { ExecutorManager } from "./executors.ts";
import { containerIdFor } from "./isolation/index.ts";
import type { ProgramSource } from "./launcher.ts";
import type { RecoveredExecutor } from "./state-store.ts";

/** What {@link adoptCheckpoint} needs besides the manager. */
export interface AdoptOptions {
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  agentId: string;
  mode: "reconnect" | "cleanup";
  reregistrationTimeoutMs: number;
  /** The program recorded for recovered executors (never started again). */
  program: ProgramSource;
  /** The agent's containers (cgroups). @default none */
  containers?: AgentContainers;
}

/**
 * Adopts the recovered executors and their tasks into `manager`; resolves
 * when every live one has resubscribed or was killed.
 */
export async function adoptCheckpoint(
  manager: ExecutorManager,
  recovered: readonly RecoveredExecutor[],
  o: AdoptOptions,
): Promise<void> {
  const waits: Promise<void>[] = [];
  const owned = new Map<string, Omit<ExecutorContainer, "id" | "container">>();
  for (const { executor } of recovered) {
    const c = executor?.container;
    if (c !== undefined) {
      owned.set(c.id, {
        ...(c.root === undefined ? {} : { root: c.root }),
        resources: c.resources,
        overheadMem: c.overheadMem,
      });
    }
  }
  const containers = (await o.containers?.recover(owned)) ?? new Map<string, ExecutorContainer>();
  for (const entry of recovered) {
    const checkpoint = entry.executor;
    const framework = checkpoint?.framework ?? {
      frameworkId: entry.frameworkId,
      name: "",
      role: entry.tasks[0]?.role ?? "*",
    };
    const executor = newExecutorRecord({
      framework,
      executorId: entry.executorId,
      kind: checkpoint?.kind ?? "custom",
      program: o.program,
      extraEnv: {},
    });
    executor.pid = checkpoint?.pid;
    executor.startTime = checkpoint?.startTime;
    executor.session = checkpoint?.session;
    executor.sandbox = checkpoint?.sandbox;
    executor.token = checkpoint?.token;
    executor.phase = "recovering";
    const container =
      checkpoint?.container === undefined ? undefined : containers.get(checkpoint.container.id);
    if (container !== undefined) executor.container = container;
    const tasks: TaskRecord[] = entry.tasks.map((t) => ({
      task: t.task,
      frameworkId: t.frameworkId,
      executorId: t.executorId,
      role: t.role,
      status: t.status,
      launched: t.launched,
      killed: t.killed,
      acked: [...t.acked],
      acknowledged: t.acknowledged,
    }));
    manager.restore(executor, tasks);
    const log = o.logger.child({
      frameworkId: executor.frameworkId,
      executorId: executor.executorId,
      pid: executor.pid,
    });
    const alive = checkpoint !== undefined && isSameProcess(checkpoint.pid, checkpoint.startTime);
    if (!alive) {
      o.metrics.inc("executors_gone_on_recovery");
      log.info("checkpointed executor is gone");
      manager.terminate(executor, "terminated while the agent was down");
      continue;
    }
    if (o.mode === "cleanup") {
      o.metrics.inc("executors_cleaned_up");
      log.info("killing checkpointed executor (--recover cleanup)");
      executor.failure = {
        state: TaskState.Failed,
        reason: TaskReason.ExecutorTerminated,
        message: "Executor killed by the restarted agent (--recover cleanup)",
      };
      waits.push(manager.killRecovered(executor));
      continue;
    }
    manager.watchDisk(executor);
    if (executor.kind === "default" && executor.container !== undefined) {
      await reattachTaskContainers(executor, log);
    }
    manager.sendTo(executor, { type: "executor.reconnect", agentId: o.agentId });
    log.info("asked checkpointed executor to reconnect");
    waits.push(
      new Promise<void>((resolve) => {
        const timer = o.clock.after(o.reregistrationTimeoutMs, () => {
          if (executor.phase !== "recovering") return resolve();
          o.metrics.inc("executor_reregistration_timeouts");
          log.warn("executor did not resubscribe in time; killing it");
          executor.failure = {
            state: TaskState.Failed,
            reason: TaskReason.ExecutorTerminated,
            message: `Executor did not reregister within ${o.reregistrationTimeoutMs / 1000}s after the agent restarted`,
          };
          manager.killRecovered(executor).then(resolve, resolve);
        });
        executor.recovered = () => {
          timer.cancel();
          resolve();
        };
      }),
    );
  }
  manager.watchRecovered();
  await Promise.all(waits);
}

/**
 * Kills every live checkpointed executor and what is left of its session,
 * for a start without an agent id (its `meta/agent.json` is gone or
 * unreadable): nobody could report their tasks, so nothing may keep running
 * unmanaged. Returns how many executors were killed.
 */
export async function killCheckpointedExecutors(
  recovered: readonly RecoveredExecutor[],
  logger: Logger,
  metrics: Metrics,
): Promise<number> {
  let killed = 0;
  for (const { executor } of recovered) {
    if (executor === undefined) continue;
    if (isSameProcess(executor.pid, executor.startTime)) {
      signalTree(executor.pid, "SIGKILL");
      killed++;
    }
    killSession(executor.session);
  }
  if (killed > 0) {
    metrics.inc("executors_cleaned_up", killed);
    logger.warn({ executors: killed }, "killed executors checkpointed without an agent id");
  }
  return killed;
}

/**
 * A recovered default executor's nested task cgroups, found again by their
 * ids (`containerIdFor(frameworkId, taskId)`): those of its live tasks are
 * kept (removed when the task ends, read for its OOM), the others removed.
 */
async function reattachTaskContainers(executor: ExecutorRecord, log: Logger): Promise<void> {
  const byId = new Map(
    [...executor.taskIds].map((taskId) => [containerIdFor(executor.frameworkId, taskId), taskId]),
  );
  try {
    for (const child of (await executor.container?.container.children()) ?? []) {
      const taskId = byId.get(child.id);
      if (taskId !== undefined) executor.taskContainers.set(taskId, child);
      else await child.destroy();
    }
  } catch (err) {
    log.warn({ err }, "task cgroups of the recovered executor not found again");
  }
}

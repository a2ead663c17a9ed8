/**
 * The executors' resource statistics, read from their containers and sent
 * to the master as `agent.usage` every `--usage-interval` (Mesos's agent
 * serves them as `/monitor/statistics`; agora's master keeps the latest per
 * task for its state and `agora top`). Nothing is sent without isolation.
 */
import type { Clock, Timer } from "../../infra/clock.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { type ExecutorUsage, MAX_USAGE_EXECUTORS } from "../../protocol/agents.ts";
import type { Message } from "../../protocol/registry.ts";
import type { AgentContainers } from "./containers.ts";
import type { ExecutorManager } from "./executors.ts";

/** The statistics of every executor that has a container. */
async function collectUsage(
  executors: ExecutorManager,
  containers: AgentContainers,
  logger: Logger,
): Promise<ExecutorUsage[]> {
  const out: ExecutorUsage[] = [];
  for (const executor of executors.executors()) {
    const container = executor.container;
    if (container === undefined || executor.phase === "terminated") continue;
    try {
      const statistics = await containers.stats(container);
      const taskIds = [...executor.taskIds].filter((id) =>
        executors.isLive(executor.frameworkId, id),
      );
      const tasks: NonNullable<ExecutorUsage["tasks"]> = [];
      for (const [taskId, child] of executor.taskContainers) {
        if (!executors.isLive(executor.frameworkId, taskId)) continue;
        const own = await child.stats().catch(() => undefined);
        if (own !== undefined) tasks.push({ taskId, statistics: own });
      }
      out.push({
        frameworkId: executor.frameworkId,
        executorId: executor.executorId,
        taskIds,
        statistics,
        ...(tasks.length === 0 ? {} : { tasks }),
      });
    } catch (err) {
      logger.debug({ err, containerId: container.id }, "container statistics not read");
    }
  }
  return out;
}

/** Options of {@link startUsageReports}. */
export interface UsageReportOptions {
  clock: Clock;
  intervalMs: number;
  executors: ExecutorManager;
  containers: AgentContainers;
  logger: Logger;
  metrics: Metrics;
  send(msg: Message): void;
}

/** Sends `agent.usage` every interval (reads never overlap); cancel to stop. */
export function startUsageReports(o: UsageReportOptions): Timer {
  let running = false;
  return o.clock.every(o.intervalMs, () => {
    if (running || !o.containers.isolating()) return;
    running = true;
    collectUsage(o.executors, o.containers, o.logger)
      .then((usage) => {
        for (let at = 0; at < usage.length; at += MAX_USAGE_EXECUTORS) {
          o.send({ type: "agent.usage", executors: usage.slice(at, at + MAX_USAGE_EXECUTORS) });
          o.metrics.inc("usage_reports_sent");
        }
      })
      .catch((err: unknown) => o.logger.warn({ err }, "usage report failed"))
      .finally(() => {
        running = false;
      });
  });
}

/**
 * What the agent shows over HTTP: its `/state` (Mesos's agent `/state`: id,
 * hostname, resources, frameworks → executors → tasks, with each executor's
 * container statistics) and its Prometheus gauges (Mesos's `slave/*`
 * metrics), both computed when asked, never on the message path.
 */
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import type { ResourcesJson, TaskState } from "../../protocol/common.ts";
import { isTerminalState } from "../../protocol/common.ts";
import { Resources } from "../../protocol/resources.ts";
import type { AgentContainers } from "./containers.ts";
import type { ExecutorKind } from "./executor-record.ts";
import type { ExecutorManager } from "./executors.ts";
import type { ContainerStats } from "./isolation/types.ts";

/** What the agent's views read. */
export interface AgentView {
  agentId(): string | undefined;
  hostname: string;
  registered(): boolean;
  resources(): ResourcesJson | undefined;
  attributes: Record<string, string | number>;
  executors: ExecutorManager;
  containers: AgentContainers;
  /** Unacknowledged status updates of a task. */
  pendingUpdates(frameworkId: string, taskId: string): number;
  logger: Logger;
}

/** A task in the agent's `/state`. */
export interface AgentStateTask {
  id: string;
  name: string;
  state: TaskState;
  resources: ResourcesJson;
  /** Status updates not acknowledged by the framework yet. */
  pendingUpdates: number;
}

/** An executor in the agent's `/state`. */
export interface AgentStateExecutor {
  id: string;
  kind: ExecutorKind;
  phase: string;
  pid?: number;
  sandbox?: string;
  containerId?: string;
  /** Its container's resource statistics (with isolation only). */
  statistics?: ContainerStats;
  tasks: AgentStateTask[];
}

/** The agent's `/state` JSON. */
export interface AgentState {
  id: string | undefined;
  hostname: string;
  registered: boolean;
  resources: ResourcesJson;
  /** Scalars of its live tasks. */
  used: ResourcesJson;
  attributes: Record<string, string | number>;
  isolation?: { kind: string; reason: string };
  frameworks: Array<{ id: string; name: string; role: string; executors: AgentStateExecutor[] }>;
}

function scalarsOf(json: ResourcesJson, into: Map<string, number>): void {
  Resources.fromJSON(json).forEachScalar((name, milli) => {
    into.set(name, (into.get(name) ?? 0) + milli);
  });
}

function fromMilli(sums: Map<string, number>): ResourcesJson {
  const out: ResourcesJson = {};
  for (const [name, milli] of sums) out[name] = milli / 1000;
  return out;
}

/** Live tasks' scalars in thousandths. */
function usedMilli(view: AgentView): Map<string, number> {
  const used = new Map<string, number>();
  for (const executor of view.executors.executors()) {
    for (const taskId of executor.taskIds) {
      const record = view.executors.task(executor.frameworkId, taskId);
      if (record !== undefined && !isTerminalState(record.status.state)) {
        scalarsOf(record.task.resources, used);
      }
    }
  }
  return used;
}

async function statisticsOf(
  view: AgentView,
  executor: ReturnType<ExecutorManager["executors"]>[number],
): Promise<ContainerStats | undefined> {
  const container = executor.container;
  if (container === undefined || executor.phase === "terminated") return undefined;
  try {
    return await view.containers.stats(container);
  } catch (err) {
    view.logger.debug({ err, containerId: container.id }, "container statistics not read");
    return undefined;
  }
}

/** The agent's `/state`. */
export async function agentState(view: AgentView): Promise<AgentState> {
  const frameworks = new Map<string, AgentState["frameworks"][number]>();
  for (const executor of view.executors.executors()) {
    let framework = frameworks.get(executor.frameworkId);
    if (framework === undefined) {
      framework = {
        id: executor.frameworkId,
        name: executor.framework.name,
        role: executor.framework.role,
        executors: [],
      };
      frameworks.set(executor.frameworkId, framework);
    }
    const tasks: AgentStateTask[] = [];
    for (const taskId of executor.taskIds) {
      const record = view.executors.task(executor.frameworkId, taskId);
      if (record === undefined) continue;
      tasks.push({
        id: taskId,
        name: record.task.name,
        state: record.status.state,
        resources: record.task.resources,
        pendingUpdates: view.pendingUpdates(executor.frameworkId, taskId),
      });
    }
    const statistics = await statisticsOf(view, executor);
    framework.executors.push({
      id: executor.executorId,
      kind: executor.kind,
      phase: executor.phase,
      ...(executor.pid === undefined ? {} : { pid: executor.pid }),
      ...(executor.sandbox === undefined ? {} : { sandbox: executor.sandbox }),
      ...(executor.container === undefined ? {} : { containerId: executor.container.id }),
      ...(statistics === undefined ? {} : { statistics }),
      tasks,
    });
  }
  const kind = view.containers.kind;
  return {
    id: view.agentId(),
    hostname: view.hostname,
    registered: view.registered(),
    resources: view.resources() ?? {},
    used: fromMilli(usedMilli(view)),
    attributes: view.attributes,
    ...(kind === undefined ? {} : { isolation: { kind, reason: view.containers.reason ?? "" } }),
    frameworks: [...frameworks.values()],
  };
}

/** `TASK_RUNNING` → `running`. */
function stateLabel(state: string): string {
  return state.startsWith("TASK_") ? state.slice(5).toLowerCase() : state.toLowerCase();
}

/** Per-executor container gauges: name → what it reads. */
const CONTAINER_GAUGES: Array<[string, string, keyof ContainerStats]> = [
  ["container_cpu_user_seconds", "User CPU time of the executor's container", "cpusUserTimeSecs"],
  [
    "container_cpu_system_seconds",
    "System CPU time of the executor's container",
    "cpusSystemTimeSecs",
  ],
  [
    "container_cpu_throttled_seconds",
    "Time the executor's container was throttled",
    "cpusThrottledTimeSecs",
  ],
  ["container_memory_bytes", "Memory in use by the executor's container", "memTotalBytes"],
  ["container_memory_limit_bytes", "Memory limit of the executor's container", "memLimitBytes"],
  ["container_processes", "Processes and threads in the executor's container", "processes"],
];

/** Registers the agent's gauges on its registry (once). */
export function registerAgentGauges(metrics: Metrics, view: AgentView): void {
  const p = metrics.prefix;
  metrics.gauge(`${p}registered`, "1 while the agent is registered with a master", [], (g) =>
    g.set(view.registered() ? 1 : 0),
  );
  metrics.gauge(
    `${p}resources`,
    "Scalar resources of the agent: total, used by its live tasks",
    ["resource", "kind"],
    (g) => {
      const total = new Map<string, number>();
      scalarsOf(view.resources() ?? {}, total);
      const used = usedMilli(view);
      for (const [resource, milli] of total) {
        g.set({ resource, kind: "total" }, milli / 1000);
        g.set({ resource, kind: "used" }, (used.get(resource) ?? 0) / 1000);
      }
    },
  );
  metrics.gauge(`${p}executors`, "Executors of the agent, by phase", ["phase"], (g) => {
    const counts = new Map<string, number>();
    for (const e of view.executors.executors()) counts.set(e.phase, (counts.get(e.phase) ?? 0) + 1);
    for (const [phase, n] of counts) g.set({ phase }, n);
  });
  metrics.gauge(
    `${p}tasks`,
    "Tasks of the agent, by state (terminal ones until their update is acknowledged)",
    ["state"],
    (g) => {
      const counts = new Map<string, number>();
      for (const e of view.executors.executors()) {
        for (const taskId of e.taskIds) {
          const record = view.executors.task(e.frameworkId, taskId);
          if (record === undefined) continue;
          const state = stateLabel(record.status.state);
          counts.set(state, (counts.get(state) ?? 0) + 1);
        }
      }
      for (const [state, n] of counts) g.set({ state }, n);
    },
  );
  metrics.gauge(
    `${p}status_updates_pending`,
    "Status updates sent to the master and not acknowledged by their framework yet",
    [],
    (g) => {
      let n = 0;
      for (const e of view.executors.executors()) {
        for (const taskId of e.taskIds) n += view.pendingUpdates(e.frameworkId, taskId);
      }
      g.set(n);
    },
  );
  // one read of every container per scrape, shared by the container gauges
  let reading: Promise<Map<string, ContainerStats>> | undefined;
  const readAll = () => {
    reading ??= (async () => {
      const out = new Map<string, ContainerStats>();
      for (const e of view.executors.executors()) {
        const stats = await statisticsOf(view, e);
        if (stats !== undefined) out.set(`${e.frameworkId} ${e.executorId}`, stats);
      }
      return out;
    })().finally(() => {
      reading = undefined;
    });
    return reading;
  };
  for (const [name, help, field] of CONTAINER_GAUGES) {
    metrics.gauge(`${p}${name}`, help, ["framework_id", "executor_id"], async (g) => {
      for (const [key, stats] of await readAll()) {
        const value = stats[field];
        if (typeof value !== "number") continue;
        const [frameworkId = "", executorId = ""] = key.split(" ");
        g.set({ framework_id: frameworkId, executor_id: executorId }, value);
      }
    });
  }
}

/**
 * The agent's containers: one per executor, made by the isolator that the
 * agent's `--isolation` detected (isolation/index.ts), rooted at
 * `<--cgroups-root>/<agentId>`. This file is the agent's side of isolation:
 * the limits of an executor's container (its resources plus its tasks', and
 * for the command executor Mesos's allowance of 0.1 cpus and 32 MB), the
 * limitation that ends it (an OOM kill, or a sandbox over its `disk` with
 * `--enforce-container-disk-quota`), killing and destroying it when the
 * executor ends, finding the containers of a previous run again, and their
 * resource statistics.
 *
 * With `none` (asked for, or `auto` on a host without usable cgroups) no
 * container is made: executors run as before, ended through their session.
 */
import type { Clock, Timer } from "../../infra/clock.ts";
import {
  COMMAND_EXECUTOR_CPUS,
  COMMAND_EXECUTOR_MEM_MB,
  DEFAULT_CGROUPS_HIERARCHY,
} from "../../infra/defaults.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import type { ResourcesJson, TaskInfo } from "../../protocol/common.ts";
import type { ExecutorKind } from "./executor-kind.ts";
import {
  type Container,
  type ContainerStats,
  containerIdFor,
  createIsolator,
  detectIsolation,
  type IsolationKind,
  type IsolationMode,
  type Isolator,
  type Limitation,
  limitsFromResources,
  watchSandboxDisk,
} from "./isolation/index.ts";
import { formatBytes } from "./isolation/limits.ts";

/** The agent flags of isolation. */
export interface ContainerConfig {
  mode: IsolationMode;
  hierarchy?: string;
  /** `--cgroups-root`; the agent's containers live under `<root>/<agentId>`. */
  root: string;
  enableCfs: boolean;
  maxPids?: number;
  enforceDiskQuota: boolean;
  diskWatchIntervalMs: number;
}

/** What the agent keeps of an executor's container. */
export interface ExecutorContainer {
  readonly id: string;
  /** The agent's cgroup root the container lives under. */
  readonly root?: string;
  readonly container: Container;
  /** The container's resources: what its limits were written from. */
  resources: { cpus?: number; mem?: number; disk?: number };
  /** The part of `resources.mem` that is the executor's own allowance (MB). */
  overheadMem: number;
  /** Set when the agent found the container over a limit (disk): what its tasks end with. */
  limitation?: Limitation;
  diskWatch?: Timer;
}

const scalar = (r: ResourcesJson | undefined, name: string): number => {
  const v = r?.[name];
  return typeof v === "number" ? v : 0;
};

/**
 * The resources of an executor's container: the command executor's are its
 * task's plus Mesos's allowance for the executor (`DEFAULT_EXECUTOR_CPUS`,
 * `DEFAULT_EXECUTOR_MEM`); a custom executor's are its own (that allowance
 * where it declares none) plus its tasks' (grown at each launch).
 */
export function containerResources(
  task: TaskInfo,
  kind: ExecutorKind,
): { resources: ExecutorContainer["resources"]; overheadMem: number } {
  const own = kind === "command" ? undefined : task.executor?.resources;
  // A custom executor that declares no cpus or mem of its own gets the command executor's
  // allowance (Mesos warns about such executors and gives them its minimums).
  const ownCpus = scalar(own, "cpus");
  const ownMem = scalar(own, "mem");
  const overheadCpus = ownCpus > 0 ? ownCpus : COMMAND_EXECUTOR_CPUS;
  const overheadMem = ownMem > 0 ? ownMem : COMMAND_EXECUTOR_MEM_MB;
  const resources: ExecutorContainer["resources"] = {};
  const cpus = scalar(task.resources, "cpus");
  const mem = scalar(task.resources, "mem");
  const disk = scalar(task.resources, "disk") + scalar(own, "disk");
  // Unlimited when the task asks for none of it: the allowance alone is no limit.
  if (cpus > 0) resources.cpus = cpus + overheadCpus;
  if (mem > 0) resources.mem = mem + overheadMem;
  if (disk > 0) resources.disk = disk;
  return { resources, overheadMem: mem > 0 ? overheadMem : 0 };
}

/** Options of {@link AgentContainers}. */
export interface AgentContainersOptions {
  config: ContainerConfig;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}

/** The containers of one agent. */
export class AgentContainers {
  readonly #o: AgentContainersOptions;
  #isolator: Isolator | undefined;
  #agentId: string | undefined;
  #reason: string | undefined;

  constructor(options: AgentContainersOptions) {
    this.#o = options;
  }

  /** The isolation in use (undefined before {@link init}). */
  get kind(): IsolationKind | undefined {
    return this.#isolator?.kind;
  }

  /** The one line saying which isolation is used and why. */
  get reason(): string | undefined {
    return this.#reason;
  }

  /**
   * Detects the isolation for the agent's id and prepares its cgroup root;
   * says once which isolation is used. `--isolation=cgroups` where none is
   * usable throws INVALID_CONFIG; `auto` falls back to none.
   */
  async init(agentId: string): Promise<void> {
    if (this.#agentId === agentId && this.#isolator !== undefined) return;
    const { config, clock, logger } = this.#o;
    let isolator: Isolator;
    try {
      isolator = await createIsolator({
        mode: config.mode,
        hierarchy: config.hierarchy ?? DEFAULT_CGROUPS_HIERARCHY,
        root: `${config.root}/${agentId}`,
        clock,
      });
    } catch (err) {
      if (config.mode === "cgroups") throw err;
      const why = err instanceof Error ? err.message : String(err);
      isolator = await createIsolator({ mode: "none", root: `${config.root}/${agentId}`, clock });
      this.#reason = `isolation: none, tasks run unisolated (${why})`;
      this.#isolator = isolator;
      this.#agentId = agentId;
      logger.warn({ isolation: isolator.kind, reason: this.#reason }, "agent isolation");
      return;
    }
    this.#isolator = isolator;
    this.#agentId = agentId;
    this.#reason = isolator.reason;
    logger.info({ isolation: isolator.kind, reason: isolator.reason }, "agent isolation");
  }

  /**
   * With `--isolation=cgroups`, fails at start (INVALID_CONFIG with the
   * reason) where no cgroups are usable, before the agent registers.
   */
  async check(): Promise<void> {
    const { config } = this.#o;
    if (config.mode !== "cgroups") return;
    await detectIsolation({
      mode: "cgroups",
      hierarchy: config.hierarchy ?? DEFAULT_CGROUPS_HIERARCHY,
      root: config.root,
    });
  }

  /** Whether containers are made (cgroups in use). */
  isolating(): boolean {
    return this.#isolator !== undefined && this.#isolator.kind !== "none";
  }

  /** Makes (or updates) the container of an executor; undefined without isolation. */
  async prepare(
    frameworkId: string,
    executorId: string,
    resources: ExecutorContainer["resources"],
    overheadMem: number,
  ): Promise<ExecutorContainer | undefined> {
    const isolator = this.#isolator;
    if (isolator === undefined || isolator.kind === "none") return undefined;
    const id = containerIdFor(frameworkId, executorId);
    const limits = limitsFromResources(resources, {
      enableCfs: this.#o.config.enableCfs,
      ...(this.#o.config.maxPids === undefined ? {} : { maxPids: this.#o.config.maxPids }),
    });
    const container = await isolator.prepare(id, limits);
    this.#o.metrics.inc("containers_prepared");
    return {
      id,
      root: `${this.#o.config.root}/${this.#agentId}`,
      container,
      resources,
      overheadMem,
    };
  }

  /**
   * The containers a previous run left: those in `owned` (container id →
   * what the checkpoint says it holds) are returned, every other one is
   * destroyed (an orphan: no checkpointed executor owns it).
   */
  async recover(
    owned: ReadonlyMap<string, Omit<ExecutorContainer, "id" | "container">>,
  ): Promise<Map<string, ExecutorContainer>> {
    const out = new Map<string, ExecutorContainer>();
    const isolator = this.#isolator;
    if (isolator === undefined || isolator.kind === "none") return out;
    for (const container of await isolator.recover()) {
      const own = owned.get(container.id);
      if (own !== undefined) {
        out.set(container.id, { id: container.id, container, ...own });
        continue;
      }
      this.#o.metrics.inc("containers_orphans_destroyed");
      this.#o.logger.info({ containerId: container.id }, "destroying orphan container");
      await container
        .destroy()
        .catch((err: unknown) =>
          this.#o.logger.warn({ err, containerId: container.id }, "orphan container not destroyed"),
        );
    }
    return out;
  }

  /**
   * Why the container's tasks end, if a limit did it: the agent's own
   * finding (disk), else the kernel's OOM kill, with a message naming the
   * task's memory and the executor's allowance.
   */
  async limitation(c: ExecutorContainer): Promise<Limitation | undefined> {
    if (c.limitation !== undefined) return c.limitation;
    const oom = await c.container.oom();
    if (!oom.killed || oom.limitation === undefined) return undefined;
    const mem = c.resources.mem;
    if (mem === undefined) return oom.limitation;
    const taskMem = mem - c.overheadMem;
    const limit = oom.limitBytes === undefined ? `${mem} MB` : formatBytes(oom.limitBytes);
    const parts =
      c.overheadMem > 0
        ? ` (the task's mem ${taskMem} MB + ${c.overheadMem} MB for its executor)`
        : "";
    return {
      ...oom.limitation,
      message: `Memory limit of ${taskMem} MB exceeded: the container was OOM-killed at its limit of ${limit}${parts}`,
    };
  }

  /** Watches the sandbox's disk use against the container's `disk`, when it has one. */
  watchDisk(c: ExecutorContainer, sandbox: string, onLimitation: (l: Limitation) => void): void {
    const disk = c.resources.disk;
    if (disk === undefined || c.diskWatch !== undefined) return;
    const { config, clock, logger, metrics } = this.#o;
    c.diskWatch = watchSandboxDisk({
      clock,
      sandbox,
      diskMB: disk,
      intervalMs: config.diskWatchIntervalMs,
      onLimitation: (limitation) => {
        metrics.inc("container_disk_limitations");
        if (!config.enforceDiskQuota) {
          logger.warn(
            { containerId: c.id, message: limitation.message },
            "container over its disk",
          );
          return;
        }
        c.limitation = limitation;
        onLimitation(limitation);
      },
      onError: (err) => logger.warn({ err, containerId: c.id }, "disk usage check failed"),
    });
  }

  /**
   * The nested cgroup of one task of a default executor, under the
   * executor's container, with the task's own limits (cpus, mem; pids.max
   * as the agent's). It is removed with {@link removeTaskContainer} when the task ends.
   */
  async taskContainer(
    c: ExecutorContainer,
    frameworkId: string,
    taskId: string,
    resources: { cpus?: number; mem?: number },
  ): Promise<Container> {
    const limits = limitsFromResources(resources, {
      enableCfs: this.#o.config.enableCfs,
      ...(this.#o.config.maxPids === undefined ? {} : { maxPids: this.#o.config.maxPids }),
    });
    const child = await c.container.child(containerIdFor(frameworkId, taskId), limits);
    this.#o.metrics.inc("task_containers_prepared");
    return child;
  }

  /** Kills what is left in a task's nested cgroup and removes it. */
  async removeTaskContainer(child: Container): Promise<void> {
    await child.destroy();
    this.#o.metrics.inc("task_containers_destroyed");
  }

  /** Kills every process left in the container (setsid escapes included). */
  async kill(c: ExecutorContainer): Promise<void> {
    await c.container.killAll();
  }

  /** Kills what is left and removes the container's cgroups. */
  async destroy(c: ExecutorContainer): Promise<void> {
    c.diskWatch?.cancel();
    c.diskWatch = undefined;
    await c.container.destroy();
    this.#o.metrics.inc("containers_destroyed");
  }

  /** The container's resource statistics. */
  stats(c: ExecutorContainer): Promise<ContainerStats> {
    return c.container.stats();
  }

  /**
   * The cgroup roots of an agent id that is lost (its `meta/agent.json` is
   * gone): nothing can own their containers any more, so each is destroyed
   * with everything in it.
   */
  async removeLostRoots(roots: Iterable<string>): Promise<void> {
    const { config, clock, logger, metrics } = this.#o;
    if (config.mode === "none") return;
    for (const root of new Set(roots)) {
      try {
        const isolator = await createIsolator({
          mode: config.mode,
          hierarchy: config.hierarchy ?? DEFAULT_CGROUPS_HIERARCHY,
          root,
          clock,
        });
        await isolator.removeRoot();
        metrics.inc("containers_lost_roots_removed");
        logger.warn({ root }, "removed the cgroups of a lost agent id");
      } catch (err) {
        logger.warn({ err, root }, "cgroups of a lost agent id not removed");
      }
    }
  }

  /** Destroys every container and the agent's cgroup root. */
  async removeRoot(): Promise<void> {
    await this.#isolator?.removeRoot();
  }
}

/**
 * The fetch step of an executor's launch (Mesos's fetcher, docs/fetcher.md):
 * after the executor's sandbox is created and before its process is spawned,
 * the URIs of its command are fetched into the sandbox by the agent's one
 * {@link Fetcher}. For the command executor these are its task's
 * `command.uris`; for a custom executor its `ExecutorInfo.command.uris`,
 * once per executor. Extraction is bounded by the disk of the container (the
 * task's, plus a custom executor's own).
 *
 * A FETCH_FAILED error becomes the executor's failure: its tasks end
 * TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED, with the error's message as
 * is. An executor shut down during its fetch (its only task was killed: the
 * kill reports TASK_KILLED, REASON_TASK_KILLED_DURING_LAUNCH) has the fetch
 * aborted, and the launch then sees the executor's phase and ends it.
 *
 * The fetcher (and its cache directory, emptied when it opens) is opened at
 * the first fetch for the agent's current id, so an agent whose tasks fetch
 * nothing never creates a cache directory.
 */
import { mkdir } from "node:fs/promises";
import type { Clock } from "../../infra/clock.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { type ResourcesJson, type TaskInfo, TaskReason, TaskState } from "../../protocol/common.ts";
import { Resources } from "../../protocol/resources.ts";
import type { CommandUri } from "../../protocol/uris.ts";
import type { ExecutorKind, ExecutorRecord } from "./executor-record.ts";
import {
  Fetcher,
  type FetcherFlags,
  fetchFailed,
  isFetchFailed,
  resolveFetcherSettings,
} from "./fetcher/index.ts";

/** Dependencies of a {@link FetchStep}. */
export interface FetchStepOptions {
  /** The agent's `--fetcher-cache-dir|size`, `--fetcher-stall-timeout`. */
  flags: FetcherFlags;
  clock: Clock;
  logger: Logger;
  /** The agent's metrics: the fetcher counts `containerizer/fetcher/task_fetches_succeeded|failed` there. */
  metrics: Metrics;
  /** Links the persistent volumes of a task's resources into a sandbox (volumes.ts). */
  linkVolumes?: (resources: ResourcesJson, sandbox: string) => Promise<void>;
}

/** What the launch of an executor fetches. */
export interface FetchPlan {
  uris: readonly CommandUri[];
  /** Bytes the extraction may write (the container's disk); undefined: the fetcher's own bound. */
  maxBytes: number | undefined;
}

const MB = 1024 * 1024;

/** The URIs the launch of an executor of `kind` fetches for its first task `task`. */
export function fetchPlan(kind: ExecutorKind, task: TaskInfo | undefined): FetchPlan {
  // A default executor's tasks fetch into their own sandboxes, per group (executors.ts).
  if (kind === "default") return { uris: [], maxBytes: undefined };
  const command = kind === "command" ? task?.command : task?.executor?.command;
  const uris = command?.uris ?? [];
  if (uris.length === 0 || task === undefined) return { uris, maxBytes: undefined };
  let disk = Resources.fromJSON(task.resources).scalar("disk");
  if (kind === "custom" && task.executor?.resources !== undefined) {
    disk += Resources.fromJSON(task.executor.resources).scalar("disk");
  }
  return { uris, maxBytes: disk > 0 ? Math.floor(disk * MB) : undefined };
}

/** Whether a task's resources hold a persistent volume (a key with `[id:path]`). */
function hasVolumes(task: TaskInfo): boolean {
  for (const key in task.resources) if (key.endsWith("]")) return true;
  return false;
}

/** The agent's fetch step: one fetcher, the fetches under way. */
export class FetchStep {
  readonly #o: FetchStepOptions;
  #opened: { agentId: string; fetcher: Promise<Fetcher> } | undefined;
  readonly #running = new Map<ExecutorRecord, AbortController>();

  constructor(options: FetchStepOptions) {
    this.#o = options;
  }

  /**
   * Fetches the URIs of `executor` (started for `task`) into `sandbox`.
   * Resolves when they are there, or at once when there are none, or when
   * the executor was shut down meanwhile (the caller checks its phase).
   * @throws AgoraError FETCH_FAILED, after setting the executor's failure
   */
  async fetchForExecutor(
    executor: ExecutorRecord,
    task: TaskInfo | undefined,
    sandbox: string,
    agentId: string,
  ): Promise<void> {
    if (task !== undefined && executor.kind !== "default") {
      await this.#linkVolumes(executor, task, sandbox);
    }
    const plan = fetchPlan(executor.kind, task);
    if (plan.uris.length === 0) return;
    const { frameworkId, executorId } = executor;
    const log = this.#o.logger.child({ frameworkId, executorId, taskId: task?.taskId });
    const controller = new AbortController();
    this.#running.set(executor, controller);
    try {
      const fetcher = await this.#fetcher(agentId);
      const fetched = await fetcher.fetch(plan.uris, sandbox, {
        signal: controller.signal,
        ...(plan.maxBytes === undefined ? {} : { limits: { maxBytes: plan.maxBytes } }),
      });
      log.info({ uris: fetched.length, sandbox }, "uris fetched");
    } catch (err) {
      // Aborted because the executor is shutting down: its launch ends it.
      if (executor.phase !== "launching") return;
      const error = isFetchFailed(err)
        ? err
        : fetchFailed(`fetch: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      log.warn({ message: error.message }, "fetch failed");
      executor.failure ??= {
        state: TaskState.Failed,
        reason: TaskReason.ContainerLaunchFailed,
        message: error.message,
      };
      throw error;
    } finally {
      this.#running.delete(executor);
    }
  }

  /**
   * Fetches the URIs of a task of a default executor into its own sandbox
   * `dir` (made here), before its group is sent to the executor.
   * @throws AgoraError FETCH_FAILED naming the URI and why
   */
  async fetchForTask(task: TaskInfo, dir: string, agentId: string): Promise<void> {
    if (this.#o.linkVolumes !== undefined && hasVolumes(task)) {
      await mkdir(dir, { recursive: true });
      try {
        await this.#o.linkVolumes(task.resources, dir);
      } catch (err) {
        throw fetchFailed(`volumes: ${(err as Error).message}`, { cause: err });
      }
    }
    const plan = fetchPlan("command", task);
    if (plan.uris.length === 0) return;
    await mkdir(dir, { recursive: true });
    try {
      const fetcher = await this.#fetcher(agentId);
      const fetched = await fetcher.fetch(plan.uris, dir, {
        ...(plan.maxBytes === undefined ? {} : { limits: { maxBytes: plan.maxBytes } }),
      });
      this.#o.logger.info({ taskId: task.taskId, uris: fetched.length }, "uris fetched");
    } catch (err) {
      throw isFetchFailed(err)
        ? err
        : fetchFailed(`fetch: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** Links the task's persistent volumes into the executor's sandbox; a failure fails the launch. */
  async #linkVolumes(executor: ExecutorRecord, task: TaskInfo, sandbox: string): Promise<void> {
    if (this.#o.linkVolumes === undefined || !hasVolumes(task)) return;
    try {
      await this.#o.linkVolumes(task.resources, sandbox);
    } catch (err) {
      const message = `volumes: ${(err as Error).message}`;
      this.#o.logger.warn({ taskId: task.taskId, message }, "volumes not linked");
      executor.failure ??= {
        state: TaskState.Failed,
        reason: TaskReason.ContainerLaunchFailed,
        message,
      };
      throw fetchFailed(message, { cause: err });
    }
  }

  /** Aborts the fetch of `executor`; false when none is under way. */
  abort(executor: ExecutorRecord): boolean {
    const controller = this.#running.get(executor);
    if (controller === undefined) return false;
    controller.abort();
    return true;
  }

  /** The agent stops: every fetch under way is aborted and its launch fails. */
  stop(): void {
    for (const [executor, controller] of this.#running) {
      executor.failure ??= {
        state: TaskState.Failed,
        reason: TaskReason.ContainerLaunchFailed,
        message: "the agent stopped while the URIs were being fetched",
      };
      controller.abort();
    }
  }

  /** The fetcher of the agent `agentId`, opened on first use (and again for a new id). */
  #fetcher(agentId: string): Promise<Fetcher> {
    if (this.#opened?.agentId !== agentId) {
      const { flags, clock, logger, metrics } = this.#o;
      const fetcher = (async () => {
        try {
          return await Fetcher.create({
            settings: resolveFetcherSettings(flags, agentId),
            clock,
            logger,
            metrics,
          });
        } catch (err) {
          throw isFetchFailed(err)
            ? err
            : fetchFailed(
                `open the fetcher cache: ${err instanceof Error ? err.message : String(err)}`,
                { cause: err },
              );
        }
      })();
      const opened = { agentId, fetcher };
      this.#opened = opened;
      // A cache that could not be opened is tried again at the next fetch.
      fetcher.catch(() => {
        if (this.#opened === opened) this.#opened = undefined;
      });
    }
    return this.#opened!.fetcher;
  }
}

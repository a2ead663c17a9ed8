/**
 * The agent actor: one per node. It registers the node's resources with the
 * master and keeps heartbeating, runs the master's tasks through executors,
 * and delivers the tasks' status updates reliably (Mesos's agent).
 *
 * It checkpoints what it runs under its work directory (state-store.ts). A
 * restarted agent with a checkpointed id recovers before it reregisters
 * (Mesos `--recover=reconnect`): it reads the checkpoint, asks every live
 * executor to reconnect and waits up to `--executor-reregistration-timeout`
 * for them, kills the rest, then reregisters with the master with the tasks
 * and resends the unacknowledged updates. `--recover cleanup` kills every
 * checkpointed executor instead.
 *
 * Each executor runs in a container of its own (containers.ts): cgroups
 * where the host has them (`--isolation`, said once in the log when the
 * agent knows its id, since its cgroups live under `<cgroups-root>/<id>`),
 * whose statistics go to the master as `agent.usage` (usage.ts).
 */
import path from "node:path";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { startActorHttp, watchConnection } from "../../infra/actor-http.ts";
import { Batcher } from "../../infra/batch.ts";
import { type Clock, systemClock } from "../../infra/clock.ts";
import type { NatsCredentials } from "../../infra/credentials.ts";
import {
  DEFAULT_REGISTRATION_BACKOFF_MAX_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from "../../infra/defaults.ts";
import { serve } from "../../infra/dispatch.ts";
import type { HttpServer } from "../../infra/http.ts";
import type { Logger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import { isTerminalState, type ResourcesJson, TaskSource } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { Message } from "../../protocol/registry.ts";
import { Resources } from "../../protocol/resources.ts";
import { ACCEPTED_TYPES } from "../../protocol/subject-routes.ts";
import { assertValidId, DEFAULT_PRINCIPAL, type Subjects } from "../../protocol/subjects.ts";
import { type AgentCheckpointStore, fileCheckpointStore } from "./checkpoint.ts";
import {
  type AgentConfig,
  isolationMode,
  parseAttributes,
  reconfigurationPolicy,
  recoverMode,
} from "./config.ts";
import { AgentContainers } from "./containers.ts";
import { commandExecutorLauncher } from "./executor-bundle.ts";
import { ExecutorManager } from "./executors.ts";
import { FetchStep } from "./fetch-step.ts";
import { filesReadHandler } from "./files.ts";
import {
  type AgentHandlerContext,
  executorMessageHandler,
  masterCommandHandler,
} from "./handlers.ts";
import type { ProgramSource } from "./launcher.ts";
import { type AgentView, agentState, registerAgentGauges } from "./observe.ts";
import { reconfigurationError } from "./reconfiguration.ts";
import { adoptCheckpoint, killCheckpointedExecutors } from "./recovery.ts";
import { type AgentInfo, Registrar } from "./registration.ts";
import { agentResources, detectMachineTotals, type MachineTotals } from "./resources.ts";
import { AgentStateStore } from "./state-store.ts";
import { StatusUpdateManager, type StatusUpdateStore } from "./status-updates.ts";
import { startUsageReports } from "./usage.ts";
import { CheckpointedResources } from "./volumes.ts";

export type { AgentConfig } from "./config.ts";
export { AGENT_OPTIONS, resolveAgentConfig } from "./config.ts";

/** Dependencies of {@link createAgent}. */
export interface AgentDeps {
  nc: NatsConnection;
  logger: Logger;
  subjects: Subjects;
  config: AgentConfig;
  /** @default systemClock */
  clock?: Clock;
  /** The NATS URL given to executors. @default config.nats */
  natsUrl?: string;
  /** @default a file store in the work directory */
  checkpointStore?: AgentCheckpointStore;
  /** @default the task checkpoints in the work directory */
  statusUpdateStore?: StatusUpdateStore;
  /**
   * How to start the built-in command executor.
   * @default this Node running command-executor.ts, bundled from sources ({@link commandExecutorLauncher})
   */
  commandExecutor?: ProgramSource;
  /** The machine's totals instead of detecting them (tests, emulation). */
  machineTotals?: MachineTotals;
  /** Deadline of one request to the master in ms. @default 5 s */
  requestTimeoutMs?: number;
  /** Called after the agent shut down on the master's `agent.shutdown` (e.g. to exit). */
  onShutdown?(reason: string | undefined): void;
  /**
   * The agent principal its connection authenticated as, the principal token of
   * `master.register.<principal>` and `master.agent.<principal>.<agentId>`.
   * @default config.principal (`--principal` / `AGORA_PRINCIPAL`), else `default`
   */
  principal?: string;
}

/** A running agent. */
export interface Agent {
  /** Detects resources and starts registering; resolves before the master answers. */
  start(): Promise<void>;
  /** Stops the actor; executors keep running (they outlive their agent). */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** The agent's id, once registered (or checkpointed). */
  agentId(): string | undefined;
  /** Whether the agent is registered with a master right now. */
  registered(): boolean;
  /** The total resources reported to the master, once started. */
  resources(): ResourcesJson | undefined;
  /** Shuts every executor down (killing its tasks), forgets the agent id and stops. */
  shutdown(reason?: string): Promise<void>;
  /** The isolation in use and why (once the agent knows its id). */
  isolation(): { kind: string; reason: string } | undefined;
  metrics: Metrics;
  /** The URL of its HTTP endpoints (`/metrics`, `/health`, `/state`) once started with `httpPort`. */
  readonly httpUrl: string | undefined;
}

/**
 * The agent principal of a configured name: `default` when none.
 * @throws AgoraError INVALID_ID for a name that cannot be a subject token
 */
function agentPrincipal(name: string | undefined): string {
  return name === undefined || name === "" ? DEFAULT_PRINCIPAL : assertValidId(name, "principal");
}

/** Creates the agent actor. */
export function createAgent(deps: AgentDeps): Agent {
  const { nc, subjects, config } = deps;
  const clock = deps.clock ?? systemClock;
  const principal = agentPrincipal(deps.principal ?? config.principal);
  const metrics = new Metrics({ prefix: "agora_agent_" });
  const logger = deps.logger.child({ actor: "agent", hostname: config.hostname });
  // Sandboxes are the executors' cwd: every path handed to them must be absolute.
  const workDir = path.resolve(config.workDir);
  const store =
    deps.checkpointStore ??
    fileCheckpointStore(workDir, (file, reason) => {
      metrics.inc("checkpoint_files_corrupt");
      logger.warn({ file, reason }, "corrupt checkpoint file skipped");
    });
  const state = new AgentStateStore(workDir, logger, metrics);
  const requestTimeoutMs = deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const level = config.logLevel ?? deps.logger.level;
  let subscriptions: Subscription[] = [];
  let subscribedId: string | undefined;
  let currentId: string | undefined;
  let total: ResourcesJson | undefined;
  let registrar: Registrar | undefined;
  let stopping: Promise<void> | undefined;
  let shuttingDown: Promise<void> | undefined;
  let http: HttpServer | undefined;
  let connection: ReturnType<typeof watchConnection> | undefined;

  const agentId = (): string => {
    if (currentId === undefined) throw new Error("the agent has no id yet");
    return currentId;
  };

  // status updates and messages to the master leave batched (infra/batch.ts)
  const batcher = new Batcher(nc, { logger, metrics });
  const toMaster = (msg: Message): void => {
    if (currentId === undefined || nc.isClosed()) return;
    let subject: string;
    try {
      subject = subjects.masterAgent(currentId, principal);
    } catch (err) {
      logger.warn({ err, type: msg.type }, "message to master not sent");
      return;
    }
    batcher.publish(subject, msg);
  };

  const statusUpdates = new StatusUpdateManager({
    clock,
    retryMinMs: config.statusUpdateRetryMin,
    retryMaxMs: config.statusUpdateRetryMax,
    forward: (frameworkId, status) => {
      metrics.inc("status_updates_sent");
      toMaster({ type: "agent.update", frameworkId, status });
    },
    onClosed: (frameworkId, taskId) => executors.forgetTask(frameworkId, taskId),
    store: deps.statusUpdateStore ?? {
      // The task's checkpoint holds its pending updates: a changed stream rewrites it.
      // an executor's non-terminal update is written lazily: the executor keeps it until it is
      // acknowledged and sends it again to a restarted agent (executor.subscribe)
      appended: (frameworkId, status) =>
        status.source === TaskSource.Executor && !isTerminalState(status.state)
          ? executors.checkpointTaskSoon(frameworkId, status.taskId)
          : executors.checkpointTask(frameworkId, status.taskId),
      acknowledged: () => {},
      closed: () => {},
    },
    logger,
    metrics,
  });

  const containers = new AgentContainers({
    config: {
      mode: isolationMode(config),
      hierarchy: config.cgroupsHierarchy,
      root: config.cgroupsRoot,
      enableCfs: config.cgroupsEnableCfs,
      ...(config.cgroupsMaxPids === undefined ? {} : { maxPids: config.cgroupsMaxPids }),
      enforceDiskQuota: config.enforceContainerDiskQuota,
      diskWatchIntervalMs: config.containerDiskWatchInterval,
    },
    clock,
    logger,
    metrics,
  });
  let usageTimer: { cancel(): void } | undefined;

  const commandExecutor = deps.commandExecutor ?? commandExecutorLauncher({ workDir, logger });
  const volumes = new CheckpointedResources(workDir, logger);
  /** The agent's own resources (`--resources` and what is detected), before its checkpointed ones. */
  let statics = Resources.empty();
  let info: AgentInfo | undefined;
  /** Takes checkpointed resources from the master: written, volumes synced, the total updated. */
  const checkpointResources = async (json: ResourcesJson): Promise<void> => {
    const next = await volumes.update(json, statics);
    total = next.toJSON();
    if (info !== undefined) info.resources = total;
    metrics.inc("checkpointed_resources_updates");
    logger.info({ checkpointed: volumes.current.toString() }, "checkpointed resources updated");
  };
  const fetchStep = new FetchStep({
    flags: config,
    clock,
    logger,
    metrics,
    linkVolumes: (resources, sandbox) => volumes.link(resources, sandbox),
  });
  const executors = new ExecutorManager({
    nc,
    subjects,
    clock,
    logger,
    metrics,
    agentId,
    workDir,
    natsUrl: deps.natsUrl ?? config.nats,
    executorCredentials: executorCredentials(config),
    agentPrincipal: principal,
    logLevel: level === "silent" ? "warn" : level,
    shutdownGracePeriodMs: config.executorShutdownGracePeriod,
    registrationTimeoutMs: config.executorRegistrationTimeout,
    defaultExecutorIdleTimeoutMs: config.defaultExecutorIdleTimeout,
    recoveryTimeoutMs: config.recoveryTimeout,
    commandExecutor,
    sendStatus: (frameworkId, status) => statusUpdates.update(frameworkId, status),
    pendingUpdates: (frameworkId, taskId) => statusUpdates.pending(frameworkId, taskId),
    state,
    fetchStep,
    containers,
    switchUser: config.switchUser,
  });

  /** Isolation for the agent's id (its cgroup root), and the usage reports. */
  const isolate = async (id: string): Promise<void> => {
    await containers.init(id);
    usageTimer ??= startUsageReports({
      clock,
      intervalMs: config.usageInterval,
      executors,
      containers,
      logger,
      metrics,
      send: toMaster,
    });
  };

  /**
   * Reads the checkpoint of a previous run and adopts it: streams first (so
   * that the updates generated for dead executors queue behind what was
   * pending), then the executors; resolves once the live ones resubscribed
   * or were killed.
   */
  const recover = async (): Promise<void> => {
    const recovered = await state.load();
    const mode = recoverMode(config);
    let tasks = 0;
    for (const entry of recovered.executors) {
      for (const t of entry.tasks) {
        tasks++;
        statusUpdates.recover(t.frameworkId, t.task.taskId, t.pending, t.acked);
      }
    }
    logger.info(
      { executors: recovered.executors.length, tasks, mode },
      "recovering checkpointed executors",
    );
    await adoptCheckpoint(executors, recovered.executors, {
      clock,
      logger,
      metrics,
      agentId: agentId(),
      mode,
      reregistrationTimeoutMs: config.executorReregistrationTimeout,
      program: commandExecutor,
      containers,
    });
    for (const entry of recovered.executors) {
      for (const t of entry.tasks) {
        // A terminal task whose last update was acknowledged is done with.
        if (!statusUpdates.has(t.frameworkId, t.task.taskId)) {
          executors.forgetTask(t.frameworkId, t.task.taskId);
        }
      }
    }
    metrics.inc("recoveries");
    logger.info({ tasks: executors.runningTasks().length }, "recovery done");
  };

  const shutdownFramework = async (frameworkId: string): Promise<void> => {
    await executors.shutdownFramework(frameworkId);
    statusUpdates.cleanup(frameworkId);
  };

  const handlerContext: AgentHandlerContext = {
    subjects,
    logger,
    metrics,
    executors,
    statusUpdates,
    agentId,
    principal,
    toMaster,
    reregister: () => registrar?.reregister(),
    checkpointResources: (json) => {
      checkpointResources(json).catch((err: unknown) => {
        metrics.inc("checkpointed_resources_refused");
        logger.error({ reason: (err as Error).message }, "checkpointed resources not taken");
      });
    },
    shutdown: (reason) => void agent.shutdown(reason),
    shutdownFramework: (frameworkId) => {
      shutdownFramework(frameworkId).catch((err) =>
        logger.error({ err, frameworkId }, "framework shutdown failed"),
      );
    },
  };

  const readFiles = filesReadHandler({ executors, workDir, agentId });
  // a framework principal reads only its own frameworks' tasks (the requester is the subject's last token)
  const readFilesOf = filesReadHandler({ executors, workDir, agentId, requester: true });

  const unsubscribe = async (): Promise<void> => {
    const subs = subscriptions;
    subscriptions = [];
    subscribedId = undefined;
    for (const sub of subs) {
      try {
        sub.unsubscribe();
      } catch {
        // the connection is closed already
      }
    }
  };

  const subscribe = async (id: string): Promise<void> => {
    if (subscribedId === id && subscriptions.length > 0) return;
    await unsubscribe();
    subscribedId = id;
    const options = { logger, metrics, beforeReply: () => batcher.flush() };
    subscriptions = [
      serve(
        nc,
        subjects.agent(id, principal),
        { ...options, types: ACCEPTED_TYPES.agent },
        masterCommandHandler(handlerContext),
      ),
      serve(
        nc,
        subjects.agentExecutorAll(id, principal),
        { ...options, types: ACCEPTED_TYPES.agentExecutor },
        executorMessageHandler(handlerContext),
      ),
      serve(
        nc,
        subjects.agentFiles(id, principal),
        { ...options, types: ACCEPTED_TYPES.agentFiles },
        readFiles,
      ),
      serve(
        nc,
        subjects.agentFilesOfAll(id, principal),
        { ...options, types: ACCEPTED_TYPES.agentFilesOf },
        readFilesOf,
      ),
    ];
    await nc.flush();
  };

  /** Serves `/metrics`, `/health` and `/state` on `--http-port`. */
  const startHttp = async (port: number, attributes: Record<string, string | number>) => {
    const view: AgentView = {
      agentId: () => currentId,
      hostname: config.hostname,
      registered: () => registrar?.state === "registered",
      resources: () => total,
      attributes,
      executors,
      containers,
      pendingUpdates: (frameworkId, taskId) => statusUpdates.pending(frameworkId, taskId).length,
      logger,
    };
    registerAgentGauges(metrics, view);
    connection = watchConnection(nc);
    const watch = connection;
    try {
      http = await startActorHttp({
        port,
        host: config.httpHost,
        metrics,
        logger,
        health: () => ({
          ok: watch.connected() && stopping === undefined,
          body: {
            agentId: currentId ?? null,
            registered: view.registered(),
            connected: watch.connected(),
          },
        }),
        state: () => agentState(view),
      });
    } catch (err) {
      watch.stop();
      connection = undefined;
      throw new AgoraError(
        ErrorCode.InvalidConfig,
        `--http-port ${port}: cannot listen on ${config.httpHost} (${(err as Error).message})`,
        { cause: err },
      );
    }
  };

  const agent: Agent = {
    metrics,
    get httpUrl() {
      return http?.url;
    },
    agentId: () => currentId,
    registered: () => registrar?.state === "registered",
    resources: () => total,
    isolation: () =>
      containers.kind === undefined
        ? undefined
        : { kind: containers.kind, reason: containers.reason ?? "" },

    async start() {
      if (registrar !== undefined) return;
      const totals = deps.machineTotals ?? (await detectMachineTotals(workDir));
      statics = agentResources(config.resources, totals);
      await volumes.load();
      total = volumes.totalFor(statics).toJSON();
      await volumes.syncVolumes();
      const attributes = parseAttributes(config.attributes);
      logger.info({ resources: total, attributes, workDir }, "agent starting");
      await containers.check();
      const checkpoint = await store.loadAgent();
      if (checkpoint?.resources !== undefined) {
        // the agent's own resources are compared: reservations and volumes come and go
        const was = Resources.fromJSON(checkpoint.resources);
        const refused = reconfigurationError(
          reconfigurationPolicy(config),
          {
            resources: was.withoutCheckpointed().add(was.checkpointed().base()).toJSON(),
            attributes: checkpoint.attributes ?? {},
          },
          { resources: statics.toJSON(), attributes },
        );
        if (refused !== undefined) throw new AgoraError(ErrorCode.InvalidConfig, refused);
      }
      if (config.httpPort !== undefined) await startHttp(config.httpPort, attributes);
      info = { hostname: config.hostname, resources: total, attributes };
      registrar = new Registrar({
        nc,
        subjects,
        principal,
        clock,
        logger,
        metrics,
        store,
        info,
        backoffMs: config.registrationBackoff,
        backoffMaxMs: Math.max(config.registrationBackoff, DEFAULT_REGISTRATION_BACKOFF_MAX_MS),
        requestTimeoutMs,
        runningTasks: () => executors.runningTasks(),
        recover: async (id) => {
          if (id === undefined) {
            // Without an id nothing can be recovered: what a forgotten id left must go.
            const lost = (await state.load()).executors;
            await killCheckpointedExecutors(lost, logger, metrics);
            await containers.removeLostRoots(
              lost.flatMap((e) => (e.executor?.container?.root ? [e.executor.container.root] : [])),
            );
            await state.clear();
            return;
          }
          // Executors know the agent by its checkpointed id: listen there before they are asked back.
          currentId = id;
          logger.setBindings?.({ agentId: id });
          executors.recovering = true;
          try {
            await isolate(id);
            await subscribe(id);
            await recover();
          } finally {
            executors.recovering = false;
          }
        },
        onRegistered: async (id, changed, checkpointed) => {
          currentId = id;
          logger.setBindings?.({ agentId: id });
          if (checkpointed !== undefined) {
            // the master's registry is the source of truth for reservations and volumes
            await checkpointResources(checkpointed).catch((err: unknown) => {
              metrics.inc("checkpointed_resources_refused");
              logger.error({ reason: (err as Error).message }, "checkpointed resources not taken");
            });
          }
          await isolate(id);
          if (changed) await subscribe(id);
          statusUpdates.resume();
        },
        onDisconnected: () => statusUpdates.pause(),
        onRefused: async () => {
          await executors.shutdownAll();
          statusUpdates.clear();
          executors.forgetAll();
        },
      });
      await registrar.start();
    },

    stop() {
      stopping ??= (async () => {
        await http?.close();
        http = undefined;
        connection?.stop();
        await registrar?.stop();
        usageTimer?.cancel();
        statusUpdates.stop();
        fetchStep.stop();
        executors.stop();
        batcher.flush();
        await unsubscribe();
        await state.idle();
        logger.info("agent stopped");
      })();
      return stopping;
    },

    shutdown(reason) {
      shuttingDown ??= (async () => {
        logger.warn({ reason }, "agent shutting down");
        await registrar?.stop();
        statusUpdates.stop();
        await executors.shutdownAll();
        // The id is forgotten: so is its cgroup root.
        await containers
          .removeRoot()
          .catch((err: unknown) => logger.warn({ err }, "cgroup root not removed"));
        await registrar?.forget();
        await agent.stop();
        deps.onShutdown?.(reason);
      })();
      return shuttingDown;
    },

    [Symbol.asyncDispose]() {
      return agent.stop();
    },
  };
  return agent;
}

/**
 * What the agent gives its executors to connect with: the executor credential
 * (`--executor-nkey`, `--executor-principal`) and the agent's TLS CA, never the
 * agent's own credential. Undefined when the agent has no executor credential
 * and no TLS CA (an open cluster).
 */
function executorCredentials(config: {
  executorNkey?: string | undefined;
  executorPrincipal: string;
  tlsCa?: string | undefined;
}): NatsCredentials | undefined {
  const out: NatsCredentials = {};
  if (config.executorNkey !== undefined && config.executorNkey !== "") {
    out.nkey = config.executorNkey;
    out.principal = config.executorPrincipal;
  }
  if (config.tlsCa !== undefined && config.tlsCa !== "") out.tlsCa = config.tlsCa;
  return Object.keys(out).length > 0 ? out : undefined;
}

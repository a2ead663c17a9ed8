/**
 * The executor library, as Mesos's `ExecutorDriver`: an executor process
 * started by an agent creates a driver, which reads the `AGORA_*`
 * environment, connects to NATS, listens on its executor subject and
 * subscribes with its agent (retrying until the agent answers). The agent's
 * messages arrive as typed callbacks and through an async iterator; status
 * updates and messages go back through {@link ExecutorDriver.sendUpdate} and
 * {@link ExecutorDriver.sendMessage}. Updates stay unacknowledged until the
 * agent passes the scheduler's ack on; they are re-sent on resubscription.
 *
 * The executor outlives its agent: a restarted agent sends
 * `executor.reconnect` and the driver subscribes again with its tasks and
 * unacknowledged updates. Meanwhile the driver sends `executor.heartbeat`
 * requests: when no agent answers for longer than `AGORA_RECOVERY_TIMEOUT`
 * (Mesos `--recovery_timeout`), or an agent answers NOT_FOUND (it does not
 * know this executor), the driver shuts the executor down (the `shutdown`
 * callback kills the tasks) and, if it owns the process, exits after the
 * shutdown grace period.
 *
 * ```ts
 * const driver = createExecutorDriver({
 *   callbacks: {
 *     launch(task) {
 *       driver.sendUpdate({ taskId: task.taskId, state: "TASK_RUNNING" });
 *     },
 *   },
 * });
 * await driver.start();
 * ```
 */
import { randomUUID } from "node:crypto";
import { headers, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/nats-core";
import type { Static } from "@sinclair/typebox";
import { Backoff } from "../../infra/backoff.ts";
import { Batcher } from "../../infra/batch.ts";
import { type Clock, systemClock, type Timer } from "../../infra/clock.ts";
import { closeGracefully, connect } from "../../infra/connect.ts";
import {
  DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL_MS,
  DEFAULT_EXECUTOR_SUBSCRIBE_BACKOFF_MAX_MS,
  DEFAULT_EXECUTOR_SUBSCRIBE_BACKOFF_MS,
  EXECUTOR_SHUTDOWN_KILL_MARGIN_MS,
} from "../../infra/defaults.ts";
import { serve } from "../../infra/dispatch.ts";
import { createRootLogger, type Logger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import { request } from "../../infra/request.ts";
import {
  isTerminalState,
  type TaskGroupInfo,
  type TaskInfo,
  type TaskReason,
  TaskSource,
  type TaskState,
  type TaskStatus,
} from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { TaskContainer as TaskContainerSchema } from "../../protocol/executors.ts";
import type { Message } from "../../protocol/registry.ts";
import { ACCEPTED_TYPES } from "../../protocol/subject-routes.ts";
import { EXECUTOR_TOKEN_HEADER, Subjects } from "../../protocol/subjects.ts";
import type { ExecutorEnvironment } from "../shared/executor-env.ts";
import { resolveExecutorConfig } from "./config.ts";

/** A task's nested cgroup, as the agent names it in `executor.launchGroup`. */
export type TaskContainer = Static<typeof TaskContainerSchema>;

/** The agent's messages to an executor, as events. */
export type ExecutorEvent =
  | { type: "subscribed"; agentId: string; frameworkId: string; executorId: string }
  | { type: "launch"; task: TaskInfo }
  | { type: "launchGroup"; taskGroup: TaskGroupInfo; containers: TaskContainer[] }
  | { type: "kill"; taskId: string; gracePeriodSeconds: number | undefined }
  | { type: "acknowledged"; taskId: string; uuid: string }
  | { type: "frameworkMessage"; data: Uint8Array }
  | { type: "shutdown"; gracePeriodSeconds: number | undefined }
  /** The agent was away past the recovery timeout, or does not know the executor; a shutdown follows. */
  | { type: "agentLost"; reason: string };

/** Callbacks of an executor; each is optional. A returned promise is awaited for error logging only. */
export interface ExecutorCallbacks {
  /** The agent accepted the subscription (also after a resubscription). */
  subscribed?(info: { agentId: string; frameworkId: string; executorId: string }): void;
  /** Run a task. */
  launch?(task: TaskInfo): void | Promise<void>;
  /** Run a task group, all of it (default executors); `containers` names each task's nested cgroup. */
  launchGroup?(taskGroup: TaskGroupInfo, containers: TaskContainer[]): void | Promise<void>;
  /** Kill a task: SIGTERM, then SIGKILL after the grace period, then report TASK_KILLED. */
  kill?(taskId: string, gracePeriodSeconds: number | undefined): void | Promise<void>;
  /** The scheduler acknowledged an update. */
  acknowledged?(taskId: string, uuid: string): void;
  /** A message from the framework's scheduler. */
  frameworkMessage?(data: Uint8Array): void | Promise<void>;
  /** Kill every task and exit. */
  shutdown?(gracePeriodSeconds: number | undefined): void | Promise<void>;
  /** The agent is lost for good (recovery timeout, or it does not know the executor); `shutdown` follows. */
  agentLost?(reason: string): void;
}

/** A status update as an executor gives it; the driver fills in the rest. */
export interface ExecutorUpdate {
  taskId: string;
  state: TaskState;
  message?: string;
  reason?: TaskReason;
  exitCode?: number;
  signal?: string;
  data?: Uint8Array;
  /** The task's health, once its health check has judged it. */
  healthy?: boolean;
}

/** Options of {@link createExecutorDriver}. */
export interface ExecutorDriverOptions {
  callbacks?: ExecutorCallbacks;
  /** Where the `AGORA_*` variables are read. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** A connection to use instead of opening one (it is not closed by `stop`). */
  nc?: NatsConnection;
  /** @default a root logger at `AGORA_LOG_LEVEL` on stderr (the sandbox's `stderr`) */
  logger?: Logger;
  /** Deadline of one subscribe request in ms. @default 2000 */
  subscribeTimeoutMs?: number;
  /** @default systemClock */
  clock?: Clock;
  /** `executor.heartbeat` period in ms. @default min(5 s, recovery timeout / 4) */
  heartbeatIntervalMs?: number;
  /**
   * Ends the process after a shutdown for a lost agent, once the grace period is over.
   * @default process.exit(1) when the driver opened its own connection; nothing otherwise
   */
  exit?(code: number): void;
}

/** The executor side of the executor ↔ agent protocol. */
export class ExecutorDriver {
  /** What the agent put in the environment. */
  readonly env: ExecutorEnvironment;
  readonly metrics = new Metrics();
  readonly logger: Logger;
  readonly #options: ExecutorDriverOptions;
  readonly #subjects: Subjects;
  readonly #unacknowledged = new Map<string, TaskStatus>();
  readonly #tasks = new Map<string, TaskInfo>();
  /** Callers waiting for the acknowledgement of an update, by uuid. */
  readonly #ackWaiters = new Map<string, Array<() => void>>();
  readonly #listeners = new Set<(event: ExecutorEvent) => void>();
  readonly #onStop: Array<() => void> = [];
  #nc: NatsConnection | undefined;
  #batcher: Batcher | undefined;
  #subscription: Subscription | undefined;
  #stopped = false;
  #subscribing: Promise<void> | undefined;
  #heartbeatTimer: Timer | undefined;
  #heartbeatInFlight = false;
  /** When the agent last answered, by the driver's clock. */
  #lastContact = 0;
  #agentLost = false;
  #frameworkCapabilities: readonly string[] = [];
  readonly #clock: Clock;
  /** The executor's token on every message to the agent; undefined from an agent without tokens. */
  readonly #headers: MsgHdrs | undefined;

  constructor(options: ExecutorDriverOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.env = resolveExecutorConfig(options.env);
    if (this.env.token !== undefined) {
      this.#headers = headers();
      this.#headers.set(EXECUTOR_TOKEN_HEADER, this.env.token);
    }
    this.#subjects = new Subjects(this.env.subjectPrefix);
    this.logger = (options.logger ?? createRootLogger({ level: this.env.logLevel })).child({
      actor: "executor",
      agentId: this.env.agentId,
      frameworkId: this.env.frameworkId,
      executorId: this.env.executorId,
    });
  }

  /**
   * The framework's capabilities as the agent last gave them on subscription
   * (Mesos's `Subscribed.framework_info.capabilities`), e.g. `TASK_KILLING_STATE`.
   */
  get frameworkCapabilities(): readonly string[] {
    return this.#frameworkCapabilities;
  }

  /** The NATS connection, once started. */
  get nc(): NatsConnection {
    if (this.#nc === undefined) throw new Error("the executor driver is not started");
    return this.#nc;
  }

  /**
   * Connects, listens for the agent and subscribes; resolves once the agent
   * accepted the subscription.
   * @throws AgoraError when the agent refuses the executor (NOT_FOUND, INVALID_STATE) or NATS is unreachable
   */
  async start(): Promise<void> {
    const { env } = this;
    this.#nc =
      this.#options.nc ??
      (await connect({
        servers: env.natsUrl,
        credentials: env.credentials,
        devDefaults: false,
        name: `executor-${env.executorId}`,
        logger: this.logger,
      }));
    this.#subscription = serve(
      this.#nc,
      this.#subjects.executor(env.agentId, env.frameworkId, env.executorId, env.agentPrincipal),
      { types: ACCEPTED_TYPES.executor, logger: this.logger, metrics: this.metrics },
      (msg) => this.#dispatch(msg),
    );
    await this.#nc.flush();
    void this.#watchReconnects(this.#nc);
    await this.resubscribe();
  }

  /**
   * Subscribes (again) with the agent, handing it the unacknowledged updates
   * and the running tasks; retried with backoff until the agent answers.
   */
  resubscribe(): Promise<void> {
    this.#subscribing ??= this.#subscribe().finally(() => {
      this.#subscribing = undefined;
    });
    return this.#subscribing;
  }

  async #subscribe(): Promise<void> {
    const subject = this.#toAgentSubject();
    const backoff = new Backoff({
      clock: this.#clock,
      initialMs: DEFAULT_EXECUTOR_SUBSCRIBE_BACKOFF_MS,
      maxMs: DEFAULT_EXECUTOR_SUBSCRIBE_BACKOFF_MAX_MS,
    });
    for (;;) {
      if (this.#stopped) return;
      try {
        const reply = await request(
          this.nc,
          subject,
          {
            type: "executor.subscribe",
            unacknowledgedUpdates: [...this.#unacknowledged.values()],
            tasks: [...this.#tasks.values()],
          },
          ["executor.subscribed"],
          this.#options.subscribeTimeoutMs ?? 2000,
          this.#headers,
        );
        this.logger.info("subscribed");
        this.#frameworkCapabilities = reply.frameworkCapabilities ?? [];
        this.#lastContact = this.#clock.now();
        this.#startHeartbeats();
        this.#emit({
          type: "subscribed",
          agentId: reply.agentId,
          frameworkId: reply.frameworkId,
          executorId: reply.executorId,
        });
        return;
      } catch (err) {
        if (err instanceof AgoraError && !err.retryable) throw err;
        this.metrics.inc("subscribe_retries");
        this.logger.debug({ err, retryInMs: backoff.peek() }, "subscribe failed; retrying");
        await backoff.wait();
      }
    }
  }

  #startHeartbeats(): void {
    if (this.#heartbeatTimer !== undefined || this.#stopped) return;
    const interval =
      this.#options.heartbeatIntervalMs ??
      Math.max(
        50,
        Math.min(DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL_MS, this.env.recoveryTimeoutMs / 4),
      );
    this.#heartbeatTimer = this.#clock.every(interval, () => void this.#heartbeat(interval));
  }

  async #heartbeat(intervalMs: number): Promise<void> {
    if (this.#stopped || this.#agentLost || this.#heartbeatInFlight) return;
    this.#heartbeatInFlight = true;
    const { env } = this;
    try {
      await request(
        this.nc,
        this.#toAgentSubject(),
        { type: "executor.heartbeat" },
        ["ok"],
        intervalMs,
        this.#headers,
      );
      this.#lastContact = this.#clock.now();
    } catch (err) {
      if (this.#stopped) return;
      if (err instanceof AgoraError && err.code === ErrorCode.NotFound) {
        this.#lose("the agent does not know this executor");
        return;
      }
      this.metrics.inc("heartbeats_unanswered");
      const away = this.#clock.now() - this.#lastContact;
      if (away >= env.recoveryTimeoutMs) {
        this.#lose(
          `no agent for ${Math.round(away / 1000)}s (recovery timeout ${env.recoveryTimeoutMs / 1000}s)`,
        );
      }
    } finally {
      this.#heartbeatInFlight = false;
    }
  }

  /** A resubscription failed for good: an agent that refuses the executor does not know it. */
  #refused(err: unknown): void {
    this.logger.error({ err }, "resubscribe refused");
    if (err instanceof AgoraError && !err.retryable)
      this.#lose(`the agent refused the executor: ${err.message}`);
  }

  /** The agent is gone for good: shut the executor down, then end the process. */
  #lose(reason: string): void {
    if (this.#agentLost) return;
    this.#agentLost = true;
    this.#heartbeatTimer?.cancel();
    this.#heartbeatTimer = undefined;
    this.metrics.inc("agent_lost");
    this.logger.warn({ reason }, "agent lost; shutting the executor down");
    const graceMs = this.env.shutdownGracePeriodMs;
    this.#emit({ type: "agentLost", reason });
    Promise.resolve(this.#emit({ type: "shutdown", gracePeriodSeconds: graceMs / 1000 })).catch(
      (err) => this.logger.error({ err }, "shutdown callback failed"),
    );
    const exit =
      this.#options.exit ??
      (this.#options.nc === undefined ? (code: number) => process.exit(code) : undefined);
    if (exit !== undefined) {
      this.#clock.after(graceMs + EXECUTOR_SHUTDOWN_KILL_MARGIN_MS, () => exit(1));
    }
  }

  async #watchReconnects(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === "reconnect" && !this.#stopped) {
        this.resubscribe().catch((err) => this.#refused(err));
      }
    }
  }

  /** Sends a status update; returns it with its uuid, timestamp and ids. */
  sendUpdate(update: ExecutorUpdate): TaskStatus {
    const status: TaskStatus = {
      ...update,
      uuid: randomUUID(),
      timestamp: Date.now(),
      source: TaskSource.Executor,
      agentId: this.env.agentId,
      executorId: this.env.executorId,
    };
    this.#unacknowledged.set(status.uuid!, status);
    this.#publish({ type: "executor.update", status });
    this.metrics.inc("updates_sent");
    return status;
  }

  /** Sends opaque data to the framework's scheduler. */
  sendMessage(data: Uint8Array): void {
    this.#publish({ type: "executor.message", data });
  }

  /** Updates not acknowledged yet, oldest first. */
  unacknowledged(): TaskStatus[] {
    return [...this.#unacknowledged.values()];
  }

  /**
   * Resolves true when the update with `uuid` is acknowledged (at once when it is not pending),
   * false when `timeoutMs` passes first.
   */
  whenAcknowledged(uuid: string, timeoutMs: number): Promise<boolean> {
    if (!this.#unacknowledged.has(uuid)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      const waiters = this.#ackWaiters.get(uuid) ?? [];
      waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
      this.#ackWaiters.set(uuid, waiters);
    });
  }

  /** The agent's messages as an async iterator (from the moment it is called). */
  events(): AsyncIterableIterator<ExecutorEvent> {
    const queue: ExecutorEvent[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const listener = (event: ExecutorEvent) => {
      queue.push(event);
      wake?.();
    };
    this.#listeners.add(listener);
    const finish = () => {
      done = true;
      this.#listeners.delete(listener);
      wake?.();
    };
    this.#onStop.push(finish);
    const iterator: AsyncIterableIterator<ExecutorEvent> = {
      next: async () => {
        while (queue.length === 0 && !done) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
        const value = queue.shift();
        return value === undefined ? { done: true, value: undefined } : { done: false, value };
      },
      return: async () => {
        finish();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Flushes what was sent and closes the connection (unless it was given). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#heartbeatTimer?.cancel();
    this.#heartbeatTimer = undefined;
    for (const finish of this.#onStop.splice(0)) finish();
    this.#batcher?.flush();
    const nc = this.#nc;
    if (nc === undefined || nc.isClosed()) return;
    try {
      this.#subscription?.unsubscribe();
      await nc.flush();
    } catch {
      // closing anyway
    }
    if (this.#options.nc === undefined) await closeGracefully(nc);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Updates and messages to the agent leave batched, at the end of the event-loop turn (infra/batch.ts). */
  #publish(msg: Message): void {
    const nc = this.nc;
    const hdrs = this.#headers;
    this.#batcher ??= new Batcher(
      hdrs === undefined
        ? nc
        : {
            publish: (subject, data, options) =>
              nc.publish(subject, data, { ...options, headers: hdrs }),
          },
      // the turn: the exits of several tasks (each a callback of its own) leave together
      { logger: this.logger, metrics: this.metrics, until: "turn" },
    );
    this.#batcher.publish(this.#toAgentSubject(), msg);
  }

  /** `agent.<principal>.<agentId>.executor.<frameworkId>.<executorId>`: where the agent hears it. */
  #toAgentSubject(): string {
    const { env } = this;
    return this.#subjects.agentExecutor(
      env.agentId,
      env.frameworkId,
      env.executorId,
      env.agentPrincipal,
    );
  }

  #emit(event: ExecutorEvent): void | Promise<void> {
    for (const listener of this.#listeners) listener(event);
    const cb = this.#options.callbacks ?? {};
    switch (event.type) {
      case "subscribed":
        return cb.subscribed?.(event);
      case "launch":
        return cb.launch?.(event.task);
      case "launchGroup":
        return cb.launchGroup?.(event.taskGroup, event.containers);
      case "kill":
        return cb.kill?.(event.taskId, event.gracePeriodSeconds);
      case "acknowledged":
        return cb.acknowledged?.(event.taskId, event.uuid);
      case "frameworkMessage":
        return cb.frameworkMessage?.(event.data);
      case "shutdown":
        return cb.shutdown?.(event.gracePeriodSeconds);
      case "agentLost":
        return cb.agentLost?.(event.reason);
    }
  }

  async #dispatch(msg: Message): Promise<undefined> {
    switch (msg.type) {
      case "executor.launch":
        this.#tasks.set(msg.task.taskId, msg.task);
        await this.#emit({ type: "launch", task: msg.task });
        break;
      case "executor.launchGroup":
        for (const task of msg.taskGroup.tasks) this.#tasks.set(task.taskId, task);
        await this.#emit({
          type: "launchGroup",
          taskGroup: msg.taskGroup,
          containers: msg.containers ?? [],
        });
        break;
      case "executor.kill":
        await this.#emit({
          type: "kill",
          taskId: msg.taskId,
          gracePeriodSeconds: msg.gracePeriodSeconds,
        });
        break;
      case "executor.acknowledged": {
        const status = this.#unacknowledged.get(msg.uuid);
        if (status === undefined) break;
        this.#unacknowledged.delete(msg.uuid);
        if (isTerminalState(status.state)) this.#tasks.delete(status.taskId);
        for (const wake of this.#ackWaiters.get(msg.uuid) ?? []) wake();
        this.#ackWaiters.delete(msg.uuid);
        await this.#emit({ type: "acknowledged", taskId: msg.taskId, uuid: msg.uuid });
        break;
      }
      case "executor.frameworkMessage":
        await this.#emit({ type: "frameworkMessage", data: msg.data });
        break;
      case "executor.shutdown":
        await this.#emit({ type: "shutdown", gracePeriodSeconds: msg.gracePeriodSeconds });
        break;
      case "executor.reconnect":
        // A restarted agent: subscribe again with the tasks and unacknowledged updates.
        this.metrics.inc("reconnects");
        this.logger.info({ agentId: msg.agentId }, "agent restarted; resubscribing");
        this.#lastContact = this.#clock.now();
        this.resubscribe().catch((err) => this.#refused(err));
        break;
    }
    return undefined;
  }
}

/** Creates an executor driver from the environment the agent set. */
export function createExecutorDriver(options: ExecutorDriverOptions = {}): ExecutorDriver {
  return new ExecutorDriver(options);
}

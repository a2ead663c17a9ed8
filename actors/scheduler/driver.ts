/**
 * The framework SDK: a {@link SchedulerDriver} subscribes a framework to the
 * master, keeps the subscription alive (heartbeats both ways, resubscription
 * with the same framework id after master silence or a NATS reconnect) and
 * turns the master's events into typed events and its calls into promises.
 *
 * ```ts
 * await using driver = new SchedulerDriver({ framework: { name: "hello" } });
 * driver.on("offers", async ({ offers }) => { ... await driver.accept([id], tasks) });
 * driver.on("update", ({ status }) => console.log(status.taskId, status.state));
 * await driver.start();
 * ```
 *
 * After every resubscription (a new leader, master silence, a NATS reconnect)
 * the driver reconciles: implicitly, then explicitly for every task it last
 * saw non-terminal, so that updates missed meanwhile are made good. Calls made
 * while it resubscribes reject with NOT_SUBSCRIBED (retryable).
 *
 * Events are delivered one at a time in the master's order (an async handler
 * is awaited before the next event). Every call is a NATS request to
 * `master.framework.<frameworkId>`: it resolves on `ok` and rejects with the
 * {@link AgoraError} of an `error` reply (or TIMEOUT / UNAVAILABLE).
 */

import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/nats-core";
import { type Clock, systemClock, type Timer } from "../../infra/clock.ts";
import { closeGracefully, connect } from "../../infra/connect.ts";
import {
  DEFAULT_MASTER_SILENCE_INTERVALS,
  DEFAULT_RECONCILE_ATTEMPTS,
  DEFAULT_RECONCILE_RETRY_MAX_MS,
  DEFAULT_RECONCILE_RETRY_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SUBSCRIBE_BACKOFF_MAX_MS,
  DEFAULT_SUBSCRIBE_BACKOFF_MS,
  RECONCILE_BATCH_TASKS,
  SCHEDULER_TRACKED_TASKS_MAX,
  UPDATE_DEDUPE_WINDOW,
} from "../../infra/defaults.ts";
import { type Logger, silentLogger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import type {
  ExecutorInfo,
  Filters,
  ResourcesJson,
  TaskGroupInfo,
  TaskInfo,
  TaskState,
  TaskStatus,
} from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import { frameworkPrincipal, Subjects } from "../../protocol/subjects.ts";
import { resolveSchedulerConfig, type SchedulerConfig } from "./config.ts";
import {
  type SchedulerEvent,
  type SchedulerEventHandler,
  SchedulerEventHub,
  type SchedulerEventMap,
  type SchedulerEventName,
} from "./events.ts";
import { Inbound } from "./inbound.ts";
import { type LinkState, MasterLink } from "./link.ts";
import type { SchedulerDriverOptions } from "./options.ts";
import { Reconciler, TaskBook } from "./reconciler.ts";

/** Where the driver is in its life. */
export type SchedulerDriverState = LinkState;

/** Options of {@link SchedulerDriver.once}. */
export interface OnceOptions<K extends SchedulerEventName> {
  /** Only an event for which this returns true resolves the promise. */
  filter?: (event: SchedulerEventMap[K]) => boolean;
  /** Reject with TIMEOUT after this many ms. */
  timeoutMs?: number;
}

function stoppedBeforeSubscribing(): AgoraError {
  return new AgoraError(ErrorCode.InvalidState, "the driver was stopped before it subscribed");
}

/** The framework SDK. See the module comment. */
export class SchedulerDriver {
  readonly #o: SchedulerDriverOptions;
  readonly #subjects: Subjects;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #hub = new SchedulerEventHub();
  readonly #requestTimeoutMs: number;
  /** Counters: messages received/invalid, updates acknowledged, resubscriptions... */
  readonly metrics = new Metrics();

  /** What the process's environment says (`AGORA_NATS_URL`, `AGORA_SUBJECT_PREFIX`). */
  readonly #config: SchedulerConfig;
  #started = false;
  #stopped = false;
  #nc: NatsConnection | undefined;
  #ownsConnection = false;
  #link: MasterLink | undefined;
  /** The id before start (then the link's). */
  readonly #initialFrameworkId: string;
  /** Serializes event delivery. */
  #chain: Promise<void> = Promise.resolve();
  readonly #inbound: Inbound;
  /** The latest state of every non-terminal task, for reconciliation. */
  readonly #book = new TaskBook(SCHEDULER_TRACKED_TASKS_MAX);
  readonly #reconciler: Reconciler;
  /** The master of the previous subscription, to tell a failover from a resubscription. */
  #lastMasterId: string | undefined;

  constructor(options: SchedulerDriverOptions) {
    this.#o = options;
    this.#config = resolveSchedulerConfig(options.env);
    this.#subjects = options.subjects ?? new Subjects(this.#config.prefix);
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#initialFrameworkId = options.framework.frameworkId ?? randomUUID();
    this.#logger = (options.logger ?? silentLogger()).child({
      actor: "scheduler",
      framework: options.framework.name,
    });
    this.#reconciler = new Reconciler({
      clock: this.#clock,
      logger: this.#logger,
      metrics: this.metrics,
      book: this.#book,
      reconcile: (tasks) => this.reconcile(tasks),
      retryMs: options.reconcileRetryMs ?? DEFAULT_RECONCILE_RETRY_MS,
      retryMaxMs: DEFAULT_RECONCILE_RETRY_MAX_MS,
      attempts: DEFAULT_RECONCILE_ATTEMPTS,
      batch: RECONCILE_BATCH_TASKS,
    });
    this.#inbound = new Inbound({
      logger: this.#logger,
      metrics: this.metrics,
      autoAcknowledge: options.autoAcknowledge ?? true,
      window: UPDATE_DEDUPE_WINDOW,
      deliver: (type, payload) => this.#deliver(type, payload),
      acknowledge: (status) => this.acknowledge(status),
      observe: (status) => {
        this.#book.observe(status);
        this.#reconciler.observe(status);
      },
      stopped: () => this.#stopped,
    });
  }

  /** The framework's id (chosen before subscribing; the master's once subscribed). */
  get frameworkId(): string {
    return this.#link?.frameworkId ?? this.#initialFrameworkId;
  }

  /** The principal the framework's subjects carry (`FrameworkInfo.principal`, else `default`). */
  get principal(): string {
    return frameworkPrincipal(this.#o.framework);
  }

  /** The id of the master that accepted the last subscription. */
  get masterId(): string | undefined {
    return this.#link?.masterId;
  }

  /** The driver's state. */
  get state(): SchedulerDriverState {
    if (this.#stopped) return "stopped";
    return this.#link?.state ?? (this.#started ? "subscribing" : "idle");
  }

  /**
   * The latest state the driver saw of a task, while it is not terminal (from
   * updates and reconciliation answers; the driver tracks up to 100,000 tasks).
   */
  taskState(taskId: string): TaskState | undefined {
    return this.#book.stateOf(taskId);
  }

  /** The NATS connection in use (after `start()`). */
  get connection(): NatsConnection | undefined {
    return this.#nc;
  }

  // ---- events -------------------------------------------------------------

  /** Registers a handler of one event type; returns a function that removes it. */
  on<K extends SchedulerEventName>(type: K, handler: SchedulerEventHandler<K>): () => void {
    return this.#hub.on(type, handler);
  }

  /**
   * Every event from now on, as `{type, ...payload}`, until the driver stops
   * (or the loop breaks). Items are buffered when the consumer is slower.
   */
  events(): AsyncIterableIterator<SchedulerEvent> {
    return this.#hub.iterator();
  }

  /**
   * The next event of `type` (matching `filter`) from now on.
   * @throws AgoraError TIMEOUT after `timeoutMs`; INVALID_STATE when the driver stops first
   */
  once<K extends SchedulerEventName>(
    type: K,
    options: OnceOptions<K> = {},
  ): Promise<SchedulerEventMap[K]> {
    return new Promise((resolve, reject) => {
      let timer: Timer | undefined;
      const done = () => {
        off();
        offStop();
        timer?.cancel();
      };
      const off = this.#hub.on(type, (event) => {
        if (options.filter !== undefined && !options.filter(event)) return;
        done();
        resolve(event);
      });
      const offStop = this.#onStop(() => {
        done();
        reject(new AgoraError(ErrorCode.InvalidState, `driver stopped while waiting for ${type}`));
      });
      if (options.timeoutMs !== undefined) {
        timer = this.#clock.after(options.timeoutMs, () => {
          done();
          reject(
            new AgoraError(ErrorCode.Timeout, `no ${type} event within ${options.timeoutMs} ms`),
          );
        });
      }
    });
  }

  readonly #stopListeners = new Set<() => void>();
  #onStop(fn: () => void): () => void {
    this.#stopListeners.add(fn);
    return () => this.#stopListeners.delete(fn);
  }

  // ---- life cycle ---------------------------------------------------------

  /**
   * Connects (unless given a connection), listens on the framework's subject
   * and subscribes, retrying with backoff until a master answers.
   * @throws AgoraError UNAVAILABLE when NATS is unreachable; the master's error
   *   when it refuses the subscription; INVALID_STATE when already started, or
   *   when `stop()` is called before a master answered
   */
  async start(): Promise<void> {
    if (this.#started || this.#stopped) {
      throw new AgoraError(ErrorCode.InvalidState, `driver cannot start: it is ${this.state}`);
    }
    this.#started = true;
    const o = this.#o;
    try {
      if (o.nc !== undefined) {
        this.#nc = o.nc;
      } else {
        const credentials = o.credentials ?? {};
        this.#nc = await connect({
          servers: o.servers ?? this.#config.nats,
          credentials: {
            ...credentials,
            principal: credentials.principal ?? o.framework.principal,
          },
          name: `scheduler-${o.framework.name}`,
          logger: o.logger,
        });
        this.#ownsConnection = true;
        if (this.#stopped) await closeGracefully(this.#nc);
      }
      if (this.#stopped) throw stoppedBeforeSubscribing();
      const { frameworkId: _id, ...framework } = o.framework;
      this.#link = new MasterLink({
        nc: this.#nc,
        subjects: this.#subjects,
        clock: this.#clock,
        logger: this.#logger,
        metrics: this.metrics,
        framework,
        frameworkId: this.#initialFrameworkId,
        idChosenHere: o.framework.frameworkId === undefined,
        suppressedRoles: o.suppressedRoles,
        requestTimeoutMs: this.#requestTimeoutMs,
        backoffMs: o.subscribeBackoffMs ?? DEFAULT_SUBSCRIBE_BACKOFF_MS,
        backoffMaxMs: o.subscribeBackoffMaxMs ?? DEFAULT_SUBSCRIBE_BACKOFF_MAX_MS,
        silenceIntervals: o.masterSilenceIntervals ?? DEFAULT_MASTER_SILENCE_INTERVALS,
        resubscribeJitterMs: o.resubscribeJitterMs,
        resubscribeBackoffMs: o.resubscribeBackoffMs,
        resubscribeBackoffMaxMs: o.resubscribeBackoffMaxMs,
        random: this.#random,
        listener: {
          onEvent: (msg) => this.#enqueue(() => this.#inbound.handle(msg)),
          onSubscribed: (reply, resubscribed) => {
            const previousMasterId = this.#lastMasterId;
            this.#lastMasterId = reply.masterId;
            this.#enqueue(async () => {
              await this.#deliver("subscribed", {
                frameworkId: reply.frameworkId,
                masterId: reply.masterId,
                heartbeatIntervalSeconds: reply.heartbeatIntervalSeconds,
                resubscribed,
                previousMasterId,
              });
              // A resubscription, or a failover of another driver's framework: make up for what was missed.
              const failover = resubscribed || o.framework.frameworkId !== undefined;
              if (failover && (o.reconcileOnResubscribe ?? true) && !this.#stopped) {
                this.#reconciler.start();
              }
            });
          },
          onLost: (reason) => {
            this.#reconciler.cancel();
            this.#enqueue(() => this.#deliver("disconnected", { reason }));
          },
          onFailed: (error) => {
            this.#reconciler.cancel();
            this.#enqueue(() => this.#deliver("error", { error }));
          },
        },
      });
      await this.#link.start();
      if (this.#stopped) throw stoppedBeforeSubscribing();
    } catch (err) {
      await this.stop();
      throw AgoraError.from(err);
    }
  }

  /**
   * Stops the driver without tearing the framework down: the master keeps its
   * tasks for `failoverTimeoutSeconds`, and a new driver with the same
   * `frameworkId` can take over. Ends every event iterator. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#reconciler.cancel();
    this.#link?.stop();
    for (const fn of [...this.#stopListeners]) fn();
    this.#hub.close();
    if (this.#ownsConnection && this.#nc !== undefined) await closeGracefully(this.#nc);
    this.#logger.debug("driver stopped");
  }

  /** Same as {@link stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  // ---- calls --------------------------------------------------------------

  /**
   * Launches `tasks` on the offers (all of one agent); what is left of the
   * offers is declined with `filters`. An empty `tasks` declines the offers.
   */
  accept(offerIds: string[], tasks: TaskInfo[], filters?: Filters): Promise<void> {
    return this.#call({
      type: "scheduler.accept",
      offerIds,
      operations: tasks.length > 0 ? [{ type: "launch", tasks }] : [],
      filters,
    });
  }

  /**
   * Launches task groups on the offers (all of one agent), each in its
   * `DEFAULT` executor (Mesos `LAUNCH_GROUP`): a group starts whole or not at
   * all. What is left of the offers is declined with `filters`.
   */
  acceptGroups(
    offerIds: string[],
    groups: ReadonlyArray<{ executor: ExecutorInfo; taskGroup: TaskGroupInfo }>,
    filters?: Filters,
  ): Promise<void> {
    return this.#call({
      type: "scheduler.accept",
      offerIds,
      operations: groups.map((g) => ({
        type: "launchGroup" as const,
        executor: { ...g.executor, type: "DEFAULT" as const },
        taskGroup: g.taskGroup,
      })),
      filters,
    });
  }

  /**
   * Mesos's `acceptOffers`: applies `operations` in order to the offers (all of
   * one agent) — `launch`, `launchGroup`, and the resource operations
   * `reserve`, `unreserve`, `create`, `destroy` (protocol/README.md). An
   * operation that does not apply is dropped by the master, as Mesos's.
   */
  acceptOperations(
    offerIds: string[],
    operations: MessageOf<"scheduler.accept">["operations"],
    filters?: Filters,
  ): Promise<void> {
    return this.#call({ type: "scheduler.accept", offerIds, operations, filters });
  }

  /** Declines offers; their resources are not offered again for `filters.refuseSeconds` (5 s). */
  decline(offerIds: string[], filters?: Filters): Promise<void> {
    return this.#call({ type: "scheduler.decline", offerIds, filters });
  }

  /** Accepts inverse offers: the framework will move its tasks off those agents. */
  acceptInverseOffers(inverseOfferIds: string[]): Promise<void> {
    return this.#call({ type: "scheduler.acceptInverseOffers", inverseOfferIds });
  }

  /** Declines inverse offers: the framework will not move its tasks. */
  declineInverseOffers(inverseOfferIds: string[]): Promise<void> {
    return this.#call({ type: "scheduler.declineInverseOffers", inverseOfferIds });
  }

  /** Clears the decline filters and unsuppresses the roles (all when absent). */
  revive(roles?: string[]): Promise<void> {
    return this.#call({ type: "scheduler.revive", roles });
  }

  /** Stops offers for the roles (all when absent) until {@link revive}. */
  suppress(roles?: string[]): Promise<void> {
    return this.#call({ type: "scheduler.suppress", roles });
  }

  /**
   * Declares what the framework needs (Mesos's REQUEST): each request is one
   * task's resources for a role (default the first); replaces the standing
   * ones (an empty list withdraws them). With preemption on at the master, a
   * demand free resources cannot serve may preempt lower tasks.
   */
  request(requests: ReadonlyArray<{ role?: string; resources: ResourcesJson }>): Promise<void> {
    return this.#call({ type: "scheduler.request", requests: requests.slice() });
  }

  /**
   * Declares a gang: `members` tasks that start all or none (each one task's
   * resources), for `role` (default the first), one per agent with `spread`.
   * The master holds free resources for it until the whole set fits, then
   * sends it in one `offers` event with `gangId` (use {@link acceptGang}); when
   * it does not fit within `timeoutSeconds`, `gangTimedOut` follows. The same
   * id replaces a waiting gang.
   */
  requestGang(gang: {
    gangId: string;
    members: ReadonlyArray<{ resources: ResourcesJson }>;
    timeoutSeconds: number;
    role?: string;
    spread?: boolean;
  }): Promise<void> {
    return this.#call({
      type: "scheduler.requestGang",
      gangId: gang.gangId,
      members: gang.members.slice(),
      timeoutSeconds: gang.timeoutSeconds,
      ...(gang.role === undefined ? {} : { role: gang.role }),
      ...(gang.spread === undefined ? {} : { spread: gang.spread }),
    });
  }

  /** Withdraws a waiting gang: what it holds is released. */
  withdrawGang(gangId: string): Promise<void> {
    return this.#call({ type: "scheduler.withdrawGang", gangId });
  }

  /**
   * Launches tasks on a gang's offers, each on the agent it names, all or
   * none: when one does not fit, none starts (TASK_ERROR for it, TASK_DROPPED
   * for the others) and the offers are declined.
   */
  acceptGang(gangId: string, tasks: TaskInfo[], filters?: Filters): Promise<void> {
    return this.#call({ type: "scheduler.acceptGang", gangId, tasks, filters });
  }

  /** Kills a task. */
  kill(taskId: string, agentId?: string): Promise<void> {
    return this.#call({ type: "scheduler.kill", taskId, agentId });
  }

  /**
   * Acknowledges a status update. An update without a uuid needs none: the
   * call then resolves at once.
   */
  acknowledge(status: TaskStatus): Promise<void> {
    if (status.uuid === undefined) return Promise.resolve();
    if (status.agentId === undefined) {
      return Promise.reject(
        new AgoraError(
          ErrorCode.InvalidMessage,
          `update ${status.uuid} of task ${status.taskId} has no agentId to acknowledge`,
        ),
      );
    }
    return this.#call({
      type: "scheduler.acknowledge",
      agentId: status.agentId,
      taskId: status.taskId,
      uuid: status.uuid,
    });
  }

  /** Asks for the latest state of tasks (all of them when the list is empty). */
  reconcile(tasks: Array<{ taskId: string; agentId?: string }>): Promise<void> {
    return this.#call({ type: "scheduler.reconcile", tasks });
  }

  /** Sends opaque data to one of the framework's executors. */
  message(agentId: string, executorId: string, data: Uint8Array): Promise<void> {
    return this.#call({ type: "scheduler.message", agentId, executorId, data });
  }

  /** Removes the framework (its tasks are killed, its offers rescinded), then stops the driver. */
  async teardown(reason?: string): Promise<void> {
    try {
      await this.#inbound.acknowledgementsSettled();
      await this.#call({ type: "scheduler.teardown", reason });
    } finally {
      await this.stop();
    }
  }

  #call(msg: Message): Promise<void> {
    if (this.#link === undefined || this.#stopped) {
      return Promise.reject(
        new AgoraError(
          ErrorCode.InvalidState,
          `${msg.type} needs a subscribed driver (the driver is ${this.state})`,
        ),
      );
    }
    return this.#link.call(msg);
  }

  // ---- inbound events -----------------------------------------------------

  #enqueue(fn: () => Promise<void>): void {
    this.#chain = this.#chain.then(fn).catch((err: unknown) => {
      this.#logger.error({ err }, "event delivery failed");
    });
  }

  async #deliver<K extends SchedulerEventName>(
    type: K,
    payload: SchedulerEventMap[K],
  ): Promise<void> {
    if (this.#stopped) return;
    const errors = await this.#hub.deliver(type, payload);
    for (const err of errors) this.#logger.error({ err, event: type }, "event handler threw");
  }
}

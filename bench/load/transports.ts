/**
 * How a load framework talks to the master. Two ways, behind one handle:
 *
 * - `driver`: the project's {@link SchedulerDriver}, as a real framework uses
 *   it. Every call is a request answered `ok`; updates are acknowledged by the
 *   driver (auto-acknowledge) once the handlers ran; events are delivered one
 *   at a time through its promise chain.
 * - `lite`: the same protocol at the message level. Calls are plain publishes
 *   (the protocol allows it: failures come back as `event.error`), so a task
 *   costs no `ok` replies, no request timers and no per-event promise; inbound
 *   events still go through `serve()` and the real codec.
 *
 * Every handle has {@link FrameworkHandle.barrier}: a `scheduler.heartbeat`
 * request on the framework's subject, answered once the master has handled
 * everything the framework sent before it (one connection keeps its order).
 */
import { randomUUID } from "node:crypto";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { SchedulerDriver } from "../../actors/scheduler/driver.ts";
import { Batcher } from "../../infra/batch.ts";
import { systemClock, type Timer } from "../../infra/clock.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "../../infra/defaults.ts";
import { serve } from "../../infra/dispatch.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { request } from "../../infra/request.ts";
import type { ExecutorInfo, Filters, Offer, TaskInfo, TaskStatus } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { Message } from "../../protocol/registry.ts";
import { ACCEPTED_TYPES } from "../../protocol/subject-routes.ts";
import { DEFAULT_PRINCIPAL, type Subjects } from "../../protocol/subjects.ts";

/** What a lite framework listens to: the driver's events, and a new leader's `event.resubscribe`. */
const LITE_EVENT_TYPES = [...new Set([...ACCEPTED_TYPES.framework, "event.resubscribe"] as const)];
/** Cap of the lite framework's resubscription backoff. */
const RESUBSCRIBE_BACKOFF_MAX_MS = 2000;

/** The two ways a load framework talks to the master. */
export const TRANSPORTS = ["driver", "lite"] as const;
export type TransportKind = (typeof TRANSPORTS)[number];

/** What a framework hears. */
export interface FrameworkListener {
  offers(framework: FrameworkHandle, offers: readonly Offer[]): void;
  update(framework: FrameworkHandle, status: TaskStatus): void;
}

/** A subscribed framework. Calls never throw: failures are counted (`call_failed_<code>`). */
export interface FrameworkHandle {
  readonly kind: TransportKind;
  readonly name: string;
  readonly frameworkId: string;
  /** Launches `tasks`; with `group`, as one task group in that DEFAULT executor. */
  accept(
    offerIds: string[],
    tasks: TaskInfo[],
    filters?: Filters,
    group?: ExecutorInfo,
  ): Promise<void>;
  decline(offerIds: string[], filters?: Filters): Promise<void>;
  suppress(): Promise<void>;
  revive(): Promise<void>;
  /** Resolves once the master has handled every call sent before it. */
  barrier(): Promise<void>;
  /** Removes the framework from the master (its tasks are killed) and stops listening. */
  teardown(): Promise<void>;
}

/** What a transport needs. */
export interface TransportOptions {
  nc: NatsConnection;
  subjects: Subjects;
  name: string;
  logger: Logger;
  /** Counters shared by the frameworks of a load. */
  metrics: Metrics;
  listener: FrameworkListener;
  /** @default DEFAULT_REQUEST_TIMEOUT_MS */
  requestTimeoutMs?: number;
}

function counted(metrics: Metrics, promise: Promise<void>): Promise<void> {
  return promise.catch((err: unknown) => {
    metrics.inc(`call_failed_${AgoraError.from(err).code}`);
  });
}

/** Subscribes a framework through the project's SchedulerDriver. */
async function startDriverFramework(o: TransportOptions): Promise<FrameworkHandle> {
  const timeout = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const driver = new SchedulerDriver({
    nc: o.nc,
    subjects: o.subjects,
    framework: { name: o.name },
    logger: o.logger,
    requestTimeoutMs: timeout,
  });
  const handle: FrameworkHandle = {
    kind: "driver",
    name: o.name,
    get frameworkId() {
      return driver.frameworkId;
    },
    accept: (ids, tasks, filters, group) =>
      counted(
        o.metrics,
        group === undefined || tasks.length === 0
          ? driver.accept(ids, tasks, filters)
          : driver.acceptGroups(ids, [{ executor: group, taskGroup: { tasks } }], filters),
      ),
    decline: (ids, filters) => counted(o.metrics, driver.decline(ids, filters)),
    suppress: () => counted(o.metrics, driver.suppress()),
    revive: () => counted(o.metrics, driver.revive()),
    barrier: () =>
      counted(
        o.metrics,
        request(
          o.nc,
          o.subjects.masterFramework(DEFAULT_PRINCIPAL, driver.frameworkId),
          { type: "scheduler.heartbeat" },
          ["ok"],
          timeout,
        ).then(() => undefined),
      ),
    teardown: () => counted(o.metrics, driver.teardown()),
  };
  driver.on("offers", ({ offers }) => o.listener.offers(handle, offers));
  driver.on("update", ({ status }) => o.listener.update(handle, status));
  driver.on("error", ({ error }) => o.metrics.inc(`event_error_${error.code}`));
  await driver.start();
  return handle;
}

/** Subscribes a framework at the message level (see the module comment). */
async function startLiteFramework(o: TransportOptions): Promise<FrameworkHandle> {
  const { nc, subjects, metrics } = o;
  const timeout = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  let frameworkId: string = randomUUID();
  let subscription: Subscription | undefined;
  let heartbeat: Timer | undefined;
  let stopped = false;

  // calls leave batched (infra/batch.ts); a request is sent only after what was queued before it
  const batcher = new Batcher(nc, { logger: o.logger, metrics });
  const publish = (msg: Message): Promise<void> => {
    if (stopped || nc.isClosed()) return Promise.resolve();
    try {
      batcher.publish(subjects.masterFramework(DEFAULT_PRINCIPAL, frameworkId), msg);
    } catch (err) {
      metrics.inc(`call_failed_${AgoraError.from(err).code}`);
    }
    return Promise.resolve();
  };

  const handle: FrameworkHandle = {
    kind: "lite",
    name: o.name,
    get frameworkId() {
      return frameworkId;
    },
    accept: (offerIds, tasks, filters, group) =>
      publish({
        type: "scheduler.accept",
        offerIds,
        operations:
          tasks.length === 0
            ? []
            : group === undefined
              ? [{ type: "launch", tasks }]
              : [{ type: "launchGroup", executor: group, taskGroup: { tasks } }],
        filters,
      }),
    decline: (offerIds, filters) => publish({ type: "scheduler.decline", offerIds, filters }),
    suppress: () => publish({ type: "scheduler.suppress" }),
    revive: () => publish({ type: "scheduler.revive" }),
    barrier: () => {
      batcher.flush();
      return counted(
        metrics,
        request(
          nc,
          subjects.masterFramework(DEFAULT_PRINCIPAL, frameworkId),
          { type: "scheduler.heartbeat" },
          ["ok"],
          timeout,
        ).then(() => undefined),
      );
    },
    async teardown() {
      if (stopped) return;
      batcher.flush();
      try {
        await request(
          nc,
          subjects.masterFramework(DEFAULT_PRINCIPAL, frameworkId),
          { type: "scheduler.teardown", reason: "load done" },
          ["ok"],
          timeout,
        );
      } catch (err) {
        metrics.inc(`call_failed_${AgoraError.from(err).code}`);
      } finally {
        stopped = true;
        heartbeat?.cancel();
        subscription?.unsubscribe();
      }
    },
  };

  // a new leader that does not have the framework subscribed (NOT_SUBSCRIBED), or that asks
  // every framework of its registry (`event.resubscribe`): subscribe again with the same id
  let resubscribing = false;
  const resubscribe = async () => {
    if (stopped || resubscribing) return;
    resubscribing = true;
    try {
      for (let attempt = 0; !stopped; attempt++) {
        try {
          await subscribe(true);
          metrics.inc("resubscriptions");
          return;
        } catch (err) {
          const error = AgoraError.from(err);
          metrics.inc(`resubscribe_failed_${error.code}`);
          if (!error.retryable) return;
          await new Promise((resolve) =>
            setTimeout(resolve, Math.min(RESUBSCRIBE_BACKOFF_MAX_MS, 100 * 2 ** attempt)),
          );
        }
      }
    } finally {
      resubscribing = false;
    }
  };

  const listen = () => {
    subscription?.unsubscribe();
    subscription = serve(
      nc,
      subjects.framework(DEFAULT_PRINCIPAL, frameworkId),
      { types: LITE_EVENT_TYPES, logger: o.logger, metrics },
      (msg) => {
        switch (msg.type) {
          case "event.offers":
            o.listener.offers(handle, msg.offers);
            break;
          case "event.update": {
            const { status } = msg;
            o.listener.update(handle, status);
            if (status.uuid !== undefined && status.agentId !== undefined) {
              void publish({
                type: "scheduler.acknowledge",
                agentId: status.agentId,
                taskId: status.taskId,
                uuid: status.uuid,
              });
            }
            break;
          }
          case "event.error":
            metrics.inc(`event_error_${msg.code}`);
            if (msg.code === ErrorCode.NotSubscribed) void resubscribe();
            break;
          case "event.resubscribe":
            metrics.inc("resubscribe_requests");
            void resubscribe();
            break;
          default:
            break;
        }
        return undefined;
      },
    );
  };

  // listen on a chosen id first, so that no event can come before the subscription is in place
  listen();
  await nc.flush();
  const subscribe = (withId: boolean) =>
    request(
      nc,
      subjects.masterSubscribe(DEFAULT_PRINCIPAL),
      {
        type: "scheduler.subscribe",
        framework: { name: o.name, ...(withId ? { frameworkId } : {}) },
      },
      ["event.subscribed"],
      timeout,
    );
  let reply: Awaited<ReturnType<typeof subscribe>>;
  try {
    reply = await subscribe(true);
  } catch (err) {
    if (AgoraError.from(err).code !== ErrorCode.NotFound) throw err;
    reply = await subscribe(false);
  }
  if (reply.frameworkId !== frameworkId) {
    frameworkId = reply.frameworkId;
    listen();
    await nc.flush();
  }
  // a first call marks the framework as listening: it is offered resources from now on
  await publish({ type: "scheduler.heartbeat" });
  heartbeat = systemClock.every(reply.heartbeatIntervalSeconds * 1000, () => {
    void publish({ type: "scheduler.heartbeat" });
  });
  return handle;
}

/** Subscribes one framework of the given kind. */
export function startFramework(kind: TransportKind, o: TransportOptions): Promise<FrameworkHandle> {
  return kind === "driver" ? startDriverFramework(o) : startLiteFramework(o);
}

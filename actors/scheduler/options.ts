/**
 * Options of the {@link SchedulerDriver} and their defaults. Mesos's scheduler
 * driver is the reference: subscription retried with a randomized, doubling
 * backoff (`--registration_backoff_factor`, capped), and a connection that is
 * considered broken after a few missed master heartbeats.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { Clock } from "../../infra/clock.ts";
import type { NatsCredentials } from "../../infra/credentials.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Subjects } from "../../protocol/subjects.ts";

/** The framework a driver subscribes, as Mesos's `FrameworkInfo`. */
export interface FrameworkOptions {
  /** The framework's name, shown in the master's state. */
  name: string;
  /** Roles the framework receives offers for. @default ["*"] */
  roles?: string[];
  /** The user tasks run as (informational). */
  user?: string;
  /**
   * Seconds the master keeps the framework's tasks after the driver is gone,
   * before it removes the framework. Every (re)subscription sets it: a driver
   * that takes a framework over must give the same value again. @default 0
   */
  failoverTimeoutSeconds?: number;
  /**
   * The id to subscribe with: set it to fail over to a framework that is still
   * known by the master. Without it the driver picks a fresh id, so that it can
   * listen on its event subject before it subscribes.
   */
  frameworkId?: string;
  hostname?: string;
  principal?: string;
  /** Mesos framework capabilities, e.g. `PARTITION_AWARE`. */
  capabilities?: string[];
  /** Priority within its roles for the `priority` allocation policy (higher first). @default 0 */
  priority?: number;
}

/** Options of a {@link SchedulerDriver}. */
export interface SchedulerDriverOptions {
  /** A NATS connection to use; the driver never closes it. */
  nc?: NatsConnection;
  /**
   * NATS URL(s) to connect to when `nc` is not given; the driver owns that
   * connection and closes it in `stop()`. @default AGORA_NATS_URL or nats://127.0.0.1:4222
   */
  servers?: string | string[];
  /**
   * Credentials and TLS of that connection (infra/credentials.ts). The inbox
   * prefix follows `credentials.principal`, else `framework.principal`.
   */
  credentials?: NatsCredentials;
  framework: FrameworkOptions;
  /** The cluster's subjects. @default new Subjects(AGORA_SUBJECT_PREFIX ?? "agora") */
  subjects?: Subjects;
  /**
   * Where `AGORA_NATS_URL` and `AGORA_SUBJECT_PREFIX` are read when `servers`
   * and `subjects` are not given (actors/scheduler/config.ts). @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** @default a silent logger */
  logger?: Logger;
  /**
   * Acknowledge every status update that carries a uuid once the `update`
   * handlers ran (iterators do not delay it). With it, duplicate updates are
   * acknowledged again and not delivered twice. @default true
   */
  autoAcknowledge?: boolean;
  /** Roles for which the framework starts suppressed. */
  suppressedRoles?: string[];
  /** @default systemClock */
  clock?: Clock;
  /** Deadline of every request to the master, in ms. @default 5000 */
  requestTimeoutMs?: number;
  /** First subscription retry delay in ms. @default 500 */
  subscribeBackoffMs?: number;
  /** Cap of the subscription retry delay in ms. @default 10000 */
  subscribeBackoffMaxMs?: number;
  /** Heartbeat intervals of master silence before resubscribing. @default 3 */
  masterSilenceIntervals?: number;
  /**
   * Longest random wait before resubscribing after NOT_SUBSCRIBED or `event.resubscribe`, in ms,
   * so that many frameworks do not reach a new leader at once. @default 250
   */
  resubscribeJitterMs?: number;
  /** First retry delay of a resubscription nobody answered, in ms; doubles. @default 100 */
  resubscribeBackoffMs?: number;
  /** Cap of the resubscription retry delay, in ms. @default 500 */
  resubscribeBackoffMaxMs?: number;
  /**
   * Reconcile after every resubscription (and after a failover to a given `frameworkId`):
   * implicitly, then explicitly for the tasks last seen non-terminal. @default true
   */
  reconcileOnResubscribe?: boolean;
  /** First retry of an explicit reconciliation left unanswered, in ms; doubles up to 30 s. @default 1000 */
  reconcileRetryMs?: number;
  /** Random numbers in [0, 1) for the backoff jitter. @default Math.random */
  random?: () => number;
}

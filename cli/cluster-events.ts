/**
 * Observing the cluster's event stream (`<prefix>.v1.events.>`): the types it
 * carries and a recorder of them, for `agora events`, `agora demo` and tests.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { Recorder } from "../actors/scheduler/recorder.ts";
import { serve } from "../infra/dispatch.ts";
import type { Logger } from "../infra/logger.ts";
import { Metrics } from "../infra/metrics.ts";
import type { MessageOf } from "../protocol/registry.ts";
import type { Subjects } from "../protocol/subjects.ts";

/** Every cluster event type. */
export const CLUSTER_EVENT_TYPES = [
  "cluster.agentAdded",
  "cluster.agentReregistered",
  "cluster.agentUnreachable",
  "cluster.agentRemoved",
  "cluster.frameworkAdded",
  "cluster.frameworkDisconnected",
  "cluster.frameworkRemoved",
  "cluster.offerSent",
  "cluster.offerRescinded",
  "cluster.offerEnded",
  "cluster.taskUpdated",
  "cluster.allocation",
] as const;

/** One cluster event. */
export type ClusterEvent = MessageOf<(typeof CLUSTER_EVENT_TYPES)[number]>;

/** A type guard for one cluster event type. */
export function isClusterEvent<K extends ClusterEvent["type"]>(
  type: K,
  predicate?: (event: Extract<ClusterEvent, { type: K }>) => boolean,
): (event: ClusterEvent) => event is Extract<ClusterEvent, { type: K }> {
  return (event): event is Extract<ClusterEvent, { type: K }> =>
    event.type === type &&
    (predicate === undefined || predicate(event as Extract<ClusterEvent, { type: K }>));
}

/** A subscription to the event stream that records every event. */
export interface ClusterEventWatch {
  readonly recorder: Recorder<ClusterEvent>;
  stop(): void;
}

/**
 * Subscribes to every cluster event and records them; resolves once the
 * subscription is in place on the server.
 */
export async function watchClusterEvents(
  nc: NatsConnection,
  subjects: Subjects,
  logger: Logger,
): Promise<ClusterEventWatch> {
  const recorder = new Recorder<ClusterEvent>();
  const sub: Subscription = serve(
    nc,
    subjects.eventsAll(),
    { types: CLUSTER_EVENT_TYPES, logger, metrics: new Metrics() },
    (event) => {
      recorder.push(event);
      return undefined;
    },
  );
  await nc.flush();
  return { recorder, stop: () => sub.unsubscribe() };
}

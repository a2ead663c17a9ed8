/**
 * Master → scheduler events, as Mesos's scheduler API `Event`, published on
 * `framework.<frameworkId>`.
 */
import { Type } from "@sinclair/typebox";
import { Id, message, Offer, TaskStatus, Text } from "./common.ts";
import { InverseOffer } from "./maintenance.ts";

/** Reply to `scheduler.subscribe`, and published once on the framework's subject. */
export const EventSubscribed = message("event.subscribed", {
  frameworkId: Id,
  masterId: Id,
  /** How often the master sends `event.heartbeat`, and the scheduler must send `scheduler.heartbeat`, in seconds. */
  heartbeatIntervalSeconds: Type.Number({ exclusiveMinimum: 0 }),
});

/** New offers. */
export const EventOffers = message("event.offers", {
  offers: Type.Array(Offer, { maxItems: 100_000 }),
  /** Set when the offers are a gang's whole set (`scheduler.requestGang`): accept them with `scheduler.acceptGang`. */
  gangId: Type.Optional(Id),
});

/**
 * A gang's whole set did not fit within its timeout: what it held is
 * released, the gang is over, and the framework's gangs hold nothing for
 * `backoffSeconds` (a new `scheduler.requestGang` is accepted, and placed if
 * it fits at once, but holds only after it).
 */
export const EventGangTimedOut = message("event.gangTimedOut", {
  gangId: Id,
  reason: Text,
  backoffSeconds: Type.Number({ minimum: 0 }),
});

/** An offer is no longer valid. */
export const EventRescind = message("event.rescind", {
  offerId: Id,
});

/**
 * Inverse offers (Mesos `Event.InverseOffers`): agents the framework runs tasks
 * on are drained or scheduled for maintenance. Answer with
 * `scheduler.acceptInverseOffers` or `scheduler.declineInverseOffers`.
 */
export const EventInverseOffers = message("event.inverseOffers", {
  inverseOffers: Type.Array(InverseOffer, { maxItems: 10_000 }),
});

/** An inverse offer is withdrawn (the agent was reactivated, or the framework has no task left on it). */
export const EventRescindInverseOffer = message("event.rescindInverseOffer", {
  inverseOfferId: Id,
});

/** A task status update; acknowledge it when it has a `uuid`. */
export const EventUpdate = message("event.update", {
  status: TaskStatus,
});

/** A message from an executor. */
export const EventMessage = message("event.message", {
  agentId: Id,
  executorId: Id,
  data: Type.Uint8Array({ maxByteLength: 256 * 1024 }),
});

/** An agent was lost, or an executor terminated. */
export const EventFailure = message("event.failure", {
  agentId: Type.Optional(Id),
  executorId: Type.Optional(Id),
  /** Exit status of the executor, when an executor terminated. */
  status: Type.Optional(Type.Integer()),
});

/** An error about the framework as a whole (e.g. a rejected call sent without a reply subject). */
export const EventError = message("event.error", {
  code: Type.String({ maxLength: 64 }),
  message: Text,
});

/** Periodic liveness from the master. */
export const EventHeartbeat = message("event.heartbeat", {});

/**
 * A master that has just become the leader asks every framework in its registry to
 * resubscribe (with the same frameworkId) to it.
 */
export const EventResubscribe = message("event.resubscribe", {
  /** The new leader. */
  masterId: Id,
});

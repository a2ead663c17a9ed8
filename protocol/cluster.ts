/**
 * Cluster events: master → observers on `events.<kind>` (see
 * {@link ClusterEventKind}). Anyone may subscribe to `events.>`.
 */
import { type Static, Type } from "@sinclair/typebox";
import {
  Attributes,
  Id,
  MAX_OFFERS_PER_MESSAGE,
  message,
  ResourcesJson,
  Role,
  TaskStateSchemaRef,
  TaskStatus,
  Text,
} from "./common.ts";
import { DrainInfo } from "./maintenance.ts";

const at = { /** Milliseconds since the epoch. */ timestamp: Type.Number() };

export const ClusterAgentAdded = message("cluster.agentAdded", {
  ...at,
  agentId: Id,
  hostname: Text,
  resources: ResourcesJson,
  attributes: Attributes,
});

export const ClusterAgentReregistered = message("cluster.agentReregistered", {
  ...at,
  agentId: Id,
  hostname: Text,
});

export const ClusterAgentUnreachable = message("cluster.agentUnreachable", {
  ...at,
  agentId: Id,
});

/** An agent was deactivated, drained, found drained or reactivated (Mesos `AGENT_UPDATED`). */
export const ClusterAgentUpdated = message("cluster.agentUpdated", {
  ...at,
  agentId: Id,
  deactivated: Type.Boolean(),
  drain: Type.Optional(DrainInfo),
});

export const ClusterAgentRemoved = message("cluster.agentRemoved", {
  ...at,
  agentId: Id,
  reason: Text,
});

export const ClusterFrameworkAdded = message("cluster.frameworkAdded", {
  ...at,
  frameworkId: Id,
  name: Text,
  roles: Type.Array(Role),
});

export const ClusterFrameworkDisconnected = message("cluster.frameworkDisconnected", {
  ...at,
  frameworkId: Id,
});

export const ClusterFrameworkRemoved = message("cluster.frameworkRemoved", {
  ...at,
  frameworkId: Id,
  reason: Text,
});

/** One offer made, as `cluster.offersSent` lists it. */
export const SentOffer = Type.Object({
  offerId: Id,
  frameworkId: Id,
  agentId: Id,
  role: Role,
  resources: ResourcesJson,
});
export type SentOffer = Static<typeof SentOffer>;

/**
 * Offers made, in the order they were made: one event for up to
 * {@link MAX_OFFERS_PER_MESSAGE} offers of one allocation cycle (or one gang placement).
 */
export const ClusterOffersSent = message("cluster.offersSent", {
  ...at,
  offers: Type.Array(SentOffer, { minItems: 1, maxItems: MAX_OFFERS_PER_MESSAGE }),
});

export const ClusterOfferRescinded = message("cluster.offerRescinded", {
  ...at,
  offerId: Id,
  frameworkId: Id,
  agentId: Id,
  reason: Text,
});

/**
 * An outstanding offer ended otherwise than by a rescind: its framework
 * accepted or declined it (an offer timeout is a rescind). With
 * `cluster.offerRescinded` every offer of a `cluster.offersSent` has one end.
 */
export const ClusterOfferEnded = message("cluster.offerEnded", {
  ...at,
  offerId: Id,
  frameworkId: Id,
  agentId: Id,
  how: Type.Union([Type.Literal("accepted"), Type.Literal("declined")]),
});

export const ClusterTaskUpdated = message("cluster.taskUpdated", {
  ...at,
  frameworkId: Id,
  agentId: Id,
  taskId: Id,
  name: Text,
  state: TaskStateSchemaRef,
  previousState: Type.Optional(TaskStateSchemaRef),
  reason: TaskStatus.properties.reason,
  message: TaskStatus.properties.message,
  /** The task's health as its last update reported it (health checks), when known. */
  healthy: Type.Optional(Type.Boolean()),
  resources: ResourcesJson,
});

/** Dominant shares after an allocation cycle: fairness in the open. */
export const ClusterAllocation = message("cluster.allocation", {
  ...at,
  /** How long the cycle's decision took (the policy on the cycle's context), in ms. */
  cycleMs: Type.Optional(Type.Number({ minimum: 0 })),
  /** Offers the cycle made. */
  offers: Type.Optional(Type.Integer({ minimum: 0 })),
  roles: Type.Record(Type.String(), Type.Object({ dominantShare: Type.Number() })),
  frameworks: Type.Record(
    Type.String(),
    Type.Object({ dominantShare: Type.Number(), role: Type.Optional(Type.String()) }),
  ),
});

/** Every cluster event type, as published on `events.<kind>` and kept in the history stream. */
export const CLUSTER_EVENT_TYPES = [
  "cluster.agentAdded",
  "cluster.agentReregistered",
  "cluster.agentUnreachable",
  "cluster.agentRemoved",
  "cluster.frameworkAdded",
  "cluster.frameworkDisconnected",
  "cluster.frameworkRemoved",
  "cluster.offersSent",
  "cluster.offerRescinded",
  "cluster.offerEnded",
  "cluster.taskUpdated",
  "cluster.allocation",
] as const;

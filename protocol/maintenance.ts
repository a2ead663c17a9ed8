/**
 * Maintenance and drain (Mesos 1.9 `DRAIN_AGENT`, `DEACTIVATE_AGENT`,
 * `REACTIVATE_AGENT`, maintenance schedules and inverse offers): the shapes
 * the operator calls, the state, the registry and the scheduler events share.
 */
import { type Static, Type } from "@sinclair/typebox";
import { Id, Text } from "./common.ts";

/** Where a drain is: tasks still being killed, or none left. */
export const DrainState = {
  Draining: "DRAINING",
  Drained: "DRAINED",
} as const;
export type DrainState = (typeof DrainState)[keyof typeof DrainState];

/** How an agent is drained (Mesos `DrainConfig`) and how far it got (Mesos `DrainInfo`). */
export const DrainInfo = Type.Object({
  state: Type.Union([Type.Literal(DrainState.Draining), Type.Literal(DrainState.Drained)]),
  /**
   * Upper bound of a task's kill grace period while draining, in seconds
   * (a task with a longer kill policy gets this one); absent: each task's own.
   */
  maxGracePeriodSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  /** Remove the agent for good (as gone) once it is drained. */
  markGone: Type.Boolean(),
  /**
   * Milliseconds since the epoch until which tasks may keep running (their
   * frameworks got inverse offers and may move them); the master kills what
   * is left then. Absent: kills are sent at once (Mesos's behaviour).
   */
  deadline: Type.Optional(Type.Number()),
  /** When the drain was asked for, ms since the epoch. */
  since: Type.Number(),
  /** Set when a maintenance window started it: the agent is reactivated when the window ends. */
  scheduled: Type.Optional(Type.Boolean()),
});
export type DrainInfo = Static<typeof DrainInfo>;

/** A time the agent is unavailable (Mesos `Unavailability`): from `start` for `durationMs` (absent: indefinitely). */
export const Unavailability = Type.Object({
  /** Milliseconds since the epoch. */
  start: Type.Number(),
  durationMs: Type.Optional(Type.Number({ minimum: 0 })),
});
export type Unavailability = Static<typeof Unavailability>;

/**
 * An inverse offer (Mesos `InverseOffer`): the master asks a framework to
 * give back what it runs on `agentId` by `unavailability.start`. Accepting
 * says the framework will move its tasks; declining says it will not. The
 * master does not wait for an answer: a drain kills what is left at its
 * deadline.
 */
export const InverseOffer = Type.Object({
  inverseOfferId: Id,
  agentId: Id,
  hostname: Text,
  unavailability: Unavailability,
});
export type InverseOffer = Static<typeof InverseOffer>;

/** A framework's answer to an inverse offer, as the state shows it. */
export const InverseOfferStatus = {
  Outstanding: "OUTSTANDING",
  Accepted: "ACCEPTED",
  Declined: "DECLINED",
} as const;
export type InverseOfferStatus = (typeof InverseOfferStatus)[keyof typeof InverseOfferStatus];

/** One window of a maintenance schedule: the agents unavailable in it. */
export const MaintenanceWindow = Type.Object(
  {
    /** Agents by id or hostname (Mesos `MachineID` has hostname and ip). */
    machines: Type.Array(
      Type.Object(
        { agentId: Type.Optional(Id), hostname: Type.Optional(Text) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10_000 },
    ),
    unavailability: Unavailability,
  },
  { additionalProperties: false },
);
export type MaintenanceWindow = Static<typeof MaintenanceWindow>;

/** The offer lifecycle: an offer id is usable once. */
import { setup } from "xstate";
import { deriveLifecycle } from "./lifecycle.ts";

export const OfferState = {
  Outstanding: "outstanding",
  Accepted: "accepted",
  Declined: "declined",
  Rescinded: "rescinded",
  Expired: "expired",
} as const;
export type OfferState = (typeof OfferState)[keyof typeof OfferState];

export const OfferEvent = {
  Accept: "ACCEPT",
  Decline: "DECLINE",
  Rescind: "RESCIND",
  Expire: "EXPIRE",
} as const;
export type OfferEvent = (typeof OfferEvent)[keyof typeof OfferEvent];

/**
 * Named delays of the offer machine; the master gives each its value
 * (`offerTimeout` = `--offer-timeout`, Mesos's `offer_timeout`; none when 0).
 */
export const OfferDelay = { OfferTimeout: "offerTimeout" } as const;

/** The offer lifecycle machine. An outstanding offer expires after the named delay `offerTimeout`. */
export const offerMachine = setup({
  types: {} as { events: { type: OfferEvent } },
  delays: { [OfferDelay.OfferTimeout]: 0 },
}).createMachine({
  id: "offer",
  initial: OfferState.Outstanding,
  states: {
    [OfferState.Outstanding]: {
      after: { [OfferDelay.OfferTimeout]: { target: OfferState.Expired } },
      on: {
        [OfferEvent.Accept]: { target: OfferState.Accepted },
        [OfferEvent.Decline]: { target: OfferState.Declined },
        [OfferEvent.Rescind]: { target: OfferState.Rescinded },
        [OfferEvent.Expire]: { target: OfferState.Expired },
      },
    },
    [OfferState.Accepted]: { type: "final" },
    [OfferState.Declined]: { type: "final" },
    [OfferState.Rescinded]: { type: "final" },
    [OfferState.Expired]: { type: "final" },
  },
});

/** The offer transition table derived from {@link offerMachine}. */
export const offerLifecycle = deriveLifecycle(
  offerMachine,
  Object.values(OfferState),
  Object.values(OfferEvent),
);

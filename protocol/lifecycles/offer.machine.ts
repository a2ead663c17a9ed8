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

/** The offer lifecycle machine. */
export const offerMachine = setup({ types: {} as { events: { type: OfferEvent } } }).createMachine({
  id: "offer",
  initial: OfferState.Outstanding,
  states: {
    [OfferState.Outstanding]: {
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

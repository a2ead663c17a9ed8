/**
 * The master's leadership: standby → electing → leading → fenced → standby.
 *
 * - standby: polls the lease (`pollLease` every `pollInterval`); takes over
 *   (electing) when there is none, or once it has seen the same revision for a
 *   whole `leaseTimeout` (the server has no per-key TTL: expiry is the lease
 *   revision standing still).
 * - electing: `tryAcquire` (compare-and-swap on the revision seen).
 * - leading: `startServing` on entry, `renew` every `renewInterval`;
 *   `fenceTimeout` after the last successful renewal (lease × 0.8; the actor
 *   measures it from when that renewal was sent) it stops: fenced. A renewal rejected (another master wrote the lease) fences
 *   at once. `stopServing` on exit.
 * - fenced: waits `pollInterval`, then stands by again.
 * - stopped: the master shuts down; `resign` gives the lease up.
 *
 * Effects are named actions and timeouts named delays, provided by the actor
 * (`leadership.ts`); the defaults here derive the delays from `input.leaseMs`.
 */
import { setup } from "xstate";
import { LEADER_FENCE_FRACTION, LEADER_RENEWALS_PER_LEASE } from "../../infra/defaults.ts";

export const LeadershipState = {
  Standby: "standby",
  Electing: "electing",
  Leading: "leading",
  Fenced: "fenced",
  Stopped: "stopped",
} as const;
export type LeadershipState = (typeof LeadershipState)[keyof typeof LeadershipState];

/** What the actor tells the machine. */
export type LeadershipEvent =
  /** A poll found no lease (never taken or released). */
  | { type: "LEASE_FREE" }
  /** A poll found a lease revision other than the one seen before. */
  | { type: "LEASE_CHANGED" }
  | { type: "ACQUIRED" }
  | { type: "ACQUIRE_FAILED" }
  | { type: "RENEWED" }
  /** Another master wrote the lease: this one no longer leads. */
  | { type: "RENEW_REJECTED" }
  | { type: "STOP" };

/** The leadership machine; `input.leaseMs` sizes the default delays. */
export const leadershipMachine = setup({
  types: {} as {
    context: { leaseMs: number };
    input: { leaseMs: number };
    events: LeadershipEvent;
  },
  actions: {
    pollLease: () => {},
    tryAcquire: () => {},
    renew: () => {},
    startServing: () => {},
    stopServing: () => {},
    resign: () => {},
  },
  delays: {
    pollInterval: ({ context }) => context.leaseMs / LEADER_RENEWALS_PER_LEASE,
    leaseTimeout: ({ context }) => context.leaseMs,
    renewInterval: ({ context }) => context.leaseMs / LEADER_RENEWALS_PER_LEASE,
    fenceTimeout: ({ context }) => context.leaseMs * LEADER_FENCE_FRACTION,
  },
}).createMachine({
  id: "leadership",
  context: ({ input }) => ({ leaseMs: input.leaseMs }),
  initial: LeadershipState.Standby,
  on: { STOP: `.${LeadershipState.Stopped}` },
  states: {
    [LeadershipState.Standby]: {
      initial: "watching",
      after: { leaseTimeout: LeadershipState.Electing },
      on: {
        LEASE_FREE: LeadershipState.Electing,
        LEASE_CHANGED: { target: LeadershipState.Standby, reenter: true },
      },
      states: {
        watching: {
          entry: "pollLease",
          after: { pollInterval: { target: "watching", reenter: true } },
        },
      },
    },
    [LeadershipState.Electing]: {
      entry: "tryAcquire",
      on: {
        ACQUIRED: LeadershipState.Leading,
        ACQUIRE_FAILED: LeadershipState.Standby,
      },
    },
    [LeadershipState.Leading]: {
      type: "parallel",
      entry: "startServing",
      exit: "stopServing",
      on: { RENEW_REJECTED: LeadershipState.Fenced },
      states: {
        renewal: {
          initial: "waiting",
          states: {
            waiting: {
              after: { renewInterval: { target: "waiting", reenter: true, actions: "renew" } },
            },
          },
        },
        lease: {
          initial: "valid",
          states: {
            valid: {
              after: { fenceTimeout: `#leadership.${LeadershipState.Fenced}` },
              on: { RENEWED: { target: "valid", reenter: true } },
            },
          },
        },
      },
    },
    [LeadershipState.Fenced]: {
      after: { pollInterval: LeadershipState.Standby },
    },
    [LeadershipState.Stopped]: {
      type: "final",
      entry: "resign",
    },
  },
});

/** The top-level state of a leadership snapshot value. */
export function leadershipState(value: unknown): LeadershipState {
  if (typeof value === "string") return value as LeadershipState;
  return Object.keys(value as object)[0] as LeadershipState;
}

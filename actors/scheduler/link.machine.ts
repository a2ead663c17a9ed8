/**
 * The lifecycle of a scheduler driver's link to the master, as Mesos's
 * scheduler driver lives it: connecting (subscribing until a master answers),
 * subscribed (heartbeats out, the master's heartbeats in), failing over
 * (resubscribing with the same framework id to a new leader, at once, with a
 * little jitter), disconnected (the master fell silent: resubscribing with a
 * low capped backoff until one answers), failed (a master refused the
 * framework) and stopped.
 *
 * The machine is pure: its timeouts are the named delays `heartbeatInterval`,
 * `masterSilence`, `subscribeBackoff`, `resubscribeJitter` and
 * `resubscribeBackoff`, and its effects the named actions `sendSubscribe`,
 * `sendHeartbeat`, `notifySubscribed`, `notifyLost` and `notifyFailed`, which
 * the {@link MasterLink} provides. `sendSubscribe` answers with SUBSCRIBED or
 * SUBSCRIBE_FAILED; a reply to an older attempt must not be sent.
 */

import { assign, setup } from "xstate";
import { backoffDelay } from "../../infra/backoff.ts";
import type { AgoraError } from "../../protocol/errors.ts";

/** Where the link is in its life (the machine's top-level state). */
export const LinkPhase = {
  Idle: "idle",
  Subscribing: "subscribing",
  Subscribed: "subscribed",
  FailingOver: "failingOver",
  Disconnected: "disconnected",
  Failed: "failed",
  Stopped: "stopped",
} as const;
export type LinkPhase = (typeof LinkPhase)[keyof typeof LinkPhase];

/** Settings of one link machine. */
export interface LinkMachineInput {
  /** Heartbeat intervals of master silence before the link resubscribes. */
  silenceIntervals: number;
  /** First retry delay of the first subscription, doubling up to `backoffMaxMs`. */
  backoffMs: number;
  backoffMaxMs: number;
  /** Longest random wait before a resubscription to a new leader. */
  resubscribeJitterMs: number;
  /** First retry delay of a resubscription, doubling up to `resubscribeBackoffMaxMs`. */
  resubscribeBackoffMs: number;
  resubscribeBackoffMaxMs: number;
}

export interface LinkMachineContext extends LinkMachineInput {
  /** The interval the subscribed master announced, in ms (0 before the first subscription). */
  heartbeatIntervalMs: number;
  /** Failed attempts of the subscription under way. */
  attempt: number;
  /** The master that accepted the last subscription. */
  masterId: string | undefined;
  /** True once a master accepted the framework. */
  subscribedOnce: boolean;
  /** Why the master was lost, for `notifyLost`. */
  reason: string | undefined;
  /** The refusal, for `notifyFailed`. */
  error: AgoraError | undefined;
}

export type LinkMachineEvent =
  | { type: "START" }
  /** The master accepted the (re)subscription. */
  | { type: "SUBSCRIBED"; masterId: string; heartbeatIntervalMs: number }
  /** A subscription attempt failed: retried when `error.retryable`, the end otherwise. */
  | { type: "SUBSCRIBE_FAILED"; error: AgoraError }
  /** A sign of life of the subscribed master: `event.heartbeat`, `event.subscribed`, a call's reply. */
  | { type: "MASTER_ALIVE" }
  /** A master answered a call or heartbeat with NOT_SUBSCRIBED. */
  | { type: "NOT_SUBSCRIBED"; reason: string }
  /** `event.resubscribe` from a master that just became the leader. */
  | { type: "RESUBSCRIBE"; masterId: string }
  /** The NATS connection came back: the master may have missed us, or we it. */
  | { type: "NATS_RECONNECTED" }
  | { type: "STOP" };

const retryable = ({ event }: { event: LinkMachineEvent }) =>
  event.type === "SUBSCRIBE_FAILED" && event.error.retryable;

/** The link lifecycle. Provide the effects (and jittered delays) with `.provide()`. */
export const linkMachine = setup({
  types: {} as {
    context: LinkMachineContext;
    events: LinkMachineEvent;
    input: LinkMachineInput;
  },
  delays: {
    heartbeatInterval: ({ context }) => context.heartbeatIntervalMs,
    masterSilence: ({ context }) => context.heartbeatIntervalMs * context.silenceIntervals,
    subscribeBackoff: ({ context }) =>
      backoffDelay(
        { initialMs: context.backoffMs, maxMs: context.backoffMaxMs },
        context.attempt - 1,
      ),
    resubscribeJitter: ({ context }) => context.resubscribeJitterMs,
    resubscribeBackoff: ({ context }) =>
      backoffDelay(
        { initialMs: context.resubscribeBackoffMs, maxMs: context.resubscribeBackoffMaxMs },
        context.attempt - 1,
      ),
  },
  guards: {
    retryable,
    /** `event.resubscribe` from a master other than the one subscribed to. */
    otherMaster: ({ context, event }) =>
      event.type === "RESUBSCRIBE" && event.masterId !== context.masterId,
  },
  actions: {
    // effects, provided by the MasterLink
    sendSubscribe: () => {},
    sendHeartbeat: () => {},
    notifySubscribed: (_, _params: { resubscribed: boolean }) => {},
    notifyLost: () => {},
    notifyFailed: () => {},
    // context
    countFailure: assign({ attempt: ({ context }) => context.attempt + 1 }),
    resetAttempts: assign({ attempt: 0 }),
    recordSubscription: assign(({ event }) =>
      event.type === "SUBSCRIBED"
        ? {
            attempt: 0,
            masterId: event.masterId,
            heartbeatIntervalMs: event.heartbeatIntervalMs,
            subscribedOnce: true,
            reason: undefined,
          }
        : {},
    ),
    recordLoss: assign({
      attempt: 0,
      reason: ({ context, event }) => {
        switch (event.type) {
          case "NOT_SUBSCRIBED":
            return `the master does not know the subscription: ${event.reason}`;
          case "RESUBSCRIBE":
            return `master ${event.masterId} took over as the leader`;
          case "NATS_RECONNECTED":
            return "NATS reconnected";
          default:
            return `no heartbeat from the master for ${
              context.heartbeatIntervalMs * context.silenceIntervals
            } ms`;
        }
      },
    }),
    recordRefusal: assign({
      error: ({ event }) => (event.type === "SUBSCRIBE_FAILED" ? event.error : undefined),
    }),
  },
}).createMachine({
  id: "link",
  initial: LinkPhase.Idle,
  context: ({ input }) => ({
    ...input,
    heartbeatIntervalMs: 0,
    attempt: 0,
    masterId: undefined,
    subscribedOnce: false,
    reason: undefined,
    error: undefined,
  }),
  on: {
    STOP: { target: `.${LinkPhase.Stopped}` },
  },
  states: {
    [LinkPhase.Idle]: {
      on: { START: { target: LinkPhase.Subscribing } },
    },
    [LinkPhase.Subscribing]: {
      initial: "attempting",
      states: {
        attempting: {
          entry: "sendSubscribe",
          on: {
            SUBSCRIBED: {
              target: `#link.${LinkPhase.Subscribed}`,
              actions: [
                "recordSubscription",
                { type: "notifySubscribed", params: { resubscribed: false } },
              ],
            },
            SUBSCRIBE_FAILED: [
              { guard: "retryable", target: "backoff", actions: "countFailure" },
              { target: `#link.${LinkPhase.Failed}`, actions: ["recordRefusal", "notifyFailed"] },
            ],
          },
        },
        backoff: {
          after: { subscribeBackoff: { target: "attempting" } },
          // a master that just became the leader announced itself: try it now
          on: { RESUBSCRIBE: { target: "attempting" } },
        },
      },
    },
    [LinkPhase.Subscribed]: {
      type: "parallel",
      states: {
        heartbeat: {
          initial: "waiting",
          states: {
            waiting: {
              after: {
                heartbeatInterval: { target: "waiting", reenter: true, actions: "sendHeartbeat" },
              },
            },
          },
        },
        watchdog: {
          initial: "listening",
          states: {
            listening: {
              on: { MASTER_ALIVE: { target: "listening", reenter: true } },
              after: {
                masterSilence: {
                  target: `#link.${LinkPhase.Disconnected}`,
                  actions: ["recordLoss", "notifyLost"],
                },
              },
            },
          },
        },
      },
      on: {
        NOT_SUBSCRIBED: {
          target: LinkPhase.FailingOver,
          actions: ["recordLoss", "notifyLost"],
        },
        RESUBSCRIBE: {
          guard: "otherMaster",
          target: LinkPhase.FailingOver,
          actions: ["recordLoss", "notifyLost"],
        },
        NATS_RECONNECTED: {
          target: LinkPhase.FailingOver,
          actions: ["recordLoss", "notifyLost"],
        },
      },
    },
    [LinkPhase.FailingOver]: {
      initial: "jitter",
      states: {
        jitter: {
          after: { resubscribeJitter: { target: "attempting" } },
        },
        attempting: {
          entry: "sendSubscribe",
          on: {
            SUBSCRIBED: {
              target: `#link.${LinkPhase.Subscribed}`,
              actions: [
                "recordSubscription",
                { type: "notifySubscribed", params: { resubscribed: true } },
              ],
            },
            // the attempt may be stuck on a paused old leader: ask again, the new one answers
            RESUBSCRIBE: { target: "attempting", reenter: true },
            SUBSCRIBE_FAILED: [
              { guard: "retryable", target: "backoff", actions: "countFailure" },
              { target: `#link.${LinkPhase.Failed}`, actions: ["recordRefusal", "notifyFailed"] },
            ],
          },
        },
        backoff: {
          after: { resubscribeBackoff: { target: "attempting" } },
          // a new leader announced itself: try it now
          on: { RESUBSCRIBE: { target: "attempting" } },
        },
      },
    },
    [LinkPhase.Disconnected]: {
      initial: "attempting",
      states: {
        attempting: {
          entry: "sendSubscribe",
          on: {
            SUBSCRIBED: {
              target: `#link.${LinkPhase.Subscribed}`,
              actions: [
                "recordSubscription",
                { type: "notifySubscribed", params: { resubscribed: true } },
              ],
            },
            // the attempt may be stuck on a paused old leader: ask again, the new one answers
            RESUBSCRIBE: { target: "attempting", reenter: true },
            SUBSCRIBE_FAILED: [
              { guard: "retryable", target: "backoff", actions: "countFailure" },
              { target: `#link.${LinkPhase.Failed}`, actions: ["recordRefusal", "notifyFailed"] },
            ],
          },
        },
        backoff: {
          after: { resubscribeBackoff: { target: "attempting" } },
          on: {
            RESUBSCRIBE: { target: `#link.${LinkPhase.FailingOver}`, actions: "resetAttempts" },
            NATS_RECONNECTED: {
              target: `#link.${LinkPhase.FailingOver}`,
              actions: "resetAttempts",
            },
          },
        },
      },
    },
    [LinkPhase.Failed]: {},
    [LinkPhase.Stopped]: { type: "final" },
  },
});

/** The top-level state of a snapshot's value. */
export function phaseOf(value: unknown): LinkPhase {
  if (typeof value === "string") return value as LinkPhase;
  return Object.keys(value as object)[0] as LinkPhase;
}

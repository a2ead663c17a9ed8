/**
 * The lifecycle of one task's health checking, as Mesos's health checker
 * (src/checks/health_checker.cpp) lives it: `idle` until the task runs; then
 * two regions in parallel — `grace` (failures are ignored from the task's
 * start until the grace period ends or a check first passes; the grace period
 * includes the delay) and `probe` (wait `delay`, then check; the next check
 * starts `interval` after the previous one ended, so checks never overlap; a
 * check running past `timeout` is aborted and counts as a failure). After
 * `consecutiveFailures` counted failures in a row the task is `killing`: the
 * owner is asked once to kill it and no more checks run. `stopping` aborts a
 * check in flight and waits for it to end before `stopped`.
 *
 * Healthiness is reported only when it changes, and on the first result: the
 * first pass, the first counted failure, a pass after failures. The result of
 * a check that ended is `CHECK_DONE` with the `seq` it was started with.
 *
 * The machine is pure: its timers are the named delays `checkDelay`,
 * `gracePeriod`, `checkTimeout` and `checkInterval`; its effects the named
 * actions `runCheck`, `abortCheck`, `notifyHealth`, `requestKill`,
 * `noteIgnored` and `noteTimeout`, which the {@link HealthChecker} provides.
 */
import { assign, enqueueActions, raise, setup, stateIn } from "xstate";
import type { HealthTiming } from "./options.ts";

/** Settings of one health machine. */
export interface HealthMachineInput extends HealthTiming {
  /** The check's type, for messages: `COMMAND`, `HTTP`, `TCP`. */
  kind: string;
}

export interface HealthMachineContext {
  kind: string;
  delayMs: number;
  intervalMs: number;
  timeoutMs: number;
  gracePeriodMs: number;
  /** Counted failures in a row that get the task killed (the check's `consecutiveFailures`). */
  maxFailures: number;
  /** The number of the check in flight, or of the last one. */
  seq: number;
  /** True while a check runs. */
  inFlight: boolean;
  /** True once the check in flight ran past its timeout and was aborted. */
  timedOut: boolean;
  /** The latest judged health (undefined before the first counted result). */
  healthy: boolean | undefined;
  /** The health last reported to the owner. */
  reported: boolean | undefined;
  /** Counted failures in a row. */
  consecutiveFailures: number;
  /** What the latest result says. */
  message: string | undefined;
}

export type HealthMachineEvent =
  /** The task is running: start the clock of the delay and the grace period. */
  | { type: "START" }
  /** A check ended. `seq` is the one `runCheck` read from the context. */
  | { type: "CHECK_DONE"; seq: number; ok: boolean; message?: string }
  | { type: "STOP" }
  /** Internal: a check passed (ends the grace period). */
  | { type: "PASSED" };

/** Where the probe is in its cycle, or the machine's end states. */
export const HealthPhase = {
  Idle: "idle",
  Delayed: "delayed",
  Checking: "checking",
  Waiting: "waiting",
  Killing: "killing",
  Stopping: "stopping",
  Stopped: "stopped",
} as const;
export type HealthPhase = (typeof HealthPhase)[keyof typeof HealthPhase];

const seconds = (ms: number) => `${+(ms / 1000).toFixed(3)}s`;

/** The failure message of the check that just ended. */
function failureOf(context: HealthMachineContext, event: HealthMachineEvent): string {
  const detail = event.type === "CHECK_DONE" ? (event.message ?? "failed") : "failed";
  if (context.timedOut) {
    return `${context.kind} health check timed out after ${seconds(context.timeoutMs)} (${detail})`;
  }
  return `${context.kind} health check failed: ${detail}`;
}

/** The health lifecycle. Provide the effects with `.provide()`. */
export const healthMachine = setup({
  types: {} as {
    context: HealthMachineContext;
    events: HealthMachineEvent;
    input: HealthMachineInput;
  },
  delays: {
    checkDelay: ({ context }) => context.delayMs,
    gracePeriod: ({ context }) => context.gracePeriodMs,
    checkInterval: ({ context }) => context.intervalMs,
    // 0 is "no timeout": the timer still fires at once, and `hasTimeout` ignores it
    checkTimeout: ({ context }) => context.timeoutMs,
  },
  guards: {
    noGracePeriod: ({ context }) => context.gracePeriodMs <= 0,
    hasTimeout: ({ context }) => context.timeoutMs > 0,
    stale: ({ context, event }) => event.type === "CHECK_DONE" && event.seq !== context.seq,
    current: ({ context, event }) => event.type === "CHECK_DONE" && event.seq === context.seq,
    passed: ({ context, event }) => event.type === "CHECK_DONE" && event.ok && !context.timedOut,
    inGrace: stateIn({ active: { grace: "on" } }),
    lastStraw: ({ context }) => context.consecutiveFailures + 1 >= context.maxFailures,
    idleProbe: ({ context }) => !context.inFlight,
  },
  actions: {
    // effects, provided by the HealthChecker
    runCheck: () => {},
    abortCheck: () => {},
    notifyHealth: () => {},
    requestKill: () => {},
    noteIgnored: () => {},
    noteTimeout: () => {},
    // context
    beginCheck: assign({
      seq: ({ context }) => context.seq + 1,
      inFlight: true,
      timedOut: false,
    }),
    endCheck: assign({ inFlight: false }),
    markTimedOut: assign({ timedOut: true }),
    recordPass: assign({
      healthy: true,
      consecutiveFailures: 0,
      message: ({ context }) => `${context.kind} health check passed`,
    }),
    recordFailure: assign({
      healthy: false,
      consecutiveFailures: ({ context }) => context.consecutiveFailures + 1,
      message: ({ context, event }) => failureOf(context, event),
    }),
    recordIgnored: assign({
      message: ({ context, event }) => `${failureOf(context, event)} (ignored: grace period)`,
    }),
    /** Reports the health when it differs from what was last reported. */
    reportChange: enqueueActions(({ context, enqueue }) => {
      if (context.healthy === undefined || context.healthy === context.reported) return;
      enqueue("notifyHealth");
      enqueue.assign({ reported: context.healthy });
    }),
  },
}).createMachine({
  id: "health",
  initial: HealthPhase.Idle,
  context: ({ input }) => ({
    kind: input.kind,
    delayMs: input.delayMs,
    intervalMs: input.intervalMs,
    timeoutMs: input.timeoutMs,
    gracePeriodMs: input.gracePeriodMs,
    maxFailures: input.consecutiveFailures,
    seq: 0,
    inFlight: false,
    timedOut: false,
    healthy: undefined,
    reported: undefined,
    consecutiveFailures: 0,
    message: undefined,
  }),
  states: {
    [HealthPhase.Idle]: {
      on: {
        START: { target: "active" },
        STOP: { target: HealthPhase.Stopped },
      },
    },
    active: {
      type: "parallel",
      on: { STOP: { target: HealthPhase.Stopping } },
      states: {
        grace: {
          initial: "on",
          states: {
            on: {
              always: { guard: "noGracePeriod", target: "off" },
              after: { gracePeriod: { target: "off" } },
              on: { PASSED: { target: "off" } },
            },
            off: {},
          },
        },
        probe: {
          initial: HealthPhase.Delayed,
          states: {
            [HealthPhase.Delayed]: {
              after: { checkDelay: { target: HealthPhase.Checking } },
            },
            [HealthPhase.Checking]: {
              entry: ["beginCheck", "runCheck"],
              after: {
                checkTimeout: {
                  guard: "hasTimeout",
                  actions: ["markTimedOut", "noteTimeout", "abortCheck"],
                },
              },
              on: {
                CHECK_DONE: [
                  { guard: "stale" },
                  {
                    guard: "passed",
                    target: HealthPhase.Waiting,
                    actions: ["endCheck", "recordPass", "reportChange", raise({ type: "PASSED" })],
                  },
                  {
                    guard: "inGrace",
                    target: HealthPhase.Waiting,
                    actions: ["endCheck", "recordIgnored", "noteIgnored"],
                  },
                  {
                    guard: "lastStraw",
                    target: HealthPhase.Killing,
                    actions: ["endCheck", "recordFailure", "reportChange", "requestKill"],
                  },
                  {
                    target: HealthPhase.Waiting,
                    actions: ["endCheck", "recordFailure", "reportChange"],
                  },
                ],
              },
            },
            [HealthPhase.Waiting]: {
              after: { checkInterval: { target: HealthPhase.Checking } },
            },
            // the owner kills the task and stops the checker; no check runs any more
            [HealthPhase.Killing]: {},
          },
        },
      },
    },
    [HealthPhase.Stopping]: {
      entry: "abortCheck",
      always: { guard: "idleProbe", target: HealthPhase.Stopped },
      on: { CHECK_DONE: { guard: "current", target: HealthPhase.Stopped, actions: "endCheck" } },
    },
    [HealthPhase.Stopped]: { type: "final" },
  },
});

/** The phase of a snapshot's value. */
export function healthPhaseOf(value: unknown): HealthPhase {
  if (typeof value === "string") return value as HealthPhase;
  const active = (value as { active?: { probe?: HealthPhase } }).active;
  return active?.probe ?? HealthPhase.Idle;
}

/** True while failures are ignored (the grace period runs and no check passed yet). */
export function inGracePeriod(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  return (value as { active?: { grace?: string } }).active?.grace === "on";
}

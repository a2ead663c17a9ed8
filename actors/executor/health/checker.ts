/**
 * The health checker of one task, for an executor: it runs the task's
 * {@link HealthCheck} on the injected clock through the health machine
 * (health.machine.ts) and tells its owner two things — the task's health when
 * it changes (`onStatus`: the executor sends TASK_RUNNING with `healthy` and
 * reason REASON_TASK_HEALTH_CHECK_STATUS_UPDATED), and, once, that the task
 * failed `consecutiveFailures` checks in a row (`onUnhealthy`: the executor
 * kills it).
 *
 * ```ts
 * const checker = new HealthChecker({ check: task.healthCheck, clock, onStatus, onUnhealthy,
 *   command: { cwd: sandbox, env: taskEnv } });
 * checker.start(); // when the task is RUNNING
 * await checker.stop(); // when it is killed or has ended
 * ```
 */
import { type Actor, createActor } from "xstate";
import type { Clock } from "../../../infra/clock.ts";
import type { Logger } from "../../../infra/logger.ts";
import { machineClock } from "../../../infra/machine-clock.ts";
import type { Metrics } from "../../../infra/metrics.ts";
import type { HealthCheck } from "../../../protocol/health.ts";
import { createProbe, type ProbeOptions } from "./create-probe.ts";
import { type HealthPhase, healthMachine, healthPhaseOf, inGracePeriod } from "./health.machine.ts";
import { type ResolvedHealthCheck, resolveHealthCheck } from "./options.ts";
import { describe, type Probe } from "./probe.ts";

/** A change of the task's health. */
export interface HealthResult {
  healthy: boolean;
  /** Counted failures in a row (0 when healthy). */
  consecutiveFailures: number;
  /** What the check said, e.g. `HTTP health check failed: unexpected HTTP response code 500 …`. */
  message: string;
}

/** Options of a {@link HealthChecker}. */
export interface HealthCheckerOptions extends ProbeOptions {
  /** The task's check (validated here: an unusable one throws INVALID_MESSAGE). */
  check: HealthCheck;
  clock: Clock;
  /** The task's health changed (or is known for the first time). */
  onStatus(result: HealthResult): void;
  /** The task failed too many checks in a row: kill it. Called at most once. */
  onUnhealthy(message: string): void;
  /** Runs one check instead of the probe of the check's type (tests). */
  probe?: Probe;
  logger?: Logger;
  /** Counts `health_checks`, `health_check_failures`, `health_check_timeouts`. */
  metrics?: Metrics;
}

/** Runs one task's health check. */
export class HealthChecker {
  readonly check: ResolvedHealthCheck;
  readonly #options: HealthCheckerOptions;
  readonly #probe: Probe;
  readonly #actor: Actor<typeof healthMachine>;
  #controller: AbortController | undefined;
  #stopped: Promise<void> | undefined;

  /** @throws {ProtocolError} INVALID_MESSAGE when the check cannot run */
  constructor(options: HealthCheckerOptions) {
    this.#options = options;
    this.check = resolveHealthCheck(options.check);
    this.#probe = options.probe ?? createProbe(this.check.target, options);
    const machine = healthMachine.provide({
      actions: {
        runCheck: ({ context }) => this.#run(context.seq),
        abortCheck: () => this.#controller?.abort(),
        noteTimeout: () => options.metrics?.inc("health_check_timeouts"),
        notifyHealth: ({ context }) => {
          const result = {
            healthy: context.healthy === true,
            consecutiveFailures: context.consecutiveFailures,
            message: context.message ?? "",
          };
          options.logger?.info(result, "task health changed");
          this.#safely("onStatus", () => options.onStatus(result));
        },
        requestKill: ({ context }) => {
          const message =
            `the task failed ${context.consecutiveFailures} health check(s) in a row; ` +
            `last: ${context.message ?? "unknown"}`;
          options.logger?.warn(
            { consecutiveFailures: context.consecutiveFailures },
            "task unhealthy",
          );
          this.#safely("onUnhealthy", () => options.onUnhealthy(message));
        },
        noteIgnored: ({ context }) =>
          options.logger?.debug({ message: context.message }, "health check failure ignored"),
      },
    });
    this.#actor = createActor(machine, {
      clock: machineClock(options.clock),
      input: { ...this.check, kind: this.check.target.type },
    });
    this.#actor.start();
  }

  /** Starts checking: call it when the task is running (the delay and grace period start now). */
  start(): void {
    this.#actor.send({ type: "START" });
  }

  /** Stops checking; resolves once no check runs any more (one in flight is aborted). */
  stop(): Promise<void> {
    if (this.#stopped !== undefined) return this.#stopped;
    this.#stopped = new Promise<void>((resolve) => {
      // "done" once stopped; "error" cannot happen (every effect is guarded) but must not hang
      const sub = this.#actor.subscribe({
        next: (snapshot) => {
          if (snapshot.status === "active") return;
          sub.unsubscribe();
          resolve();
        },
        error: () => resolve(),
      });
      this.#actor.send({ type: "STOP" });
      if (this.#actor.getSnapshot().status !== "active") {
        sub.unsubscribe();
        resolve();
      }
    }).then(() => {
      this.#actor.stop();
    });
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Where the checker is: idle, delayed, checking, waiting, killing, stopping or stopped. */
  get phase(): HealthPhase {
    return healthPhaseOf(this.#actor.getSnapshot().value);
  }

  /** True while failures are ignored. */
  get inGracePeriod(): boolean {
    return inGracePeriod(this.#actor.getSnapshot().value);
  }

  /** The latest judged health and counted failures in a row. */
  get health(): { healthy: boolean | undefined; consecutiveFailures: number } {
    const { healthy, consecutiveFailures } = this.#actor.getSnapshot().context;
    return { healthy, consecutiveFailures };
  }

  /** Runs check `seq`; its result goes back to the machine as CHECK_DONE. */
  #run(seq: number): void {
    const controller = new AbortController();
    this.#controller = controller;
    this.#options.metrics?.inc("health_checks");
    let outcome: Promise<{ ok: boolean; message?: string }>;
    try {
      outcome = this.#probe(controller.signal);
    } catch (err) {
      outcome = Promise.resolve({ ok: false, message: describe(err) });
    }
    outcome
      .catch((err: unknown) => ({ ok: false, message: describe(err) }))
      .then((result) => {
        if (this.#controller === controller) this.#controller = undefined;
        if (!result.ok) this.#options.metrics?.inc("health_check_failures");
        this.#actor.send({ type: "CHECK_DONE", seq, ok: result.ok, message: result.message });
      });
  }

  /** Calls the owner; its failure is logged, never the checker's. */
  #safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#options.logger?.error({ err }, `health checker ${what} callback failed`);
    }
  }
}

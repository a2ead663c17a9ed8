/**
 * A health check resolved for running: validated, Mesos's defaults applied,
 * durations in milliseconds.
 */
import {
  DEFAULT_HEALTH_CHECK_CONSECUTIVE_FAILURES,
  DEFAULT_HEALTH_CHECK_DELAY_SECONDS,
  DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECONDS,
  DEFAULT_HEALTH_CHECK_HTTP_PATH,
  DEFAULT_HEALTH_CHECK_HTTP_SCHEME,
  DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS,
  DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS,
} from "../../../infra/defaults.ts";
import type { CommandInfo } from "../../../protocol/common.ts";
import {
  type HealthCheck,
  HealthCheckType,
  validateHealthCheck,
} from "../../../protocol/health.ts";

/** What a check probes, by type. */
export type ProbeTarget =
  | { type: typeof HealthCheckType.Command; command: CommandInfo }
  | { type: typeof HealthCheckType.Http; scheme: "http" | "https"; port: number; path: string }
  | { type: typeof HealthCheckType.Tcp; port: number };

/** The timing of a health check, in milliseconds. */
export interface HealthTiming {
  delayMs: number;
  intervalMs: number;
  /** 0: a check may take as long as it takes. */
  timeoutMs: number;
  consecutiveFailures: number;
  gracePeriodMs: number;
}

/** A health check ready to run. */
export interface ResolvedHealthCheck extends HealthTiming {
  target: ProbeTarget;
}

const ms = (seconds: number | undefined, fallback: number) =>
  Math.round((seconds ?? fallback) * 1000);

/**
 * Validates a health check and applies Mesos's defaults.
 *
 * @throws {ProtocolError} INVALID_MESSAGE when the check cannot run
 */
export function resolveHealthCheck(check: HealthCheck): ResolvedHealthCheck {
  validateHealthCheck(check);
  return {
    target: targetOf(check),
    delayMs: ms(check.delaySeconds, DEFAULT_HEALTH_CHECK_DELAY_SECONDS),
    intervalMs: ms(check.intervalSeconds, DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS),
    timeoutMs: ms(check.timeoutSeconds, DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS),
    consecutiveFailures: check.consecutiveFailures ?? DEFAULT_HEALTH_CHECK_CONSECUTIVE_FAILURES,
    gracePeriodMs: ms(check.gracePeriodSeconds, DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECONDS),
  };
}

/** The probe target of a validated check. */
function targetOf(check: HealthCheck): ProbeTarget {
  switch (check.type) {
    case HealthCheckType.Command:
      // validateHealthCheck guarantees the field of the check's type
      return { type: check.type, command: check.command! };
    case HealthCheckType.Http:
      return {
        type: check.type,
        scheme: check.http?.scheme === "https" ? "https" : DEFAULT_HEALTH_CHECK_HTTP_SCHEME,
        port: check.http!.port!,
        path: check.http?.path ?? DEFAULT_HEALTH_CHECK_HTTP_PATH,
      };
    case HealthCheckType.Tcp:
      return { type: check.type, port: check.tcp!.port! };
  }
}

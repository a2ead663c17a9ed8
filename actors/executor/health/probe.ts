/**
 * A probe runs one health check and says whether it passed. It never throws
 * and never outlives its abort: when the signal fires (the check's timeout,
 * or the checker stopping) it ends what it started (the command's process
 * group, the socket) and then settles. The {@link HealthChecker} aborts it;
 * a probe keeps no timer of its own.
 */
import { HealthCheckType } from "../../../protocol/health.ts";
import { type CommandProbeOptions, commandProbe } from "./command-probe.ts";
import { httpProbe } from "./http-probe.ts";
import type { ProbeTarget } from "./options.ts";
import { tcpProbe } from "./tcp-probe.ts";

/** The outcome of one check; a failure says why. */
export type ProbeResult = { ok: true } | { ok: false; message: string };

/** One health check, abortable. */
export type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

/** Options of {@link createProbe}. */
export interface ProbeOptions {
  /** Where and how a command check runs (the task's sandbox and environment). */
  command?: CommandProbeOptions;
}

/** The probe of a resolved check's target. */
export function createProbe(target: ProbeTarget, options: ProbeOptions = {}): Probe {
  switch (target.type) {
    case HealthCheckType.Command:
      return (signal) => commandProbe(target.command, signal, options.command);
    case HealthCheckType.Http:
      return (signal) => httpProbe(target, signal);
    case HealthCheckType.Tcp:
      return (signal) => tcpProbe(target.port, signal);
  }
}

/** The message of an unexpected error. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

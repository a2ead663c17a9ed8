/** The probe of a health check's type. */
import { HealthCheckType } from "../../../protocol/health.ts";
import { type CommandProbeOptions, commandProbe } from "./command-probe.ts";
import { httpProbe } from "./http-probe.ts";
import type { ProbeTarget } from "./options.ts";
import type { Probe } from "./probe.ts";
import { tcpProbe } from "./tcp-probe.ts";

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

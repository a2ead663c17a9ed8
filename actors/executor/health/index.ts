/**
 * Task health checks for executors (Mesos's health checker): command, HTTP
 * and TCP probes, and the {@link HealthChecker} that runs one on a clock.
 */
export type { HealthCheckerOptions, HealthResult } from "./checker.ts";
export { HealthChecker } from "./checker.ts";
export type { CommandProbeOptions } from "./command-probe.ts";
export { commandProbe } from "./command-probe.ts";
export type { ProbeOptions } from "./create-probe.ts";
export { createProbe } from "./create-probe.ts";
export type {
  HealthMachineContext,
  HealthMachineEvent,
  HealthMachineInput,
} from "./health.machine.ts";
export { HealthPhase, healthMachine, healthPhaseOf, inGracePeriod } from "./health.machine.ts";
export type { HttpTarget } from "./http-probe.ts";
export { healthyStatus, httpProbe } from "./http-probe.ts";
export type { KillSettings } from "./kill-policy.ts";
export { killGracePeriodMs } from "./kill-policy.ts";
export type { HealthTiming, ProbeTarget, ResolvedHealthCheck } from "./options.ts";
export { resolveHealthCheck } from "./options.ts";
export type { Probe, ProbeResult } from "./probe.ts";
export { CHECK_HOST } from "./probe.ts";
export { tcpProbe } from "./tcp-probe.ts";

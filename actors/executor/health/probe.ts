/**
 * What every probe shares. A probe runs one health check and says whether it
 * passed. It never throws and never outlives its abort: when the signal fires
 * (the check's timeout, or the checker stopping) it ends what it started (the
 * command's process group, the socket) and then settles. The
 * {@link HealthChecker} aborts it; a probe keeps no timer of its own.
 */

/** The outcome of one check; a failure says why. */
export type ProbeResult = { ok: true } | { ok: false; message: string };

/** One health check, abortable. */
export type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

/** The address Mesos checks HTTP and TCP on: the task's loopback. */
export const CHECK_HOST = "127.0.0.1";

/** The message of an unexpected error. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

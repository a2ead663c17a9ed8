/**
 * The grace period of a kill (SIGTERM, then SIGKILL after it), as Mesos's
 * executors choose it: the kill request's own grace period, else the task's
 * `killPolicy.gracePeriodSeconds`, else its legacy `killGracePeriodSeconds`,
 * else the agent's default (`--executor_shutdown_grace_period`).
 */
import type { KillPolicy } from "../../../protocol/health.ts";

/** The parts of a task that say how it is killed. */
export interface KillSettings {
  killPolicy?: KillPolicy;
  killGracePeriodSeconds?: number;
}

/** The grace period of a kill, in milliseconds. */
export function killGracePeriodMs(
  task: KillSettings,
  requestedSeconds: number | undefined,
  defaultMs: number,
): number {
  const seconds =
    requestedSeconds ?? task.killPolicy?.gracePeriodSeconds ?? task.killGracePeriodSeconds;
  return seconds === undefined ? defaultMs : Math.round(seconds * 1000);
}

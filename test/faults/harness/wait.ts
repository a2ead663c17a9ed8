/**
 * Waiting in the fault tier: the tests' {@link shared} wait, with the tier's
 * longer deadline and a throwing check counting as "not yet" (a process being
 * killed or restarted answers with errors for a while).
 */
import { eventually as shared } from "../../helpers/wait.ts";

/** Deadline of a wait in the fault tier (short timeouts are configured by flags). */
export const FAULT_WAIT_MS = 30_000;

/** {@link shared} with the fault tier's deadline, retrying a check that throws. */
export function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = FAULT_WAIT_MS,
  diagnose?: () => string,
): Promise<T> {
  return shared(check, what, timeoutMs, {
    everyMs: 25,
    retryErrors: true,
    ...(diagnose === undefined ? {} : { diagnose }),
  });
}

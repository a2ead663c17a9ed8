/**
 * Waiting in the fault tier: on conditions over state that processes change
 * (files they write, answers they give), checked every few ms with a deadline
 * — never a sleep standing in for synchronization.
 */

/** Deadline of a wait in the fault tier (short timeouts are configured by flags). */
export const FAULT_WAIT_MS = 30_000;

/**
 * Resolves with the first value of `check` other than undefined/false. A
 * throwing check counts as not yet. On timeout the error names `what`, the
 * last error of `check` and what `diagnose` says.
 */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = FAULT_WAIT_MS,
  diagnose?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError === undefined ? "" : `; last error: ${String(lastError)}`;
      const more = diagnose === undefined ? "" : `\n${diagnose()}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}${more}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

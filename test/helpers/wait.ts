/**
 * Waiting in tests: polls a condition over state that events change (messages
 * received, files written, answers given) until it holds, with a deadline —
 * never a sleep standing in for synchronization.
 */
import { existsSync, readFileSync } from "node:fs";

/** Default deadline of a wait in integration tests. */
export const WAIT_MS = 20_000;
/** The deadline of a wait over an emulated cluster of hundreds of agents (bench tests). */
export const SLOW_WAIT_MS = 3 * WAIT_MS;
/** The deadline of a wait on `agora run` processes from a cold start on a loaded machine. */
export const VERY_SLOW_WAIT_MS = 4.5 * WAIT_MS;

/** How {@link eventually} waits, besides its deadline. */
export interface EventuallyOptions {
  /** Milliseconds between checks. @default 20 */
  everyMs?: number;
  /** A throwing check counts as "not yet" (its last error is named on timeout). @default false */
  retryErrors?: boolean;
  /** Says more on timeout (what was seen instead). */
  diagnose?: () => string;
  /**
   * Subscribes to the events that change what `check` reads (a message
   * recorded): each one checks again at once, besides every `everyMs`.
   * Returns its unsubscribe.
   */
  wake?: (wake: () => void) => () => void;
}

/**
 * Resolves with the first value of `check` other than undefined/false; on
 * timeout the error names `what` (and the last error, and what `diagnose` says).
 */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = WAIT_MS,
  options: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      if (options.retryErrors !== true) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError === undefined ? "" : `; last error: ${String(lastError)}`;
      const more = options.diagnose === undefined ? "" : `\n${options.diagnose()}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}${more}`);
    }
    await pause(options.everyMs ?? 20, options.wake);
  }
}

/** Resolves after `ms`, or earlier at a `wake` event. */
function pause(ms: number, wake: EventuallyOptions["wake"]): Promise<void> {
  return new Promise((resolve) => {
    let off: (() => void) | undefined;
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      off?.();
      resolve();
    };
    const timer = setTimeout(end, ms);
    off = wake?.(end);
    if (done) off?.();
  });
}

/** Waits until `file` exists and holds a whole line (a process wrote it); returns it, trimmed. */
export function waitForLine(file: string, timeoutMs = WAIT_MS): Promise<string> {
  return eventually(
    () => {
      if (!existsSync(file)) return undefined;
      const text = readFileSync(file, "utf8");
      return text.endsWith("\n") && text.trim();
    },
    `a line in ${file}`,
    timeoutMs,
    { everyMs: 5 },
  );
}

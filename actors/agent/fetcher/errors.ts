/**
 * The fetcher's one error: an {@link AgoraError} with code `FETCH_FAILED` whose
 * message names the URI (credentials redacted) and says why, ready to be the
 * message of a `TASK_FAILED` / `REASON_CONTAINER_LAUNCH_FAILED` update.
 */
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

/** A fetch failure; `retryable` when the same fetch may succeed later (network, 5xx). */
export function fetchFailed(
  message: string,
  options: { retryable?: boolean; cause?: unknown } = {},
): AgoraError {
  return new AgoraError(ErrorCode.FetchFailed, message, {
    retryable: options.retryable ?? false,
    ...(options.cause === undefined ? {} : { cause: options.cause }),
  });
}

/** True for an error raised by the fetcher. */
export function isFetchFailed(err: unknown): err is AgoraError {
  return err instanceof AgoraError && err.code === ErrorCode.FetchFailed;
}

/** The message of any thrown value, for wrapping. */
export function reason(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "no such file or directory";
    if (code === "EACCES" || code === "EPERM") return "permission denied";
    if (code === "ENOSPC") return "no space left on the device";
    return err.message;
  }
  return String(err);
}

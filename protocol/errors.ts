/**
 * Typed errors with stable codes. Every error that crosses the wire has the
 * form `{type: "error", code, message, retryable}` and is turned back into an
 * {@link AgoraError} with the same code on the receiving side.
 */

/** Stable error codes. Never rename one; add new ones at the end. */
export const ErrorCode = {
  /** The payload is not MessagePack, not an object, or otherwise undecodable. */
  BadMessage: "BAD_MESSAGE",
  /** The message's `type` is not one this receiver knows. */
  UnknownType: "UNKNOWN_TYPE",
  /** The message carries a protocol major version this receiver does not speak. */
  UnsupportedVersion: "UNSUPPORTED_VERSION",
  /** A field is missing or has the wrong type or range. */
  InvalidMessage: "INVALID_MESSAGE",
  /** The payload exceeds the protocol's size limit. */
  MessageTooLarge: "MESSAGE_TOO_LARGE",
  /** A resource string or resource JSON object is malformed. */
  InvalidResources: "INVALID_RESOURCES",
  /** An identifier would break a subject (empty, `.`, `*`, `>`, whitespace). */
  InvalidId: "INVALID_ID",
  /** The referenced agent, framework, task or offer is not known. */
  NotFound: "NOT_FOUND",
  /** The caller is not the owner of the referenced object. */
  Forbidden: "FORBIDDEN",
  /** The call is valid but not allowed in the current state. */
  InvalidState: "INVALID_STATE",
  /** This master is not the leader; retry on the leader. */
  NotLeader: "NOT_LEADER",
  /** No answer within the deadline. */
  Timeout: "TIMEOUT",
  /** NATS could not be reached. */
  Unavailable: "UNAVAILABLE",
  /** Bad command line or configuration. */
  InvalidConfig: "INVALID_CONFIG",
  /** An unexpected failure inside the actor. */
  Internal: "INTERNAL",
  /**
   * The framework is not subscribed with this master (e.g. a new leader took over):
   * resubscribe with the same frameworkId.
   */
  NotSubscribed: "NOT_SUBSCRIBED",
  /**
   * The agent's fetcher could not fetch a URI of a task into its sandbox (the message says
   * which URI and why); the task ends TASK_FAILED with REASON_CONTAINER_LAUNCH_FAILED.
   */
  FetchFailed: "FETCH_FAILED",
  /**
   * The master's ACLs (`agora master --acls`) do not allow the calling principal this action on
   * this object (Mesos's authorization); not retryable: the same call is denied again.
   */
  PermissionDenied: "PERMISSION_DENIED",
  /** The NATS server refused the connection's credentials (or none were given). */
  Unauthenticated: "UNAUTHENTICATED",
  /** The NATS server refused a publish or subscription for the connection's principal. */
  PermissionViolation: "PERMISSION_VIOLATION",
  /** The framework id of a call does not belong to the principal of the subject it came on. */
  PrincipalMismatch: "PRINCIPAL_MISMATCH",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const RETRYABLE_BY_DEFAULT: ReadonlySet<string> = new Set([
  ErrorCode.NotLeader,
  ErrorCode.NotSubscribed,
  ErrorCode.Timeout,
  ErrorCode.Unavailable,
]);

/** Options of an {@link AgoraError}. */
export interface AgoraErrorOptions {
  /** Whether the same call may succeed if retried. Defaults by code. */
  retryable?: boolean;
  /** The underlying error, kept for logs. */
  cause?: unknown;
}

/** The wire form of an error. */
export interface WireError {
  type: "error";
  code: string;
  message: string;
  retryable: boolean;
}

/** The one error class of agora: a stable `code`, a `retryable` flag and a `cause`. */
export class AgoraError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: AgoraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AgoraError";
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
  }

  /** The wire form, `{type: "error", code, message, retryable}`. */
  toWire(): WireError {
    return { type: "error", code: this.code, message: this.message, retryable: this.retryable };
  }

  /** Rebuilds the error a peer sent. */
  static fromWire(wire: WireError): AgoraError {
    return new AgoraError(wire.code, wire.message, { retryable: wire.retryable });
  }

  /** Wraps any thrown value; an AgoraError is returned as it is. */
  static from(err: unknown, code: ErrorCode = ErrorCode.Internal): AgoraError {
    if (err instanceof AgoraError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new AgoraError(code, message, { cause: err });
  }
}

/** Errors raised while decoding or validating a message. */
export class ProtocolError extends AgoraError {
  constructor(code: ErrorCode, message: string, options: AgoraErrorOptions = {}) {
    super(code, message, { retryable: false, ...options });
    this.name = "ProtocolError";
  }
}

/** True for an {@link AgoraError} with the given code. */
export function isAgoraError(err: unknown, code?: ErrorCode): err is AgoraError {
  return err instanceof AgoraError && (code === undefined || err.code === code);
}

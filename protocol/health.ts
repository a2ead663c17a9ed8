/**
 * Task health checks and kill policies, as Mesos's `HealthCheck` and
 * `KillPolicy` (mesos.proto; docs/health-checks.md). A health check is run by
 * the task's executor: a command (exit status 0 is healthy), an HTTP GET to
 * `127.0.0.1:<port><path>` (2xx–3xx is healthy) or a TCP connect to
 * `127.0.0.1:<port>`. Defaults (Mesos's) are in infra/defaults.ts.
 *
 * The schemas accept what is well-typed; {@link validateHealthCheck} then
 * rejects a check that is well-typed but unusable (an HTTP check without a
 * port, a COMMAND check without a command), as Mesos's `validateHealthCheck`.
 */
import { type Static, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { CommandInfo, MAX_ID } from "./base.ts";
import { ErrorCode, ProtocolError } from "./errors.ts";

/** Mesos `HealthCheck.Type` (without `UNKNOWN`). */
export const HealthCheckType = {
  Command: "COMMAND",
  Http: "HTTP",
  Tcp: "TCP",
} as const;
export type HealthCheckType = (typeof HealthCheckType)[keyof typeof HealthCheckType];

/** The schemes of an HTTP check (Mesos supports `http` and `https`). */
const HTTP_CHECK_SCHEMES: readonly string[] = ["http", "https"];

/**
 * The longest delay, interval, timeout or grace period, in seconds (a week):
 * longer timers do not fit a JavaScript timer (2^31 − 1 ms, about 24.8 days).
 */
const MAX_HEALTH_CHECK_SECONDS = 7 * 24 * 3600;

const Seconds = Type.Number({ minimum: 0, maximum: MAX_HEALTH_CHECK_SECONDS });
const Port = Type.Integer({ minimum: 1, maximum: 65_535 });

/** Mesos `HealthCheck.HTTPCheckInfo`: a GET to `scheme://127.0.0.1:port/path`. */
export const HttpCheckInfo = Type.Object({
  /** The port the task listens on (required by {@link validateHealthCheck}). */
  port: Type.Optional(Port),
  /** The request path, starting with `/` (default `/`). */
  path: Type.Optional(Type.String({ maxLength: 4096 })),
  /** `http` (default) or `https` (the certificate is not verified, as Mesos's `curl -k`). */
  scheme: Type.Optional(Type.String({ maxLength: 16 })),
  /**
   * Statuses for custom executors to interpret; as in Mesos, the built-in
   * executors ignore it and treat 200–399 as healthy.
   */
  statuses: Type.Optional(
    Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { maxItems: 64 }),
  ),
});
export type HttpCheckInfo = Static<typeof HttpCheckInfo>;

/** Mesos `HealthCheck.TCPCheckInfo`: a TCP connect to `127.0.0.1:port`. */
export const TcpCheckInfo = Type.Object({
  /** The port the task listens on (required by {@link validateHealthCheck}). */
  port: Type.Optional(Port),
});
export type TcpCheckInfo = Static<typeof TcpCheckInfo>;

/** A task's health check, as Mesos's `HealthCheck`. Durations in seconds. */
export const HealthCheck = Type.Object({
  type: Type.Union([
    Type.Literal(HealthCheckType.Command),
    Type.Literal(HealthCheckType.Http),
    Type.Literal(HealthCheckType.Tcp),
  ]),
  /** The command of a COMMAND check; exit status 0 is healthy. */
  command: Type.Optional(CommandInfo),
  /** The request of an HTTP check. */
  http: Type.Optional(HttpCheckInfo),
  /** The port of a TCP check. */
  tcp: Type.Optional(TcpCheckInfo),
  /** Seconds from the task's start to the first check (`delay_seconds`, default 15). */
  delaySeconds: Type.Optional(Seconds),
  /** Seconds from the end of one check to the start of the next (`interval_seconds`, default 10). */
  intervalSeconds: Type.Optional(Seconds),
  /** Seconds a check may take before it is aborted as a failure; 0 = no limit (`timeout_seconds`, default 20). */
  timeoutSeconds: Type.Optional(Seconds),
  /** Failures in a row after which the task is killed (`consecutive_failures`, default 3). */
  consecutiveFailures: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  /**
   * Seconds from the task's start during which failures are ignored, until the
   * first success; it includes the delay (`grace_period_seconds`, default 10).
   */
  gracePeriodSeconds: Type.Optional(Seconds),
});
export type HealthCheck = Static<typeof HealthCheck>;

/** How a task is killed, as Mesos's `KillPolicy`. */
export const KillPolicy = Type.Object({
  /**
   * Seconds between SIGTERM and SIGKILL (Mesos `grace_period`, a DurationInfo);
   * overrides the agent's default. A kill request's own grace period overrides it.
   */
  gracePeriodSeconds: Type.Optional(Seconds),
});
export type KillPolicy = Static<typeof KillPolicy>;

/** The field a check of each type needs, and the ones it must not set. */
const FIELD_OF: Record<HealthCheckType, "command" | "http" | "tcp"> = {
  [HealthCheckType.Command]: "command",
  [HealthCheckType.Http]: "http",
  [HealthCheckType.Tcp]: "tcp",
};

/**
 * Rejects a schema-valid health check that cannot run, with a message saying
 * what is missing or wrong (an agent answers TASK_ERROR with it).
 *
 * @throws {ProtocolError} INVALID_MESSAGE
 */
export function validateHealthCheck(check: HealthCheck): void {
  const invalid = (what: string) =>
    new ProtocolError(ErrorCode.InvalidMessage, `invalid health check: ${what}`);
  const field = FIELD_OF[check.type];
  if (field === undefined) throw invalid(`unknown type '${String(check.type)}'`);
  for (const other of Object.values(FIELD_OF)) {
    if (other !== field && check[other] !== undefined) {
      throw invalid(`a ${check.type} health check must not set '${other}'`);
    }
  }
  switch (check.type) {
    case HealthCheckType.Command:
      if (check.command === undefined) {
        throw invalid("a COMMAND health check needs 'command' (the command to run)");
      }
      if (check.command.shell === false && check.command.value.trim() === "") {
        throw invalid("the command of a COMMAND health check needs the program path in 'value'");
      }
      break;
    case HealthCheckType.Http: {
      const http = check.http;
      if (http === undefined) throw invalid("an HTTP health check needs 'http' with a 'port'");
      if (http.port === undefined) {
        throw invalid("an HTTP health check needs 'http.port' (the port the task listens on)");
      }
      if (http.scheme !== undefined && !HTTP_CHECK_SCHEMES.includes(http.scheme)) {
        throw invalid(`unsupported HTTP health check scheme '${http.scheme.slice(0, MAX_ID)}'`);
      }
      if (http.path !== undefined && !http.path.startsWith("/")) {
        throw invalid(
          `the path '${http.path.slice(0, MAX_ID)}' of an HTTP health check must start with '/'`,
        );
      }
      break;
    }
    case HealthCheckType.Tcp:
      if (check.tcp === undefined) throw invalid("a TCP health check needs 'tcp' with a 'port'");
      if (check.tcp.port === undefined) {
        throw invalid("a TCP health check needs 'tcp.port' (the port the task listens on)");
      }
      break;
  }
}

/**
 * Why a task's health check cannot run ({@link validateHealthCheck}'s message),
 * or undefined when it can or there is none: the master refuses such a task
 * TASK_ERROR / REASON_TASK_INVALID with this message.
 */
export function healthCheckProblem(check: HealthCheck | undefined): string | undefined {
  if (check === undefined) return undefined;
  try {
    validateHealthCheck(check);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const checkHealthCheck = TypeCompiler.Compile(HealthCheck);

/**
 * Checks an untrusted value against the {@link HealthCheck} schema, then with
 * {@link validateHealthCheck}.
 *
 * @throws {ProtocolError} INVALID_MESSAGE naming the first bad field
 */
export function parseHealthCheck(value: unknown): HealthCheck {
  if (!checkHealthCheck.Check(value)) {
    const first = checkHealthCheck.Errors(value).First();
    const where = first === undefined || first.path === "" ? "" : ` at '${first.path}'`;
    throw new ProtocolError(
      ErrorCode.InvalidMessage,
      `invalid health check${where}: ${first?.message ?? "not a health check"}`,
    );
  }
  validateHealthCheck(value);
  return value;
}

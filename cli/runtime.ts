/**
 * Process plumbing shared by the commands: the logger, NATS connections with
 * CLI-friendly errors, and waiting for Ctrl-C.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { environmentLogLevel } from "../infra/config.ts";
import { connect, connectionCredentials } from "../infra/connect.ts";
import { credentialsOf } from "../infra/credentials.ts";
import { createRootLogger, type Logger } from "../infra/logger.ts";
import { DEFAULT_PRINCIPAL, Subjects } from "../protocol/subjects.ts";
import { usageError } from "./command.ts";

/**
 * The root logger of a command at `resolved`, the level its own option table
 * resolved (`--log-level`, then `AGORA_LOG_LEVEL`), else at `AGORA_LOG_LEVEL`,
 * else at `fallback`. Interactive commands fall back to `warn` so that their
 * own output stays readable.
 * @throws AgoraError INVALID_CONFIG (usage) for an `AGORA_LOG_LEVEL` pino does not have
 */
export function cliLogger(
  fallback: string,
  kind: "command" | "daemon" = "command",
  resolved?: string,
): Logger {
  return createRootLogger({
    level: resolved ?? environmentLogLevel() ?? fallback,
    // a command's few log lines are for the person who ran it; a daemon's may be collected
    format: kind === "command" || process.stderr.isTTY === true ? "text" : "json",
  });
}

/**
 * The subjects of the cluster with this prefix.
 * @throws AgoraError INVALID_CONFIG (usage) for a malformed prefix
 */
export function subjectsFor(prefix: string): Subjects {
  try {
    return new Subjects(prefix);
  } catch (err) {
    throw usageError(`--prefix: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Where and as whom a command connects: `--nats` and the credential flags of
 * `COMMON_OPTIONS` (infra/config.ts `CREDENTIAL_OPTIONS`), as resolved.
 */
export interface NatsTarget {
  nats: string;
  creds?: string | undefined;
  nkey?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  tlsCa?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  principal?: string | undefined;
}

/**
 * Connects to NATS with the target's URL and credentials.
 * @throws AgoraError UNAVAILABLE naming the URL (redacted) when the server cannot be
 *   reached, UNAUTHENTICATED when it refuses the credentials
 */
export function connectCli(
  target: NatsTarget,
  name: string,
  logger?: Logger,
): Promise<NatsConnection> {
  return connect({
    servers: target.nats,
    credentials: credentialsOf(target),
    name,
    logger,
    timeoutMs: 3000,
  });
}

/**
 * The principal a command acts as on `target`: `--principal` / `AGORA_PRINCIPAL`,
 * else the one of `agora dev`'s recorded credentials for that URL, else
 * `default` (unauthenticated). Operator calls go to `master.operator.<it>`.
 */
export function principalOf(target: NatsTarget): string {
  const principal = connectionCredentials({
    servers: target.nats,
    credentials: credentialsOf(target),
  }).principal;
  return principal === undefined || principal === "" ? DEFAULT_PRINCIPAL : principal;
}

/** The termination signals a long-running command stops on. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Calls `handler` on every SIGINT/SIGTERM until the returned function is
 * called (which removes the listeners). While installed, the signals do not
 * kill the process.
 */
export function onStopSignal(handler: (signal: NodeJS.Signals) => void): () => void {
  for (const signal of STOP_SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, handler);
  };
}

/** Resolves on the first SIGINT or SIGTERM. */
export function waitForStopSignal(): { signal: Promise<NodeJS.Signals>; cancel(): void } {
  let cancel: () => void = () => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    cancel = onStopSignal((s) => {
      cancel();
      resolve(s);
    });
  });
  return { signal, cancel };
}

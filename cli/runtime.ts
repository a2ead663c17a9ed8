/**
 * Process plumbing shared by the commands: the logger, NATS connections with
 * CLI-friendly errors, and waiting for Ctrl-C.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "../infra/connect.ts";
import { createRootLogger, type Logger } from "../infra/logger.ts";
import { Subjects } from "../protocol/subjects.ts";
import { usageError } from "./command.ts";

/**
 * The root logger of a command: `AGORA_LOG_LEVEL` when set, else `level`.
 * Interactive commands default to `warn` so that their own output stays readable.
 */
export function cliLogger(level: string, kind: "command" | "daemon" = "command"): Logger {
  return createRootLogger({
    level: process.env.AGORA_LOG_LEVEL || level,
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
 * Connects to NATS.
 * @throws AgoraError UNAVAILABLE naming the URL when the server cannot be reached
 */
export function connectCli(
  servers: string,
  name: string,
  logger?: Logger,
): Promise<NatsConnection> {
  return connect({ servers, name, logger, timeoutMs: 3000 });
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

/**
 * Logging: one pino root per process, a child logger per actor bound to its
 * ids. Text lines on a TTY (and for the short CLI commands), JSON lines
 * otherwise (daemons whose logs are collected); always on stderr so that
 * stdout stays for command output. Level from `AGORA_LOG_LEVEL` (default `info`).
 */
import { pino } from "pino";
import { lineStream } from "./log-format.ts";

export type Logger = pino.Logger;

/** The default log level. */
export const DEFAULT_LOG_LEVEL = "info";

/** Options of the root logger. */
export interface RootLoggerOptions {
  /** @default process.env.AGORA_LOG_LEVEL ?? "info" */
  level?: string;
  /**
   * `text` lines (coloured on a TTY) or `json` lines.
   * @default text when stderr is a TTY, else json
   */
  format?: "text" | "json";
}

/** Creates the process's root logger. */
export function createRootLogger(options: RootLoggerOptions = {}): Logger {
  const level = options.level ?? process.env.AGORA_LOG_LEVEL ?? DEFAULT_LOG_LEVEL;
  const tty = process.stderr.isTTY === true;
  if ((options.format ?? (tty ? "text" : "json")) === "text") {
    return pino({ level, base: undefined }, lineStream(process.stderr, tty));
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: false }));
}

/** A child logger bound to an actor and its ids, e.g. `{actor: "agent", agentId}`. */
export function actorLogger(
  root: Logger,
  actor: string,
  bindings: Record<string, string | number | undefined> = {},
): Logger {
  return root.child({ actor, ...bindings });
}

/** A logger that writes nothing, for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

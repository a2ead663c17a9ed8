/**
 * Logging: one pino root per process, a child logger per actor bound to its
 * ids. Text lines on a TTY (and for the short CLI commands), JSON lines
 * otherwise (daemons whose logs are collected); always on stderr so that
 * stdout stays for command output. The level is the caller's, resolved with its
 * configuration (`--log-level` / `AGORA_LOG_LEVEL`, infra/config.ts `LOG_OPTIONS`).
 */
import { pino } from "pino";
import { lineStream } from "./log-format.ts";

/** One log method: `(fields, message)` or `(message)`, as pino's. */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/**
 * The logger every actor and the framework SDKs (`agora/scheduler`,
 * `agora/executor`) take: a pino logger satisfies it, and so does any object
 * with these methods (a framework may bring its own logging).
 */
export interface Logger {
  level: string;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger whose lines carry `bindings` too. */
  child(bindings: Record<string, unknown>): Logger;
  /** Whether a level is logged (pino's); absent: assumed so. */
  isLevelEnabled?(level: string): boolean;
  /** Adds bindings to this logger in place (pino's); absent: not added. */
  setBindings?(bindings: Record<string, unknown>): void;
}

/** The default log level. */
export const DEFAULT_LOG_LEVEL = "info";

/** Options of the root logger. */
export interface RootLoggerOptions {
  /** One of infra/config.ts `LOG_LEVELS`. @default "info" */
  level?: string;
  /**
   * `text` lines (coloured on a TTY) or `json` lines.
   * @default text when stderr is a TTY, else json
   */
  format?: "text" | "json";
}

/** Creates the process's root logger. */
export function createRootLogger(options: RootLoggerOptions = {}): Logger {
  const level = options.level ?? DEFAULT_LOG_LEVEL;
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

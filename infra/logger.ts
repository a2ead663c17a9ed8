/**
 * Logging: one pino root per process, a child logger per actor bound to its
 * ids. Pretty on a TTY, JSON lines otherwise; always on stderr so that stdout
 * stays for command output. Level from `AGORA_LOG_LEVEL` (default `info`).
 */
import { pino } from "pino";
import pretty from "pino-pretty";

export type Logger = pino.Logger;

/** The default log level. */
export const DEFAULT_LOG_LEVEL = "info";

/** Options of the root logger. */
export interface RootLoggerOptions {
  /** @default process.env.AGORA_LOG_LEVEL ?? "info" */
  level?: string;
  /** Pretty-print; @default true when stderr is a TTY */
  pretty?: boolean;
}

/** Creates the process's root logger. */
export function createRootLogger(options: RootLoggerOptions = {}): Logger {
  const level = options.level ?? process.env.AGORA_LOG_LEVEL ?? DEFAULT_LOG_LEVEL;
  const usePretty = options.pretty ?? process.stderr.isTTY === true;
  if (usePretty) {
    return pino(
      { level },
      pretty({ destination: 2, sync: true, colorize: true, ignore: "pid,hostname" }),
    );
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

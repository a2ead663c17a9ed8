/**
 * What every `agora` subcommand shares: its shape, option parsing with
 * `--help`, usage errors and the mapping of errors to exit codes
 * (2 for usage errors, 1 for runtime failures).
 */
import {
  formatHelp,
  type OptionSpecs,
  type Resolved,
  type ResolveInput,
  resolveOptions,
} from "../infra/config.ts";
import { AgoraError, ErrorCode } from "../protocol/errors.ts";

/** One subcommand of `agora`. */
export interface Command {
  name: string;
  /** One line, shown by `agora --help`. */
  summary: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Exit codes of the CLI. */
export const ExitCode = {
  Ok: 0,
  /** A runtime failure: NATS unreachable, no master, a failed task without exit code. */
  Failure: 1,
  /** Bad command line: unknown command or flag, malformed value. */
  Usage: 2,
  /** Interrupted by Ctrl-C (128 + SIGINT). */
  Interrupted: 130,
} as const;

/** Error codes that mean the user typed something wrong. */
const USAGE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.InvalidConfig,
  ErrorCode.InvalidResources,
  ErrorCode.InvalidId,
]);

/** A usage error: printed on one line, exit code 2. */
export function usageError(message: string): AgoraError {
  return new AgoraError(ErrorCode.InvalidConfig, message);
}

/** The exit code for an error that ended a command. */
export function exitCodeOf(err: unknown): number {
  return err instanceof AgoraError && USAGE_CODES.has(err.code) ? ExitCode.Usage : ExitCode.Failure;
}

/** The one-line message of an error, as printed after `agora: `. */
export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s+/g, " ").trim();
}

/** Prints `agora: <message>` on stderr. */
export function printError(message: string): void {
  process.stderr.write(`agora: ${message}\n`);
}

/** Help text of a command. */
export interface CommandHelp {
  /** e.g. `agora run [options] -- COMMAND...` */
  usage: string;
  /** A paragraph under the usage line. */
  summary: string;
}

/**
 * Parses a command's arguments with its option table. Returns undefined after
 * printing the help when `--help` was given.
 * @throws AgoraError INVALID_CONFIG (a usage error) for unknown flags and bad values
 */
export function parseCommand<S extends OptionSpecs>(
  specs: S,
  argv: readonly string[],
  help: CommandHelp,
  input: Omit<ResolveInput<S>, "argv"> = {},
): { values: Resolved<S>; positionals: string[] } | undefined {
  if (argv.includes("--help") || argv.includes("-h")) {
    const dashDash = argv.indexOf("--");
    const at = Math.max(argv.indexOf("--help"), argv.indexOf("-h"));
    if (dashDash === -1 || at < dashDash) {
      process.stdout.write(formatHelp(help.usage, help.summary, specs));
      return undefined;
    }
  }
  const { values, positionals } = resolveOptions(specs, { ...input, argv });
  return { values, positionals };
}

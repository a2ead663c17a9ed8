/**
 * Staged configuration, one table per actor: each option has a flag, an
 * optional `AGORA_*` environment variable and a default. Resolution order:
 * defaults → environment → command-line flags → values given in code.
 * Durations resolve to milliseconds.
 *
 * This module parses and converts, and checks ranges as it goes, without
 * TypeBox (every CLI call loads it); an actor resolves its configuration with
 * `resolveConfig` (infra/config-schema.ts), which also validates the whole
 * resolved configuration, values given in code included, against the TypeBox
 * schema derived from the table.
 */
import { delimiter } from "node:path";
import { parseArgs } from "node:util";
import { AgoraError, ErrorCode } from "../protocol/errors.ts";
import { DEFAULT_SUBJECT_PREFIX } from "../protocol/subjects.ts";
import { DEFAULT_HTTP_HOST, DEFAULT_NATS_URL } from "./defaults.ts";
import { parseByteSize, parseDuration } from "./durations.ts";

/** The value type of each kind of option. */
export interface OptionKinds {
  string: string;
  /** Given as `500ms`, `5s`, `2m`; resolved to milliseconds. */
  duration: number;
  number: number;
  integer: number;
  /** Given as `1073741824`, `512MB`, `1GiB`; resolved to bytes. */
  bytes: number;
  boolean: boolean;
  /** A repeatable flag. */
  strings: string[];
}
export type OptionKind = keyof OptionKinds;

/** One option of an actor or command. */
export interface OptionSpec<K extends OptionKind = OptionKind> {
  kind: K;
  /** The long flag, without `--`. */
  flag: string;
  /** A one-letter alias. */
  short?: string;
  /** The environment variable that sets it. */
  env?: string;
  /** The default; milliseconds for durations. */
  default?: OptionKinds[K];
  /** One line of help. */
  help: string;
  /** The placeholder shown in help, e.g. `URL`. */
  placeholder?: string;
  /** Smallest value of a number, integer or duration (ms) option. */
  min?: number;
  /** Largest value of a number, integer or duration (ms) option. */
  max?: number;
  /** The values a string option may take. */
  choices?: readonly string[];
}

export type OptionSpecs = Record<string, OptionSpec>;

/** The resolved values: an option with a default is always present. */
export type Resolved<S extends OptionSpecs> = {
  [P in keyof S]: S[P] extends { default: unknown }
    ? OptionKinds[S[P]["kind"]]
    : OptionKinds[S[P]["kind"]] | undefined;
};

/** An environment to read configuration from (`process.env` unless given). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Input of {@link resolveOptions}. */
export interface ResolveInput<S extends OptionSpecs> {
  /** Command-line arguments after the command name. */
  argv?: readonly string[];
  /** @default process.env */
  env?: Environment;
  /** Values given in code; they win over everything. */
  overrides?: Partial<Resolved<S>>;
  /** Allow positional arguments (returned in `positionals`). */
  allowPositionals?: boolean;
}

/** Where a resolved value came from: its stage and, from the environment or a flag, its text. */
export interface ValueOrigin {
  stage: "default" | "env" | "flag" | "code";
  raw?: string;
}

/** The origin of each resolved option, by key. */
export type Origins = Record<string, ValueOrigin>;

/** How an option is named in a message: its variable when the value came from there, else its flag. */
export function optionName(spec: OptionSpec, origin?: ValueOrigin): string {
  return origin?.stage === "env" && spec.env !== undefined ? spec.env : `--${spec.flag}`;
}

/** How a value is shown in a message: as it was typed when it was, else in the option's unit. */
export function shownValue(spec: OptionSpec, value: unknown, origin?: ValueOrigin): string {
  if (origin?.raw !== undefined) return origin.raw;
  if (spec.kind === "duration" && typeof value === "number") return `${value}ms`;
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * The one-line message of a value outside its option's range or choices, or
 * undefined when it is inside.
 */
export function outOfRange(
  spec: OptionSpec,
  value: unknown,
  origin?: ValueOrigin,
): string | undefined {
  const name = optionName(spec, origin);
  const shown = shownValue(spec, value, origin);
  const unit = spec.kind === "duration" ? "ms" : "";
  if (typeof value === "number") {
    if (spec.min !== undefined && value < spec.min) {
      return `${name} must be at least ${spec.min}${unit}, got ${shown}`;
    }
    if (spec.max !== undefined && value > spec.max) {
      return `${name} must be at most ${spec.max}${unit}, got ${shown}`;
    }
  }
  if (typeof value === "string" && spec.choices !== undefined && !spec.choices.includes(value)) {
    return `${name} must be ${choiceList(spec.choices)}, got ${JSON.stringify(value)}`;
  }
  return undefined;
}

/** `a, b or c`. */
function choiceList(choices: readonly string[]): string {
  return choices.length <= 1
    ? (choices[0] ?? "")
    : `${choices.slice(0, -1).join(", ")} or ${choices[choices.length - 1]}`;
}

function inRange(spec: OptionSpec, value: unknown, origin: ValueOrigin): unknown {
  const message = outOfRange(spec, value, origin);
  if (message !== undefined) throw new AgoraError(ErrorCode.InvalidConfig, message);
  return value;
}

function convert(
  spec: OptionSpec,
  raw: string | boolean | string[],
  stage: "env" | "flag",
): unknown {
  const origin: ValueOrigin = { stage, raw: Array.isArray(raw) ? raw.join(",") : String(raw) };
  const what = optionName(spec, origin);
  switch (spec.kind) {
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (/^(1|true|yes|on)$/i.test(String(raw))) return true;
      if (/^(0|false|no|off)$/i.test(String(raw))) return false;
      throw new AgoraError(ErrorCode.InvalidConfig, `${what}: expected true or false, got ${raw}`);
    case "duration":
      if (/^\s*-/.test(String(raw))) {
        throw new AgoraError(
          ErrorCode.InvalidConfig,
          `${what} must not be negative, got ${String(raw)}`,
        );
      }
      return inRange(spec, parseDuration(String(raw), what), origin);
    case "bytes":
      return parseByteSize(String(raw), what);
    case "number":
    case "integer": {
      const n = Number(raw);
      if (
        String(raw).trim() === "" ||
        !Number.isFinite(n) ||
        (spec.kind === "integer" && !Number.isInteger(n))
      ) {
        throw new AgoraError(
          ErrorCode.InvalidConfig,
          `${what}: expected ${spec.kind === "integer" ? "an integer" : "a number"}, got ${JSON.stringify(raw)}`,
        );
      }
      return inRange(spec, n, origin);
    }
    case "strings":
      return Array.isArray(raw)
        ? raw
        : String(raw)
            .split(",")
            .filter((s) => s !== "");
    default:
      return inRange(spec, String(raw), origin);
  }
}

type ParseOptions = Record<string, { type: "string" | "boolean"; short?: string }>;

/**
 * `--count -3` as `--count=-3`: node's parser takes a value that starts with
 * `-` for an option ("argument is ambiguous"); a negative number or duration
 * after a flag that takes a value is that flag's value (and then checked).
 */
function joinNegativeValues(argv: readonly string[], options: ParseOptions): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    const name = arg.startsWith("--") && !arg.includes("=") ? arg.slice(2) : undefined;
    if (
      name !== undefined &&
      options[name]?.type === "string" &&
      next !== undefined &&
      /^-[0-9.]/.test(next)
    ) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** node's parse errors, rewritten as one short line. */
function parseErrorMessage(cause: unknown): string {
  const message = cause instanceof Error ? (cause.message.split("\n")[0] ?? "") : String(cause);
  const code = cause instanceof Error && "code" in cause ? String(cause.code) : "";
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${option ?? message} (see --help)`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /ambiguous|argument missing/.test(message) && option !== undefined
        ? `${option.split(" ")[0]} needs a value`
        : message.replace(/\.$/, "");
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL": {
      const arg = /'([^']*)'/.exec(message)?.[1];
      return `unexpected argument ${JSON.stringify(arg ?? "")} (see --help)`;
    }
    default:
      return message || "invalid arguments";
  }
}

/**
 * Resolves options: defaults → environment → flags → overrides.
 * @throws AgoraError INVALID_CONFIG with a one-line message
 */
export function resolveOptions<S extends OptionSpecs>(
  specs: S,
  input: ResolveInput<S> = {},
): { values: Resolved<S>; positionals: string[]; help: boolean; origins: Origins } {
  const env = input.env ?? process.env;
  const values: Record<string, unknown> = {};
  const origins: Origins = {};
  for (const [key, spec] of Object.entries(specs)) {
    values[key] = spec.default;
    origins[key] = { stage: "default" };
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    if (fromEnv !== undefined && fromEnv !== "") {
      values[key] = convert(spec, fromEnv, "env");
      origins[key] = { stage: "env", raw: fromEnv };
    }
  }
  type ParseOption = { type: "string" | "boolean"; short?: string; multiple?: boolean };
  const options: Record<string, ParseOption> = { help: { type: "boolean", short: "h" } };
  for (const spec of Object.values(specs)) {
    const option: ParseOption = { type: spec.kind === "boolean" ? "boolean" : "string" };
    if (spec.short) option.short = spec.short;
    if (spec.kind === "strings") option.multiple = true;
    options[spec.flag] = option;
  }
  // `--flag=false` / `--flag=true` of a boolean option (parseArgs takes only `--flag`)
  const booleans = new Map<string, [string, OptionSpec]>();
  for (const [key, spec] of Object.entries(specs)) {
    if (spec.kind === "boolean") booleans.set(spec.flag, [key, spec]);
  }
  const explicit: Array<[string, unknown]> = [];
  const argv: string[] = [];
  const given = input.argv ?? [];
  for (let i = 0; i < given.length; i++) {
    const arg = given[i] as string;
    if (arg === "--") {
      argv.push(...given.slice(i));
      break;
    }
    const match = /^--([^=]+)=(.*)$/.exec(arg);
    const boolean = match === null ? undefined : booleans.get(match[1] as string);
    if (match !== null && boolean !== undefined) {
      explicit.push([boolean[0], convert(boolean[1], match[2] as string, "flag")]);
    } else {
      argv.push(arg);
    }
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, options),
      options,
      strict: true,
      allowPositionals: input.allowPositionals ?? false,
    });
  } catch (cause) {
    throw new AgoraError(ErrorCode.InvalidConfig, parseErrorMessage(cause), { cause });
  }
  for (const [key, spec] of Object.entries(specs)) {
    const raw = parsed.values[spec.flag];
    if (raw === undefined) continue;
    values[key] = convert(spec, raw as string | boolean | string[], "flag");
    origins[key] = {
      stage: "flag",
      raw: Array.isArray(raw) ? raw.join(",") : typeof raw === "string" ? raw : undefined,
    };
  }
  for (const [key, value] of explicit) {
    values[key] = value;
    origins[key] = { stage: "flag" };
  }
  for (const [key, value] of Object.entries(input.overrides ?? {})) {
    if (value === undefined) continue;
    values[key] = value;
    origins[key] = { stage: "code" };
  }
  return {
    values: values as Resolved<S>,
    positionals: parsed.positionals,
    help: parsed.values.help === true,
    origins,
  };
}

/** Formats `--help` for a command from its option table. */
export function formatHelp(usage: string, summary: string, specs: OptionSpecs): string {
  const rows = Object.values(specs).map((spec) => {
    const name = `${spec.short ? `-${spec.short}, ` : ""}--${spec.flag}${spec.kind === "boolean" ? "" : ` ${spec.placeholder ?? spec.kind.toUpperCase()}`}`;
    const extra: string[] = [];
    if (spec.default !== undefined && !(Array.isArray(spec.default) && spec.default.length === 0)) {
      extra.push(
        `default ${spec.kind === "duration" ? `${spec.default}ms` : JSON.stringify(spec.default)}`,
      );
    }
    if (spec.env) extra.push(`env ${spec.env}`);
    return { name, text: `${spec.help}${extra.length ? ` (${extra.join("; ")})` : ""}` };
  });
  rows.push({ name: "-h, --help", text: "show this help" });
  const width = Math.max(...rows.map((r) => r.name.length)) + 2;
  const lines = rows.map((r) => `  ${r.name.padEnd(width)}${r.text}`);
  return `Usage: ${usage}\n\n${summary}\n\nOptions:\n${lines.join("\n")}\n`;
}

/**
 * How a process authenticates to NATS and secures the connection (see
 * infra/credentials.ts `NatsCredentials`); part of {@link COMMON_OPTIONS}.
 * Secrets are never echoed: `--help` shows no default for them.
 */
export const CREDENTIAL_OPTIONS = {
  creds: {
    kind: "string",
    flag: "creds",
    env: "AGORA_CREDS",
    placeholder: "FILE",
    help: "NATS creds file (user JWT + nkey seed)",
  },
  nkey: {
    kind: "string",
    flag: "nkey",
    env: "AGORA_NKEY",
    placeholder: "FILE",
    help: "nkey seed file, as `agora auth` writes them",
  },
  user: {
    kind: "string",
    flag: "nats-user",
    env: "AGORA_NATS_USER",
    placeholder: "NAME",
    help: "NATS user (or nats://USER:PASSWORD@host in --nats)",
  },
  password: {
    kind: "string",
    flag: "nats-password",
    env: "AGORA_NATS_PASSWORD",
    placeholder: "SECRET",
    help: "password of --nats-user; prefer the variable, flags show in `ps`",
  },
  token: {
    kind: "string",
    flag: "nats-token",
    env: "AGORA_NATS_TOKEN",
    placeholder: "SECRET",
    help: "NATS token (or nats://TOKEN@host in --nats)",
  },
  tlsCa: {
    kind: "string",
    flag: "tls-ca",
    env: "AGORA_TLS_CA",
    placeholder: "FILE",
    help: "CA certificate (PEM) of the NATS servers; turns TLS on (as do tls:// URLs)",
  },
  tlsCert: {
    kind: "string",
    flag: "tls-cert",
    env: "AGORA_TLS_CERT",
    placeholder: "FILE",
    help: "client certificate (PEM) for mutual TLS, with --tls-key",
  },
  tlsKey: {
    kind: "string",
    flag: "tls-key",
    env: "AGORA_TLS_KEY",
    placeholder: "FILE",
    help: "client private key (PEM) for mutual TLS",
  },
  principal: {
    kind: "string",
    flag: "principal",
    env: "AGORA_PRINCIPAL",
    placeholder: "NAME",
    help: "principal this process acts as: its reply inbox prefix _INBOX_NAME, and the principal token of its agent or operator subjects (default: `default`; see `agora auth`)",
  },
} as const satisfies OptionSpecs;

/** pino's levels, as `--log-level` takes them. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * `--log-level` of an actor. No default: absent, the actor keeps the level of
 * the logger it was given (`info` for the daemons).
 */
export const LOG_OPTIONS = {
  logLevel: {
    kind: "string",
    flag: "log-level",
    env: "AGORA_LOG_LEVEL",
    choices: LOG_LEVELS,
    placeholder: "LEVEL",
    help: "log level: fatal, error, warn, info, debug, trace or silent (default: info)",
  },
} as const satisfies OptionSpecs;

/**
 * The log level `AGORA_LOG_LEVEL` sets, if it sets one: for a process whose
 * level no option table of its own resolves (the short CLI commands, the bench).
 * @throws AgoraError INVALID_CONFIG naming the variable for a level pino does not have
 */
export function environmentLogLevel(env: Environment = process.env): string | undefined {
  return resolveOptions(LOG_OPTIONS, { env }).values.logLevel;
}

/** `--nats`, the URL(s) of the NATS servers. */
const NATS_URL_OPTIONS = {
  nats: {
    kind: "string",
    flag: "nats",
    env: "AGORA_NATS_URL",
    default: DEFAULT_NATS_URL,
    placeholder: "URL",
    help: "NATS server URL(s), comma-separated",
  },
} as const satisfies OptionSpecs;

/**
 * The NATS URL(s) of a connection given none: `AGORA_NATS_URL`, else
 * `DEFAULT_NATS_URL` (a blank variable counts as unset).
 */
export function environmentNatsUrl(env: Environment = process.env): string {
  const url = resolveOptions(NATS_URL_OPTIONS, { env }).values.nats.trim();
  return url === "" ? DEFAULT_NATS_URL : url;
}

/**
 * Where things are on this machine: settings only the environment gives (no
 * flag sets them). An empty variable counts as unset.
 */
export interface MachineSettings {
  /** `AGORA_HOME`: the directory of `agora dev`'s credentials is `<it>/dev` (default `~/.agora`). */
  agoraHome: string | undefined;
  /** `NATS_SERVER_BIN`: the nats-server binary to run instead of the one on `PATH`. */
  natsServerBin: string | undefined;
  /** `PATH`, split: the directories a program is looked for in. */
  searchPath: string[];
}

/** The {@link MachineSettings} of `env`. */
export function machineSettings(env: Environment = process.env): MachineSettings {
  const given = (name: string) => (env[name] === "" ? undefined : env[name]);
  return {
    agoraHome: given("AGORA_HOME"),
    natsServerBin: given("NATS_SERVER_BIN"),
    searchPath: (env.PATH ?? "").split(delimiter).filter((dir) => dir !== ""),
  };
}

/** Options every networked command has: the NATS URL, the subject prefix and the credentials. */
export const COMMON_OPTIONS = {
  ...NATS_URL_OPTIONS,
  prefix: {
    kind: "string",
    flag: "prefix",
    env: "AGORA_SUBJECT_PREFIX",
    default: DEFAULT_SUBJECT_PREFIX,
    placeholder: "PREFIX",
    help: "subject prefix of the cluster",
  },
  ...CREDENTIAL_OPTIONS,
} as const satisfies OptionSpecs;

/** Options of every long-running actor that serves `/metrics` and `/health` over HTTP. */
export const HTTP_OPTIONS = {
  httpPort: {
    kind: "integer",
    flag: "http-port",
    env: "AGORA_HTTP_PORT",
    min: 0,
    max: 65535,
    placeholder: "PORT",
    help: "serve /metrics (Prometheus), /health and, where the actor has one, /state over HTTP on this port; 0 picks a free one (the URL is logged); absent: no HTTP server",
  },
  httpHost: {
    kind: "string",
    flag: "http-host",
    env: "AGORA_HTTP_HOST",
    default: DEFAULT_HTTP_HOST,
    placeholder: "ADDRESS",
    help: "address the HTTP server binds (0.0.0.0 for every interface)",
  },
} as const satisfies OptionSpecs;

/**
 * CLI mistakes: a one-line message on stderr and a non-zero exit (2 for
 * usage, 1 for runtime failures); `--help` on every command exits 0.
 */
import test from "ava";
import { runAgora } from "./helpers.ts";

/** A URL where nothing listens. */
const NOWHERE = "nats://127.0.0.1:1";

/** `args` with `--nats NOWHERE` before a `--` (after it, flags are the task's command). */
function withNats(args: string[]): string[] {
  if (args[0] === "auth") return args; // writes files, connects nowhere: no --nats
  const at = args.indexOf("--");
  if (at === -1) return [...args, "--nats", NOWHERE];
  return [...args.slice(0, at), "--nats", NOWHERE, ...args.slice(at)];
}

function oneErrorLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  return lines.length === 1 && lines[0]!.startsWith("agora: ")
    ? lines[0]!
    : `not one line: ${stderr}`;
}

const usageCases: Array<[string, string[], RegExp]> = [
  ["an unknown command", ["frobnicate"], /unknown command "frobnicate"/],
  ["an unknown flag", ["run", "--frobnicate", "--", "true"], /--frobnicate/],
  ["a bad --resources", ["run", "--resources", "cpus:lots", "--", "true"], /--resources/],
  ["a negative resource", ["run", "--resources", "cpus:-1", "--", "true"], /--resources/],
  ["a bad --env", ["run", "--env", "NOEQUALS", "--", "true"], /--env/],
  ["a bad duration", ["run", "--kill-after", "soon", "--", "true"], /kill-after/],
  [
    "a bad --role",
    ["run", "--role", "a/..", "--", "true"],
    /^agora: run: --role: invalid role "a\/\.\."$/,
  ],
  ["run without a command", ["run"], /^agora: run: no command given \(usage: agora run/],
  ["run with an empty command", ["run", "--", ""], /^agora: run: the command is empty/],
  ["run with a blank command", ["run", "--", "  "], /^agora: run: the command is empty/],
  [
    "an unknown run flag",
    ["run", "--bogus"],
    /^agora: run: unknown option --bogus \(see --help\)$/,
  ],
  [
    "a negative --count",
    ["events", "--count", "-3"],
    /^agora: events: --count must be at least 1, got -3$/,
  ],
  [
    "a zero --from-seq",
    ["events", "--from-seq", "0"],
    /^agora: events: --from-seq must be at least 1, got 0$/,
  ],
  [
    "a zero --watch",
    ["top", "--watch", "0s"],
    /^agora: top: --watch must be at least 1ms, got 0s$/,
  ],
  [
    "too many --agents",
    ["dev", "--agents", "65"],
    /^agora: dev: --agents must be at most 64, got 65$/,
  ],
  [
    "a zero --masters",
    ["auth", "init", "--masters", "0"],
    /^agora: auth: --masters must be at least 1, got 0$/,
  ],
  [
    "a negative --timeout",
    ["state", "--timeout", "-1s"],
    /^agora: state: --timeout must not be negative, got -1s$/,
  ],
  [
    "a negative --kill-after",
    ["run", "--kill-after", "-5s", "--", "true"],
    /^agora: run: --kill-after must not be negative, got -5s$/,
  ],
  [
    "a zero --unreachable-timeout",
    ["run", "--unreachable-timeout", "0s", "--", "true"],
    /^agora: run: --unreachable-timeout must be at least 1ms, got 0s$/,
  ],
  ["a bad --agents", ["dev", "--agents", "many"], /--agents/],
  ["a bad agent --resources", ["agent", "--resources", "cpus:x"], /cpus:x|resource/],
  ["a stray argument", ["state", "extra"], /extra/],
];

for (const [what, args, message] of usageCases) {
  test.serial(`agora errors - ${what}: one line on stderr, exit 2`, async (t) => {
    const r = await runAgora(withNats(args));
    t.is(r.code, 2, r.stderr);
    t.regex(oneErrorLine(r.stderr), message);
    t.is(r.stdout, "");
  });
}

const LOG_LEVEL_MESSAGE = /must be fatal, error, warn, info, debug, trace or silent, got "bogus"$/;

for (const args of [
  ["state"],
  ["events"],
  ["run", "--", "true"],
  ["master"],
  ["policy", "serve"],
]) {
  test.serial(
    `agora errors - AGORA_LOG_LEVEL=bogus: ${args[0]} says so on one line, exit 2`,
    async (t) => {
      const r = await runAgora(withNats(args), { env: { AGORA_LOG_LEVEL: "bogus" } });
      t.is(r.code, 2, r.stderr);
      t.regex(
        oneErrorLine(r.stderr),
        new RegExp(`^agora: ${args[0]}: AGORA_LOG_LEVEL ${LOG_LEVEL_MESSAGE.source}`),
      );
      t.is(r.stdout, "");
    },
  );
}

for (const name of ["master", "agent", "ui"]) {
  test.serial(`agora errors - ${name} --log-level bogus says so on one line, exit 2`, async (t) => {
    const r = await runAgora(withNats([name, "--log-level", "bogus"]));
    t.is(r.code, 2, r.stderr);
    t.regex(
      oneErrorLine(r.stderr),
      new RegExp(`^agora: ${name}: --log-level ${LOG_LEVEL_MESSAGE.source}`),
    );
  });
}

for (const args of [["state"], ["events"], ["run", "--", "true"], ["master"], ["agent"]]) {
  test.serial(
    `agora errors - unreachable NATS: ${args[0]} says so on one line, exit 1`,
    async (t) => {
      const r = await runAgora(withNats(args), { timeoutMs: 30_000 });
      t.is(r.code, 1, r.stderr);
      t.regex(oneErrorLine(r.stderr), /NATS unreachable at nats:\/\/127\.0\.0\.1:1/);
    },
  );
}

test.serial("agora errors - no command prints the usage on stderr, exit 2", async (t) => {
  const r = await runAgora([]);
  t.is(r.code, 2);
  t.regex(r.stderr, /^Usage: agora <command>/);
});

test.serial("agora help - agora --help lists the commands, exit 0", async (t) => {
  const r = await runAgora(["--help"]);
  t.is(r.code, 0);
  for (const name of ["dev", "demo", "run", "state", "events", "master", "agent"]) {
    t.regex(r.stdout, new RegExp(`^  ${name} `, "m"));
  }
});

for (const name of ["dev", "demo", "run", "state", "events", "master", "agent"]) {
  test.serial(`agora help - agora ${name} --help exits 0 with its usage and options`, async (t) => {
    const r = await runAgora([name, "--help"]);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, new RegExp(`^Usage: agora ${name}`));
    t.regex(r.stdout, /--help/);
    t.is(r.stderr, "");
  });
}

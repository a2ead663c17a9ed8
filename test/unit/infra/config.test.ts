import test from "ava";
import { formatHelp, type OptionSpecs, resolveOptions } from "../../../infra/config.ts";
import { formatDuration, parseDuration } from "../../../infra/durations.ts";
import { ErrorCode, isAgoraError } from "../../../protocol/errors.ts";

const SPECS = {
  interval: {
    kind: "duration",
    flag: "interval",
    env: "AGORA_INTERVAL",
    default: 1000,
    help: "how often",
  },
  count: { kind: "integer", flag: "count", env: "AGORA_COUNT", default: 5, help: "how many" },
  name: { kind: "string", flag: "name", help: "a name" },
  verbose: { kind: "boolean", flag: "verbose", default: false, help: "talk more" },
  env: { kind: "strings", flag: "env", default: [] as string[], help: "K=V, repeatable" },
} as const satisfies OptionSpecs;

test("config - defaults, then environment, then flags, then overrides", (t) => {
  t.deepEqual(resolveOptions(SPECS, { env: {} }).values, {
    interval: 1000,
    count: 5,
    name: undefined,
    verbose: false,
    env: [],
  });
  const fromEnv = resolveOptions(SPECS, { env: { AGORA_INTERVAL: "250ms", AGORA_COUNT: "7" } });
  t.is(fromEnv.values.interval, 250);
  t.is(fromEnv.values.count, 7);
  const fromFlags = resolveOptions(SPECS, {
    env: { AGORA_INTERVAL: "250ms" },
    argv: ["--interval", "2s", "--verbose", "--env", "A=1", "--env", "B=2", "--name=x"],
  });
  t.is(fromFlags.values.interval, 2000);
  t.true(fromFlags.values.verbose);
  t.deepEqual(fromFlags.values.env, ["A=1", "B=2"]);
  t.is(fromFlags.values.name, "x");
  const overridden = resolveOptions(SPECS, { argv: ["--count", "3"], overrides: { count: 9 } });
  t.is(overridden.values.count, 9);
});

test("config - bad values and unknown flags are INVALID_CONFIG with a one-line message", (t) => {
  for (const argv of [["--count", "x"], ["--count", "1.5"], ["--interval", "soon"], ["--nope"]]) {
    const err = t.throws(() => resolveOptions(SPECS, { argv, env: {} }));
    t.true(isAgoraError(err, ErrorCode.InvalidConfig), argv.join(" "));
    t.false(err?.message.includes("\n"));
  }
  const err = t.throws(() => resolveOptions(SPECS, { env: { AGORA_COUNT: "many" } }));
  t.true(err?.message.includes("AGORA_COUNT"));
});

test("config - negative values reach the range check, parse errors say what is wrong", (t) => {
  const ranged = {
    ...SPECS,
    count: { ...SPECS.count, min: 1, max: 10 },
  } as const satisfies OptionSpecs;
  const message = (argv: string[], specs: OptionSpecs = ranged) =>
    t.throws(() => resolveOptions(specs, { argv, env: {}, allowPositionals: false }))?.message;
  t.is(message(["--count", "-3"]), "--count must be at least 1, got -3");
  t.is(message(["--count", "11"]), "--count must be at most 10, got 11");
  t.is(message(["--interval", "-5s"]), "--interval must not be negative, got -5s");
  t.is(message(["--count"]), "--count needs a value");
  t.is(message(["--bogus"]), "unknown option --bogus (see --help)");
  t.is(message(["extra"]), 'unexpected argument "extra" (see --help)');
  t.is(resolveOptions(ranged, { argv: ["--count=4"], env: {} }).values.count, 4);
  // after `--` nothing is joined or checked: it is the command
  const r = resolveOptions(ranged, { argv: ["--", "--count", "-3"], allowPositionals: true });
  t.deepEqual(r.positionals, ["--count", "-3"]);
});

test("config - positionals only when allowed, and --help is reported", (t) => {
  t.throws(() => resolveOptions(SPECS, { argv: ["extra"], env: {} }));
  const r = resolveOptions(SPECS, { argv: ["--help", "--", "echo", "hi"], allowPositionals: true });
  t.true(r.help);
  t.deepEqual(r.positionals, ["echo", "hi"]);
});

test("config - help lists every flag with its default and environment variable", (t) => {
  const help = formatHelp("agora thing [options]", "Does a thing.", SPECS);
  for (const spec of Object.values(SPECS)) t.true(help.includes(`--${spec.flag}`), spec.flag);
  t.true(help.includes("AGORA_INTERVAL"));
  t.true(help.includes("default 1000ms"));
});

test("durations - Mesos-style units, bare numbers are seconds", (t) => {
  t.is(parseDuration("500ms"), 500);
  t.is(parseDuration("5s"), 5000);
  t.is(parseDuration("5secs"), 5000);
  t.is(parseDuration("2m"), 120_000);
  t.is(parseDuration("1h"), 3_600_000);
  t.is(parseDuration("3"), 3000);
  t.is(parseDuration(0.5), 500);
  for (const bad of ["", "fast", "5 parsecs", "-1s"]) t.throws(() => parseDuration(bad));
  t.is(formatDuration(1000), "1s");
  t.is(formatDuration(250), "250ms");
  t.is(formatDuration(120_000), "2m");
});

test("config - a boolean flag takes =true / =false, not after --", (t) => {
  const off = resolveOptions(
    { ...SPECS, on: { kind: "boolean", flag: "on", default: true, help: "on" } },
    { env: {}, argv: ["--on=false", "--verbose=yes"], allowPositionals: true },
  );
  t.false(off.values.on);
  t.true(off.values.verbose);
  const rest = resolveOptions(SPECS, {
    env: {},
    argv: ["--", "--verbose=true"],
    allowPositionals: true,
  });
  t.false(rest.values.verbose);
  t.deepEqual(rest.positionals, ["--verbose=true"]);
  t.throws(() => resolveOptions(SPECS, { env: {}, argv: ["--verbose=maybe"] }));
});

test("config - a boolean takes --flag=false and --flag=true (a default-true one can be turned off)", (t) => {
  const specs = {
    on: { kind: "boolean", flag: "on", env: "AGORA_ON", default: true, help: "on by default" },
  } as const satisfies OptionSpecs;
  t.false(resolveOptions(specs, { argv: ["--on=false"], env: {} }).values.on);
  t.true(resolveOptions(specs, { argv: ["--on=true"], env: { AGORA_ON: "false" } }).values.on);
  t.true(resolveOptions(specs, { argv: ["--on"], env: { AGORA_ON: "0" } }).values.on);
  t.false(resolveOptions(specs, { argv: [], env: { AGORA_ON: "no" } }).values.on);
  const err = t.throws(() => resolveOptions(specs, { argv: ["--on=maybe"], env: {} }));
  t.is(err?.message, "--on: expected true or false, got maybe");
});

import test from "ava";
import type { OptionSpecs } from "../../../infra/config.ts";
import { checkConfig, configSchema, resolveConfig } from "../../../infra/config-schema.ts";
import { ErrorCode, isAgoraError } from "../../../protocol/errors.ts";

const SPECS = {
  interval: {
    kind: "duration",
    flag: "interval",
    env: "AGORA_INTERVAL",
    default: 1000,
    min: 1,
    help: "how often",
  },
  count: { kind: "integer", flag: "count", env: "AGORA_COUNT", default: 5, max: 10, help: "n" },
  mode: { kind: "string", flag: "mode", choices: ["fast", "slow"], default: "fast", help: "m" },
  name: { kind: "string", flag: "name", help: "a name" },
} as const satisfies OptionSpecs;

/** The message of the INVALID_CONFIG error `fn` throws. */
function message(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isAgoraError(err, ErrorCode.InvalidConfig) ? err.message : `not INVALID_CONFIG: ${err}`;
  }
  return undefined;
}

test("config schema - derived from the table: kinds, ranges, choices, optional without default", (t) => {
  const schema = configSchema(SPECS) as unknown as {
    properties: Record<string, Record<string, unknown>>;
    required: string[];
  };
  t.true(configSchema(SPECS) === configSchema(SPECS), "built once per table");
  t.like(schema.properties.interval, { type: "number", minimum: 1 });
  t.like(schema.properties.count, { type: "integer", maximum: 10 });
  t.deepEqual(
    ((schema.properties.mode?.anyOf ?? []) as Array<{ const: string }>).map((s) => s.const),
    ["fast", "slow"],
  );
  t.deepEqual([...schema.required].sort(), ["count", "interval", "mode"]);
});

test("config schema - values given in code are validated too, naming the flag", (t) => {
  t.is(
    message(() => resolveConfig(SPECS, { env: {}, overrides: { interval: 0 } })),
    "--interval must be at least 1ms, got 0ms",
  );
  t.is(
    message(() => resolveConfig(SPECS, { env: {}, overrides: { count: 2.5 } })),
    "--count: expected an integer, got 2.5",
  );
  t.is(
    message(() => resolveConfig(SPECS, { env: {}, overrides: { mode: "medium" } })),
    '--mode must be fast or slow, got "medium"',
  );
});

test("config schema - a value from the environment is named by its variable, as typed", (t) => {
  t.is(
    message(() => resolveConfig(SPECS, { env: { AGORA_INTERVAL: "0ms" } })),
    "AGORA_INTERVAL must be at least 1ms, got 0ms",
  );
  t.is(
    message(() => resolveConfig(SPECS, { env: { AGORA_COUNT: "11" } })),
    "AGORA_COUNT must be at most 10, got 11",
  );
  t.is(
    message(() => resolveConfig(SPECS, { env: { AGORA_COUNT: "11" }, argv: ["--count", "12"] })),
    "AGORA_COUNT must be at most 10, got 11",
    "each stage is checked as it is read",
  );
  t.is(
    message(() => resolveConfig(SPECS, { env: {}, argv: ["--mode", "medium"] })),
    '--mode must be fast or slow, got "medium"',
  );
});

test("config schema - checkConfig takes a configuration built in code", (t) => {
  const { values } = resolveConfig(SPECS, { env: {} });
  t.notThrows(() => checkConfig(SPECS, values));
  t.is(
    message(() => checkConfig(SPECS, { ...values, interval: Number.NaN })),
    "--interval: expected a duration, got NaNms",
  );
});

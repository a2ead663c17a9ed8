/**
 * The last stage of an actor's configuration: the resolved values
 * (defaults → `AGORA_*` → flags → values given in code) validated against a
 * TypeBox schema derived from the option table: kind → type, `min`/`max` →
 * `minimum`/`maximum`, `choices` → a union of literals, no default → optional.
 * A schema is built and compiled on first use and kept per table (nothing is
 * compiled at import time; the compiler is the one protocol/registry.ts loads
 * anyway, where `@sinclair/typebox/value` would add its whole index to every
 * actor's start). The first error becomes one line naming the flag, or the
 * variable the value came from.
 */
import { type TProperties, type TSchema, Type } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";
import { AgoraError, ErrorCode } from "../protocol/errors.ts";
import {
  type OptionSpec,
  type OptionSpecs,
  type Origins,
  optionName,
  outOfRange,
  type Resolved,
  type ResolveInput,
  resolveOptions,
  shownValue,
} from "./config.ts";

const schemas = new WeakMap<OptionSpecs, TSchema>();
const checkers = new WeakMap<OptionSpecs, TypeCheck<TSchema>>();

function range(spec: OptionSpec, floor?: number): { minimum?: number; maximum?: number } {
  const minimum = spec.min ?? floor;
  return {
    ...(minimum === undefined ? {} : { minimum }),
    ...(spec.max === undefined ? {} : { maximum: spec.max }),
  };
}

/** The TypeBox schema of one option's resolved value. */
export function optionSchema(spec: OptionSpec): TSchema {
  switch (spec.kind) {
    case "string":
      return spec.choices === undefined
        ? Type.String()
        : Type.Union(spec.choices.map((choice) => Type.Literal(choice)));
    case "duration":
      return Type.Number(range(spec, 0));
    case "number":
      return Type.Number(range(spec));
    case "integer":
      return Type.Integer(range(spec));
    case "bytes":
      return Type.Integer(range(spec, 0));
    case "boolean":
      return Type.Boolean();
    case "strings":
      return Type.Array(Type.String());
  }
}

/** The TypeBox schema of a resolved configuration, built once per option table. */
export function configSchema(specs: OptionSpecs): TSchema {
  let schema = schemas.get(specs);
  if (schema === undefined) {
    const properties: TProperties = {};
    for (const [key, spec] of Object.entries(specs)) {
      const value = optionSchema(spec);
      properties[key] = spec.default === undefined ? Type.Optional(value) : value;
    }
    schema = Type.Object(properties);
    schemas.set(specs, schema);
  }
  return schema;
}

const EXPECTED: Record<OptionSpec["kind"], string> = {
  string: "a string",
  duration: "a duration",
  number: "a number",
  integer: "an integer",
  bytes: "a size in bytes",
  boolean: "true or false",
  strings: "a list of strings",
};

/**
 * Checks a resolved configuration against the schema of its table.
 * @throws AgoraError INVALID_CONFIG with one line naming the flag (or variable) and the value
 */
export function checkConfig<S extends OptionSpecs>(
  specs: S,
  values: Resolved<S>,
  origins: Origins = {},
): void {
  let checker = checkers.get(specs);
  if (checker === undefined) {
    checker = TypeCompiler.Compile(configSchema(specs));
    checkers.set(specs, checker);
  }
  if (checker.Check(values)) return;
  const first = checker.Errors(values).First();
  const key = first?.path.split("/")[1] ?? "";
  const spec = specs[key];
  if (spec === undefined) {
    throw new AgoraError(
      ErrorCode.InvalidConfig,
      `unknown configuration key ${JSON.stringify(key)}${first ? `: ${first.message}` : ""}`,
    );
  }
  const value = (values as Record<string, unknown>)[key];
  const origin = origins[key];
  const message =
    outOfRange({ ...spec, min: spec.min ?? floorOf(spec) }, value, origin) ??
    `${optionName(spec, origin)}: expected ${EXPECTED[spec.kind]}, got ${shownValue(spec, value, origin)}`;
  throw new AgoraError(ErrorCode.InvalidConfig, message);
}

function floorOf(spec: OptionSpec): number | undefined {
  return spec.kind === "duration" || spec.kind === "bytes" ? 0 : undefined;
}

/**
 * Resolves an actor's configuration: defaults → environment → flags →
 * overrides, then validated against the table's TypeBox schema.
 * @throws AgoraError INVALID_CONFIG with a one-line message
 */
export function resolveConfig<S extends OptionSpecs>(
  specs: S,
  input: ResolveInput<S> = {},
): ReturnType<typeof resolveOptions<S>> {
  const resolved = resolveOptions(specs, input);
  checkConfig(specs, resolved.values, resolved.origins);
  return resolved;
}

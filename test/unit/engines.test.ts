/**
 * `npm ci` warns (EBADENGINE) when a package of the lock file wants a newer
 * Node than the one installing. agora promises `engines.node` of
 * package.json; every package it runs on (the lock's non-dev entries, the
 * `overrides` pins among them, e.g. `@nats-io/nuid`) must accept the oldest
 * Node of that promise.
 */
import { readFileSync } from "node:fs";
import test from "ava";

const ROOT = new URL("../../", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("package.json", ROOT), "utf8")) as {
  engines: { node: string };
};
const lock = JSON.parse(readFileSync(new URL("package-lock.json", ROOT), "utf8")) as {
  packages: Record<string, { dev?: boolean; optional?: boolean; engines?: { node?: string } }>;
};

type Version = [number, number, number];

function version(text: string): Version {
  const [major = 0, minor = 0, patch = 0] = text
    .replace(/\.(x|\*)/g, "")
    .split(".")
    .map(Number);
  return [major, minor, patch];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Whether `v` satisfies one comparator: `>=18`, `<13`, `^20.19.0`, `20`, `18.x`. */
function satisfiesOne(v: Version, comparator: string): boolean {
  const match = /^(>=|<=|>|<|\^|~)?(.+)$/.exec(comparator);
  if (match === null) throw new Error(`cannot read the range ${comparator}`);
  const [, op, rest = ""] = match;
  const w = version(rest);
  const parts = rest.replace(/\.(x|\*)/g, "").split(".").length;
  switch (op) {
    case ">=":
      return compare(v, w) >= 0;
    case ">":
      return compare(v, w) > 0;
    case "<=":
      return compare(v, w) <= 0;
    case "<":
      return compare(v, w) < 0;
    case "^":
      return v[0] === w[0] && compare(v, w) >= 0;
    case "~":
      return v[0] === w[0] && v[1] === w[1] && compare(v, w) >= 0;
    default:
      // `20` or `20.x`: that major (and minor, when given)
      return v[0] === w[0] && (parts < 2 || v[1] === w[1]);
  }
}

/** Whether `v` satisfies a Node range of package.json `engines` (`||` of space-joined comparators). */
function satisfies(v: Version, range: string): boolean {
  return range.split("||").some((alternative) =>
    alternative
      .trim()
      .replace(/(>=|<=|>|<|\^|~)\s+/g, "$1")
      .split(/\s+/)
      .every((comparator) => satisfiesOne(v, comparator)),
  );
}

/** The oldest Node of a `>=N` promise. */
function floor(range: string): Version {
  const match = /^>=\s*(\S+)$/.exec(range.trim());
  if (match?.[1] === undefined) throw new Error(`engines.node ${range} is not a >= range`);
  return version(match[1]);
}

test("engines - the range reader agrees with npm's on the forms of the lock file", (t) => {
  t.true(satisfies([20, 0, 0], ">= 18.x"));
  t.false(satisfies([20, 0, 0], ">=22"));
  t.false(satisfies([20, 0, 0], "^20.19.0 || >=22.12.0"));
  t.true(satisfies([20, 19, 1], "^20.19.0 || >=22.12.0"));
  t.true(satisfies([20, 0, 0], "18 || 20 || >=22"));
  t.false(satisfies([21, 0, 0], "18 || 20 || >=22"));
  t.true(satisfies([14, 0, 0], ">=10 <11 || >=12 <13 || >=14"));
  t.false(satisfies([11, 0, 0], ">=10 <11 || >=12 <13 || >=14"));
});

test("engines - every package agora runs on accepts the oldest Node of engines.node", (t) => {
  const oldest = floor(manifest.engines.node);
  const wanting = Object.entries(lock.packages)
    .filter(([name, entry]) => name !== "" && entry.dev !== true && entry.optional !== true)
    .filter(([, entry]) => entry.engines?.node !== undefined)
    .filter(([, entry]) => !satisfies(oldest, entry.engines!.node!))
    .map(([name, entry]) => `${name} wants node ${entry.engines!.node}`);
  t.deepEqual(wanting, [], `engines.node is ${manifest.engines.node}`);
  t.true(
    Object.keys(lock.packages).some((name) => name.endsWith("/@nats-io/nuid")),
    "the lock file holds @nats-io/nuid",
  );
});

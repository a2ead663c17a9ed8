/**
 * The "why not?" scenario (examples/scenarios/why-not.json): `explain` steps
 * print the master's own reasons — a quota limit, decline filters with their
 * expiry, suppression — with the offers that led there.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import { parseScenario } from "../../../simulate/scenario.ts";
import { simulate } from "../../../simulate/simulator.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

test("simulate - why-not: explain lines name the quota limit, the filters and suppression", (t) => {
  const text = readFileSync(path.join(root, "examples/scenarios/why-not.json"), "utf8");
  const lines = simulate(parseScenario(text));
  const explains = lines.filter((l) => l.event === "explain");
  const filtered =
    "filtered: 2 agents declined with a filter (the last expires at 1970-01-01T00:01:01.000Z)";
  t.deepEqual(explains, [
    {
      t: 2000,
      event: "explain",
      framework: "dev1",
      roles: [
        {
          role: "dev",
          share: 0.2857,
          offersOutstanding: 1,
          reasons: [
            "quotaLimit: 2 agents held back by the quota limit of dev (limit cpus:2;mem:2048, consumed cpus:2;mem:2048)",
          ],
        },
      ],
    },
    {
      t: 2000,
      event: "explain",
      framework: "web",
      roles: [{ role: "web", share: 0, offersOutstanding: 0, reasons: [filtered] }],
    },
    {
      t: 2000,
      event: "explain",
      framework: "db",
      roles: [
        {
          role: "prod",
          share: 0,
          offersOutstanding: 0,
          reasons: ["suppressed: offers for prod are suppressed (revive)"],
        },
      ],
    },
    {
      t: 2000,
      event: "explain",
      framework: "api",
      roles: [{ role: "web", share: 0, offersOutstanding: 0, reasons: [filtered] }],
    },
  ]);
  // what led there: web and api declined n2 and n3 with a 60 s filter, each once
  const declines = lines.flatMap((l) =>
    l.event === "decline" && l.role === "web" ? [`${l.t} ${l.framework} ${l.agent}`] : [],
  );
  t.deepEqual(declines, ["0 api n2", "0 web n3", "1000 web n2", "1000 api n3"]);
});

test("simulate - an explain step for an unknown framework is refused with its path", (t) => {
  const text = JSON.stringify({
    until: "1s",
    steps: [{ at: "0s", do: "explain", framework: "nope" }],
  });
  t.throws(() => parseScenario(text), { message: 'steps[0].framework: unknown framework "nope"' });
});

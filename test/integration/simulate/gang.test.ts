/**
 * Gang placement in `agora simulate`, through the master's own gang,
 * allocation and accept code (examples/scenarios/gang.json): ten agents full
 * of small jobs; a gang of ten members, one per agent, holds what the small
 * jobs free until its whole set fits and is offered it in one event; a second
 * gang that cannot fit times out and releases what it held; a third, during
 * its framework's back-off, holds nothing. Every line is checked, and the
 * documented bound on what small jobs wait.
 */
import test from "ava";
import type { SimLine } from "../../../simulate/simulator.ts";
import { ev, runExample } from "./helpers.ts";

const agents = Array.from({ length: 10 }, (_, i) => `n${i + 1}`);
const small = { cpus: 1, mem: 1024 };
const member = { cpus: 2, mem: 2048 };
const smallOn = (t: number, event: string, names: string[]) =>
  names.map((a) => ev(t, event, "small", "small", a, small));

test("gang - held as the small jobs free up, offered whole in one cycle; a gang that cannot fit times out", (t) => {
  const lines = runExample("gang");
  const expected = [
    // t=0: the small jobs fill every agent (4 tasks of 1 cpu each)
    ...agents.map((a) => ev(0, "offer", "small", "small", a, { cpus: 4, mem: 4096 })),
    ...agents.flatMap((a) =>
      Array.from({ length: 4 }, () => ev(0, "launch", "small", "small", a, small)),
    ),
    // t=1s: gang g1 (10 × cpus:2;mem:2048, one per agent) declared
    // t=2s: one small task per agent ends: g1 holds the freed cpu of each, nobody is offered it
    ...smallOn(2000, "return", agents),
    // t=3s: another ends per agent: the whole set fits, offered in one event and launched
    ...smallOn(3000, "return", agents),
    ...agents.map((a) => ev(3000, "offer", "train", "train", a, member, "g1")),
    ...agents.map((a) => ev(3000, "launch", "train", "train", a, member, "g1")),
    // t=4s: gang g2 (same shape, timeout 3s); t=5s: four small tasks end, g2 holds their cpus
    ...smallOn(5000, "return", ["n1", "n2", "n3", "n4"]),
  ];
  const explainLine = lines.find((l) => l.event === "explain");
  t.deepEqual(lines.slice(0, expected.length), expected);
  // t=6s: agora explain says why small gets nothing
  t.like(explainLine, { t: 6000, event: "explain", framework: "small" });
  t.regex(
    (explainLine as { roles: Array<{ reasons: string[] }> }).roles[0]!.reasons[0]!,
    /^heldForGang: held for gang g2 of framework train on 4 agent\(s\): cpus:4;mem:4096 /,
  );
  const rest = lines.slice(expected.length + 1, -1);
  t.deepEqual(rest, [
    // t=7s: g2 times out; what it held goes to the small jobs at once
    {
      t: 7000,
      event: "gangTimeout",
      framework: "train",
      gang: "g2",
      reason: "the whole set of 10 members did not fit within 3 s (held on 4 agents); released",
    },
    ...smallOn(7000, "offer", ["n1", "n2", "n3", "n4"]),
    ...smallOn(7000, "launch", ["n1", "n2", "n3", "n4"]),
    // t=8s: g3 declared during train's back-off (5s, until 12s): what n5 frees at 9s is not held
    ...smallOn(9000, "return", ["n5"]),
    ...smallOn(9000, "offer", ["n5"]),
    ...smallOn(9000, "launch", ["n5"]),
    // t=13s: after the back-off g3 holds again
    ...smallOn(13000, "return", ["n6"]),
  ]);
});

/**
 * The bound of docs/gang.md: what a small job frees is offered to the small
 * jobs again within the gang timeout (plus one allocation interval), unless
 * a gang's whole set used it.
 */
function checkBound(
  t: import("ava").ExecutionContext,
  lines: SimLine[],
  timeoutMs: number,
  until: number,
) {
  const events = lines.filter((l) => l.event === "return" || l.event === "offer") as Array<{
    t: number;
    event: string;
    framework: string;
    agent: string;
    gang?: string;
  }>;
  let checked = 0;
  for (const freed of events.filter((e) => e.event === "return" && e.framework === "small")) {
    const by = freed.t + timeoutMs + 1000;
    if (by > until) continue;
    const next = events.find(
      (e) => e.event === "offer" && e.agent === freed.agent && e.t >= freed.t && e.t <= by,
    );
    t.truthy(next, `what small freed on ${freed.agent} at ${freed.t} ms waited beyond ${by} ms`);
    checked += 1;
  }
  t.true(checked > 0);
}

test("gang - small jobs wait at most the gang timeout for what they free", (t) => {
  checkBound(t, runExample("gang"), 3000, 14_000);
});

test("gang - with gangs that never fit and keep asking, small jobs still wait at most timeout per timeout + backoff", (t) => {
  const lines = runExample("gang", (json) => {
    const steps = json.steps as Array<Record<string, unknown>>;
    // a gang larger than the cluster, asked again as soon as it times out, and small jobs ending every second
    json.until = "40s";
    json.steps = [
      ...steps.slice(0, 1),
      ...Array.from({ length: 8 }, (_, i) => ({
        at: `${1 + i * 5}s`,
        do: "requestGang",
        framework: "train",
        gang: `big${i}`,
        members: 11,
        resources: "cpus:2;mem:2048",
        spread: true,
        timeout: "3s",
      })),
      ...Array.from({ length: 36 }, (_, i) => ({
        at: `${2 + i}s`,
        do: "finishTasks",
        framework: "small",
        agent: `n${(i % 10) + 1}`,
        count: 1,
      })),
    ];
    json.gangBackoff = "2s";
  });
  t.is(lines.filter((l) => l.event === "gangTimeout").length, 8);
  // the gangs did hold: some of what small freed waited for a timeout
  const waited = lines.filter(
    (l) => l.event === "offer" && l.framework === "small" && l.t % 5000 === 4000 && l.t > 0,
  );
  t.true(waited.length > 0);
  t.false(lines.some((l) => l.event === "launch" && l.framework === "train"));
  checkBound(t, lines, 3000, 40_000);
});

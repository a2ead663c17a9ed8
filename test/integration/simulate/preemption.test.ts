/**
 * Preemption and quota borrowing in `agora simulate`, through the master's
 * own allocation, preemption and kill code (examples/scenarios/preemption.json
 * and borrowing.json): every line is checked.
 */
import test from "ava";
import { parseScenario } from "../../../simulate/scenario.ts";
import type { SimLine } from "../../../simulate/simulator.ts";
import { ev, runExample } from "./helpers.ts";

const events = (lines: SimLine[]) => lines.filter((l) => l.event !== "summary");
const task = { cpus: 2, mem: 1024 };

test("preemption - a demand of higher priority kills the newest low-priority tasks of one agent", (t) => {
  t.deepEqual(events(runExample("preemption")), [
    ev(0, "offer", "batch", "batch", "n1", { cpus: 4, mem: 4096 }),
    ev(0, "offer", "batch", "batch", "n2", { cpus: 4, mem: 4096 }),
    ev(0, "launch", "batch", "batch", "n1", task),
    ev(0, "launch", "batch", "batch", "n1", task),
    ev(0, "decline", "batch", "batch", "n1", { mem: 2048 }),
    ev(0, "launch", "batch", "batch", "n2", task),
    ev(0, "launch", "batch", "batch", "n2", task),
    ev(0, "decline", "batch", "batch", "n2", { mem: 2048 }),
    // what is free serves no demand of 3 cpus
    ev(2000, "offer", "web", "prod", "n1", { mem: 2048 }),
    ev(2000, "offer", "web", "prod", "n2", { mem: 2048 }),
    ev(2000, "decline", "web", "prod", "n1", { mem: 2048 }),
    ev(2000, "decline", "web", "prod", "n2", { mem: 2048 }),
    // both tasks of n1 go (3 cpus need two), then web is offered the agent and launches
    ev(2000, "preempt", "batch", "batch", "n1", task),
    ev(2000, "preempt", "batch", "batch", "n1", task),
    ev(2000, "offer", "web", "prod", "n1", { cpus: 4, mem: 4096 }),
    ev(2000, "launch", "web", "prod", "n1", { cpus: 3, mem: 2048 }),
    ev(2000, "decline", "web", "prod", "n1", { cpus: 1, mem: 2048 }),
    // the demand is served: nothing more is preempted, batch gets what is left
    ev(3000, "offer", "batch", "batch", "n1", { cpus: 1, mem: 2048 }),
    ev(3000, "decline", "batch", "batch", "n1", { cpus: 1, mem: 2048 }),
    ev(5000, "offer", "batch", "batch", "n2", { mem: 2048 }),
    ev(5000, "decline", "batch", "batch", "n2", { mem: 2048 }),
  ]);
});

test("preemption - off (the default), the same demand kills nothing", (t) => {
  const lines = runExample("preemption", (json) => {
    json.preemption = undefined;
  });
  t.false(lines.some((l) => l.event === "preempt"));
  t.false(lines.some((l) => l.event === "launch" && l.framework === "web"));
});

test("preemption - switched on by a step, it preempts from then on", (t) => {
  const lines = runExample("preemption", (json) => {
    json.preemption = false;
    (json.steps as unknown[]).push({ at: "4s", do: "setPreemption", enabled: true });
  });
  const preempted = lines.filter((l) => l.event === "preempt");
  t.deepEqual(
    preempted.map((l) => ("t" in l ? l.t : -1)),
    [4000, 4000],
  );
  t.true(lines.some((l) => l.event === "launch" && l.framework === "web" && l.t === 4000));
});

test("borrowing - b borrows a's lent guarantee up to its borrowing limit; a reclaims it", (t) => {
  t.deepEqual(events(runExample("borrowing")), [
    // a's guarantee (4 cpus) is lent: b gets 6 cpus (its borrowingLimit), not only the 4 unguaranteed
    ev(0, "offer", "b", "team/b", "n1", { cpus: 4, mem: 4096 }),
    ev(0, "offer", "b", "team/b", "n2", { cpus: 2, mem: 2048 }),
    ev(0, "launch", "b", "team/b", "n1", task),
    ev(0, "launch", "b", "team/b", "n1", task),
    ev(0, "decline", "b", "team/b", "n1", { mem: 2048 }),
    ev(0, "launch", "b", "team/b", "n2", task),
    ev(0, "decline", "b", "team/b", "n2", { mem: 1024 }),
    ev(1000, "offer", "b", "team/b", "n2", { mem: 3072 }),
    ev(1000, "decline", "b", "team/b", "n2", { mem: 3072 }),
    // a's demand returns: one task fits in what is free, the other reclaims a borrowed task
    ev(3000, "offer", "a", "team/a", "n1", { mem: 2048 }),
    ev(3000, "offer", "a", "team/a", "n2", { cpus: 2, mem: 3072 }),
    ev(3000, "decline", "a", "team/a", "n1", { mem: 2048 }),
    ev(3000, "launch", "a", "team/a", "n2", task),
    ev(3000, "decline", "a", "team/a", "n2", { mem: 2048 }),
    ev(3000, "preempt", "b", "team/b", "n1", task),
    ev(3000, "offer", "a", "team/a", "n1", { cpus: 2, mem: 3072 }),
    ev(3000, "launch", "a", "team/a", "n1", task),
    ev(3000, "decline", "a", "team/a", "n1", { mem: 2048 }),
    ev(5000, "offer", "b", "team/b", "n1", { mem: 2048 }),
    ev(5000, "decline", "b", "team/b", "n1", { mem: 2048 }),
    ev(6000, "offer", "b", "team/b", "n2", { mem: 2048 }),
    ev(6000, "decline", "b", "team/b", "n2", { mem: 2048 }),
  ]);
});

test("borrowing - without a lending limit a's guarantee is held back (Mesos): b gets 4 cpus", (t) => {
  const lines = runExample("borrowing", (json) => {
    const roles = json.roles as Record<string, { quota: Record<string, string> }>;
    delete roles["team/a"]!.quota.lendingLimit;
  });
  const launched = lines.filter((l) => l.event === "launch" && l.framework === "b" && l.t === 0);
  t.is(launched.length, 2);
});

test("scenario errors - a demand must be unreserved scalars; setPreemption takes a boolean", (t) => {
  const base = { until: "1s", frameworks: [{ id: "f", behaviour: { accept: "all" } }] };
  t.throws(
    () =>
      parseScenario(
        JSON.stringify({
          ...base,
          steps: [{ at: 0, do: "request", framework: "f", resources: "ports:[1-2]" }],
        }),
      ),
    { message: /steps\[0\]\.resources: a demand is unreserved scalars/ },
  );
  t.throws(
    () =>
      parseScenario(
        JSON.stringify({ ...base, steps: [{ at: 0, do: "setPreemption", enabled: 1 }] }),
      ),
    { message: /steps\[0\]\.enabled/ },
  );
});

test("borrowing - explain says what a role may still borrow (its cpus are at the borrowing limit)", (t) => {
  const lines = runExample("borrowing", (json) => {
    (json.steps as unknown[]).push({ at: "2s", do: "explain", framework: "b" });
  });
  const explained = lines.find((l) => l.event === "explain");
  t.truthy(explained);
  const reasons = explained?.event === "explain" ? explained.roles[0]!.reasons : [];
  t.true(
    reasons.some((r) =>
      r.startsWith(
        "borrowing: may borrow mem:3072 of its cohort's unused guarantee (lendingLimit; borrowingLimit cpus:6;mem:6144)",
      ),
    ),
    reasons.join("\n"),
  );
});

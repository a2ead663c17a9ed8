/**
 * `agora simulate` end to end: each scenario of test/fixtures/scenarios runs
 * through the master's allocation code on a virtual clock, and every line it
 * prints is checked. One test spawns the CLI; the others call the simulator.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test from "ava";
import type { ResourcesJson } from "../../../protocol/common.ts";
import { parseScenario } from "../../../simulate/scenario.ts";
import { type SimLine, simulate } from "../../../simulate/simulator.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const fixture = (name: string) => path.join(root, "test/fixtures/scenarios", `${name}.json`);

function run(name: string, policy?: string): SimLine[] {
  return simulate(parseScenario(readFileSync(fixture(name), "utf8")), { policy });
}

type Kind = "offer" | "launch" | "decline" | "rescind" | "return";

/** An expected event line. */
function ev(
  t: number,
  event: Kind,
  framework: string,
  role: string,
  agent: string,
  resources: ResourcesJson,
) {
  return { t, event, framework, role, agent, resources };
}

const events = (lines: SimLine[]) => lines.filter((l) => l.event !== "summary");
const summaryOf = (lines: SimLine[]) => {
  const last = lines.at(-1);
  if (last?.event !== "summary") throw new Error("no summary last");
  return last;
};

test("simulate - the DRF paper: A ⟨1 cpu, 4 GB⟩ runs 3 tasks, B ⟨3 cpus, 1 GB⟩ 2, both at 2/3", (t) => {
  const lines = run("drf-paper");
  const node = "node";
  t.deepEqual(events(lines), [
    ev(0, "offer", "A", "a", node, { cpus: 9, mem: 18432 }),
    ev(0, "launch", "A", "a", node, { cpus: 1, mem: 4096 }),
    ev(0, "decline", "A", "a", node, { cpus: 8, mem: 14336 }),
    ev(1000, "offer", "B", "b", node, { cpus: 8, mem: 14336 }),
    ev(1000, "launch", "B", "b", node, { cpus: 3, mem: 1024 }),
    ev(1000, "decline", "B", "b", node, { cpus: 5, mem: 13312 }),
    ev(2000, "offer", "A", "a", node, { cpus: 5, mem: 13312 }),
    ev(2000, "launch", "A", "a", node, { cpus: 1, mem: 4096 }),
    ev(2000, "decline", "A", "a", node, { cpus: 4, mem: 9216 }),
    ev(3000, "offer", "B", "b", node, { cpus: 4, mem: 9216 }),
    ev(3000, "launch", "B", "b", node, { cpus: 3, mem: 1024 }),
    ev(3000, "decline", "B", "b", node, { cpus: 1, mem: 8192 }),
    ev(4000, "offer", "A", "a", node, { cpus: 1, mem: 8192 }),
    ev(4000, "launch", "A", "a", node, { cpus: 1, mem: 4096 }),
    ev(4000, "decline", "A", "a", node, { mem: 4096 }),
    // equal shares (2/3): fewer allocations first, then the name
    ev(5000, "offer", "B", "b", node, { mem: 4096 }),
    ev(5000, "decline", "B", "b", node, { mem: 4096 }),
    ev(6000, "offer", "A", "a", node, { mem: 4096 }),
    ev(6000, "decline", "A", "a", node, { mem: 4096 }),
  ]);
  t.deepEqual(summaryOf(lines), {
    event: "summary",
    frameworks: {
      A: { tasks: 3, allocated: { cpus: 3, mem: 12288 }, dominantShare: 2 / 3 },
      B: { tasks: 2, allocated: { cpus: 6, mem: 2048 }, dominantShare: 2 / 3 },
    },
    roles: {
      a: { allocated: { cpus: 3, mem: 12288 }, dominantShare: 2 / 3 },
      b: { allocated: { cpus: 6, mem: 2048 }, dominantShare: 2 / 3 },
    },
  });
});

test("simulate - the CLI prints the same JSON lines and exits 0", async (t) => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [path.join(root, "bin/agora.js"), "simulate", fixture("drf-paper")],
    { cwd: root },
  );
  const printed = stdout.trim().split("\n");
  t.deepEqual(
    printed,
    run("drf-paper").map((l) => JSON.stringify(l)),
  );
  t.is(
    printed[0],
    '{"t":0,"event":"offer","framework":"A","role":"a","agent":"node","resources":{"cpus":9,"mem":18432}}',
  );
});

test("simulate - weights: a role of weight 2 gets twice the agents", (t) => {
  const lines = run("weights");
  const one = { cpus: 1, mem: 1024 };
  t.deepEqual(events(lines), [
    ev(0, "offer", "A", "a", "n1", one),
    ev(0, "offer", "A", "a", "n3", one),
    ev(0, "offer", "A", "a", "n5", one),
    ev(0, "offer", "A", "a", "n6", one),
    ev(0, "offer", "B", "b", "n2", one),
    ev(0, "offer", "B", "b", "n4", one),
  ]);
  t.deepEqual(summaryOf(lines).roles, {
    a: { allocated: { cpus: 4, mem: 4096 }, dominantShare: 4 / 6 },
    b: { allocated: { cpus: 2, mem: 2048 }, dominantShare: 2 / 6 },
  });
});

test("simulate - decline filters: refuseSeconds, the 5 s default, then fewer allocations first", (t) => {
  const all = { cpus: 4, mem: 4096 };
  t.deepEqual(events(run("filters")), [
    ev(0, "offer", "x", "*", "n1", all),
    ev(0, "decline", "x", "*", "n1", all),
    ev(1000, "offer", "y", "*", "n1", all),
    ev(1000, "decline", "y", "*", "n1", all),
    // x's 3 s filter ends at 3 s; y's default 5 s filter at 6 s
    ev(3000, "offer", "x", "*", "n1", all),
    ev(3000, "decline", "x", "*", "n1", all),
    ev(6000, "offer", "y", "*", "n1", all),
    ev(6000, "decline", "y", "*", "n1", all),
    ev(7000, "offer", "x", "*", "n1", all),
    ev(7000, "decline", "x", "*", "n1", all),
  ]);
});

test("simulate - suppress stops offers to a framework; revive allocates at once", (t) => {
  const all = { cpus: 2, mem: 2048 };
  t.deepEqual(events(run("suppress-revive")), [
    ev(0, "offer", "x", "a", "n1", all),
    ev(0, "decline", "x", "a", "n1", all),
    ev(1000, "offer", "y", "b", "n1", all),
    ev(1000, "decline", "y", "b", "n1", all),
    ev(2000, "offer", "x", "a", "n1", all),
    ev(2000, "decline", "x", "a", "n1", all),
    ev(3000, "offer", "y", "b", "n1", all),
    ev(3000, "decline", "y", "b", "n1", all),
    ev(4000, "offer", "y", "b", "n1", all),
    ev(4000, "decline", "y", "b", "n1", all),
    ev(4500, "offer", "x", "a", "n1", all),
    ev(4500, "decline", "x", "a", "n1", all),
    ev(5000, "offer", "x", "a", "n1", all),
    ev(5000, "decline", "x", "a", "n1", all),
    ev(6000, "offer", "y", "b", "n1", all),
    ev(6000, "decline", "y", "b", "n1", all),
  ]);
});

test("simulate - a quota guarantee is held back from other roles until its role claims it", (t) => {
  const lines = run("quota-guarantee");
  const agent = { cpus: 2, mem: 2048 };
  t.deepEqual(events(lines), [
    ev(0, "offer", "dev", "dev", "n1", agent),
    ev(0, "offer", "dev", "dev", "n2", agent),
    ev(2000, "offer", "prod", "prod", "n3", agent),
    ev(2000, "offer", "prod", "prod", "n4", agent),
  ]);
  t.is(summaryOf(lines).roles.prod?.dominantShare, 0.5);
});

test("simulate - a quota limit chops offers; the rest goes to other roles", (t) => {
  t.deepEqual(events(run("quota-limit")), [
    ev(0, "offer", "batch", "batch", "n1", { cpus: 2, mem: 2048 }),
    ev(0, "offer", "batch", "batch", "n2", { cpus: 1, mem: 2048 }),
    ev(2000, "offer", "web", "web", "n2", { cpus: 1 }),
  ]);
});

test("simulate - reserved resources are offered only to their role", (t) => {
  t.deepEqual(events(run("reservations")), [
    ev(0, "offer", "batch", "batch", "n1", { cpus: 2, mem: 2048 }),
    ev(0, "offer", "web", "web", "n1", { "cpus(web)": 2, "mem(web)": 1024 }),
    ev(0, "offer", "web", "web", "n2", { "cpus(web)": 1, "mem(web)": 512 }),
  ]);
});

test("simulate - nested roles share their parent's fair share; a parent's reservation goes to sub-roles", (t) => {
  const lines = run("nested-roles");
  const one = { cpus: 1, mem: 1024 };
  t.deepEqual(events(lines), [
    ev(0, "offer", "batch", "eng/batch", "n1", one),
    ev(0, "offer", "ops", "ops", "n2", one),
    ev(0, "offer", "ops", "ops", "n4", one),
    ev(0, "offer", "web", "eng/web", "n3", one),
    ev(1000, "offer", "batch", "eng/batch", "n5", { "cpus(eng)": 1, "mem(eng)": 1024 }),
  ]);
  t.deepEqual(summaryOf(lines).roles.eng, {
    allocated: { cpus: 2, "cpus(eng)": 1, mem: 2048, "mem(eng)": 1024 },
    dominantShare: 0.6,
  });
});

test("simulate - strict priority: the high role takes everything first, the low one the leftovers", (t) => {
  const lines = run("priority");
  t.deepEqual(events(lines), [
    ev(0, "offer", "hi", "hi", "n1", { cpus: 2, mem: 2048 }),
    ev(0, "offer", "hi", "hi", "n2", { cpus: 2, mem: 2048 }),
    ev(0, "launch", "hi", "hi", "n1", { cpus: 1, mem: 512 }),
    ev(0, "launch", "hi", "hi", "n1", { cpus: 1, mem: 512 }),
    ev(0, "decline", "hi", "hi", "n1", { mem: 1024 }),
    ev(0, "launch", "hi", "hi", "n2", { cpus: 1, mem: 512 }),
    ev(0, "decline", "hi", "hi", "n2", { cpus: 1, mem: 1536 }),
    ev(1000, "offer", "lo", "lo", "n1", { mem: 1024 }),
    ev(1000, "offer", "lo", "lo", "n2", { cpus: 1, mem: 1536 }),
  ]);
  // the same scenario under DRF: the second agent goes to the poorer low role at once
  const drfOffers = events(run("priority", "drf")).filter((l) => l.t === 0 && l.event === "offer");
  t.deepEqual(drfOffers, [
    ev(0, "offer", "hi", "hi", "n1", { cpus: 2, mem: 2048 }),
    ev(0, "offer", "lo", "lo", "n2", { cpus: 2, mem: 2048 }),
  ]);
});

test("simulate - steps: finish, decline with a filter, return, remove an agent (rescind) and a framework", (t) => {
  const task = { cpus: 1, mem: 512 };
  t.deepEqual(events(run("steps")), [
    ev(0, "offer", "hold", "*", "n1", { cpus: 2, mem: 2048 }),
    ev(0, "offer", "run", "*", "n2", { cpus: 2, mem: 2048 }),
    ev(0, "launch", "run", "*", "n2", task),
    ev(0, "launch", "run", "*", "n2", task),
    ev(0, "decline", "run", "*", "n2", { mem: 1024 }),
    ev(1000, "offer", "hold", "*", "n2", { mem: 1024 }),
    ev(1500, "return", "run", "*", "n2", task),
    ev(2000, "offer", "run", "*", "n2", task),
    ev(2000, "launch", "run", "*", "n2", task),
    ev(3000, "decline", "hold", "*", "n1", { cpus: 2, mem: 2048 }),
    ev(3000, "offer", "run", "*", "n1", { cpus: 2, mem: 2048 }),
    ev(3000, "launch", "run", "*", "n1", task),
    ev(3000, "launch", "run", "*", "n1", task),
    ev(3000, "decline", "run", "*", "n1", { mem: 1024 }),
    ev(4000, "return", "run", "*", "n2", task),
    ev(4000, "return", "run", "*", "n2", task),
    ev(4000, "offer", "hold", "*", "n2", { cpus: 2, mem: 1024 }),
    ev(5000, "rescind", "hold", "*", "n2", { mem: 1024 }),
    ev(5000, "rescind", "hold", "*", "n2", { cpus: 2, mem: 1024 }),
    ev(6000, "return", "run", "*", "n1", task),
    ev(6000, "return", "run", "*", "n1", task),
  ]);
});

test("simulate - examples/scenarios run", (t) => {
  for (const name of ["drf-paper", "quota"]) {
    const file = path.join(root, "examples/scenarios", `${name}.json`);
    const lines = simulate(parseScenario(readFileSync(file, "utf8")));
    t.is(lines.at(-1)?.event, "summary", name);
  }
});

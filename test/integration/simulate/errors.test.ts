/**
 * `agora simulate` with invalid scenarios: every error names the JSON path (or
 * the line of a syntax error) and the CLI exits non-zero; and the steps that
 * change the cluster's settings while it runs.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { ACTION_NAMES, parseScenario, resolveScenario } from "../../../simulate/scenario.ts";
import { type SimLine, simulate } from "../../../simulate/simulator.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const base = {
  until: "2s",
  agents: [{ id: "n1", resources: "cpus:2;mem:2048" }],
  frameworks: [{ id: "f", roles: ["a"], behaviour: { accept: "all" } }],
};

function failure(scenario: unknown): string {
  try {
    simulate(resolveScenario(scenario));
  } catch (err) {
    if (!(err instanceof AgoraError)) throw err;
    if (err.code !== ErrorCode.InvalidConfig) throw err;
    return err.message;
  }
  throw new Error("the scenario was accepted");
}

test("simulate errors - each names the field at fault", (t) => {
  const cases: Array<[unknown, string]> = [
    [{ ...base, steps: [{ at: "1s", do: "explode" }] }, 'steps[0].do: unknown action "explode"'],
    [{ agents: [] }, "until: "],
    [{ ...base, until: "soon" }, 'until: invalid duration "soon"'],
    [{ ...base, colour: "red" }, "colour: unknown field"],
    [
      { ...base, agents: [{ id: "n1", resources: "cpus:two" }] },
      'agents[0].resources: invalid resource "cpus:two"',
    ],
    [
      { ...base, frameworks: [{ id: "f", behaviour: { accept: "some" } }] },
      'frameworks[0].behaviour.accept: expected "all" or "none", got "some"',
    ],
    [
      { ...base, frameworks: [{ id: "f", behaviour: { task: "cpus:1", tasksPerOffer: 0 } }] },
      "frameworks[0].behaviour.tasksPerOffer: ",
    ],
    [{ ...base, frameworks: [{ id: "f" }] }, "frameworks[0].behaviour: expected required property"],
    [
      { ...base, steps: [{ at: "1s", do: "suppress", framework: "ghost" }] },
      'steps[0].framework: unknown framework "ghost"',
    ],
    [
      { ...base, steps: [{ at: "1s", do: "removeAgent", agent: "n1", extra: 1 }] },
      "steps[0].extra: unknown field",
    ],
    [
      { ...base, steps: [{ at: "1s", do: "setQuota", role: "a", limit: "cpus(a):1" }] },
      "steps[0].limit: quota takes unreserved scalars",
    ],
    [{ ...base, roles: { "a//b": {} } }, "roles.a//b: "],
    [{ ...base, roles: { a: { weight: 0 } } }, "roles.a.weight: "],
    [
      { ...base, agents: [...base.agents, ...base.agents] },
      'agents[1].id: duplicate agent id "n1"',
    ],
    [{ ...base, policy: "fifo" }, 'policy: unknown allocation policy "fifo"'],
    [
      { ...base, steps: [{ at: "1s", do: "revive", framework: "f", roles: ["b"] }] },
      'steps[0] (revive): role "b" is not a role of framework f',
    ],
    [[], "a scenario is a JSON object"],
  ];
  for (const [scenario, expected] of cases) {
    t.true(failure(scenario).startsWith(expected), `${failure(scenario)} ≠ ${expected}…`);
  }
});

test("simulate errors - a JSON syntax error names its line and column", (t) => {
  const err = t.throws(() => parseScenario('{\n  "until": "1s",\n}\n'), { instanceOf: AgoraError });
  t.regex(err?.message ?? "", /^line 3, column 1: invalid JSON/);
});

test("simulate errors - the CLI prints the error on one line and exits 2", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "agora-sim-"));
  const file = path.join(dir, "bad.json");
  writeFileSync(file, JSON.stringify({ ...base, steps: [{ at: "1s", do: "explode" }] }));
  const result = await new Promise<{ code: number | null; stderr: string; stdout: string }>(
    (resolve) => {
      execFile(
        process.execPath,
        [path.join(root, "bin/agora.js"), "simulate", file],
        { cwd: root },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr }),
      );
    },
  );
  t.is(result.code, 2);
  t.is(result.stdout, "");
  t.true(ACTION_NAMES.includes("explain") && ACTION_NAMES.includes("addAgent"));
  t.is(
    result.stderr.trim(),
    `agora: simulate: ${file}: steps[0].do: unknown action "explode" (known: ${ACTION_NAMES.join(", ")})`,
  );
});

const offers = (lines: SimLine[]) =>
  lines.flatMap((l) => (l.event === "offer" ? [`${l.t} ${l.framework} ${l.agent}`] : []));

function holding(steps: unknown[]) {
  return simulate(
    resolveScenario({
      until: "2s",
      agents: ["n1", "n2", "n3", "n4"].map((id) => ({ id, resources: "cpus:1;mem:1024" })),
      frameworks: [
        { id: "a", roles: ["a"], behaviour: { accept: "all" } },
        { id: "b", roles: ["b"], behaviour: { accept: "all" } },
      ],
      steps: [
        ...steps,
        { at: "1500ms", do: "returnResources", framework: "a" },
        { at: "1500ms", do: "returnResources", framework: "b" },
      ],
    }),
  );
}

test("simulate - setWeight while running: the next cycle follows the new weight", (t) => {
  t.deepEqual(offers(holding([])), [
    "0 a n1",
    "0 a n3",
    "0 b n2",
    "0 b n4",
    "2000 a n1",
    "2000 a n3",
    "2000 b n2",
    "2000 b n4",
  ]);
  t.deepEqual(offers(holding([{ at: "1500ms", do: "setWeight", role: "a", weight: 3 }])).slice(4), [
    "2000 a n1",
    "2000 a n3",
    "2000 a n4",
    "2000 b n2",
  ]);
});

test("simulate - setQuota while running: a new limit holds from the next cycle", (t) => {
  const lines = holding([{ at: "1500ms", do: "setQuota", role: "b", limit: "cpus:1;mem:1024" }]);
  t.deepEqual(offers(lines).slice(4), ["2000 a n1", "2000 a n3", "2000 a n4", "2000 b n2"]);
  const summary = lines.at(-1);
  t.true(summary?.event === "summary" && summary.roles.b?.dominantShare === 0.25);
});

test("simulate - an offer timeout rescinds held offers; they are offered again", (t) => {
  const lines = simulate(
    resolveScenario({
      until: "3s",
      offerTimeout: "1500ms",
      agents: [{ id: "n1", resources: "cpus:1;mem:1024" }],
      frameworks: [{ id: "f", behaviour: { accept: "all" } }],
    }),
  );
  t.deepEqual(
    lines.filter((l) => l.event !== "summary").map((l) => `${l.t} ${l.event}`),
    ["0 offer", "1500 rescind", "2000 offer"],
  );
});

test("simulate - setPriority under the priority policy", (t) => {
  const lines = simulate(
    resolveScenario({
      until: "2s",
      policy: "priority",
      agents: [{ id: "n1", resources: "cpus:1;mem:1024" }],
      frameworks: [
        { id: "a", roles: ["a"], behaviour: { accept: "none", refuseSeconds: 0 } },
        { id: "b", roles: ["b"], behaviour: { accept: "none", refuseSeconds: 0 } },
      ],
      steps: [{ at: "500ms", do: "setPriority", role: "b", priority: 1 }],
    }),
  );
  t.deepEqual(offers(lines), ["0 a n1", "500 b n1", "1000 b n1", "2000 b n1"]);
});

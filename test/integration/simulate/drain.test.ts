/**
 * The drain and maintenance scenario (examples/scenarios/drain.json), through
 * the live master's own drain code: a drained agent's task is killed and the
 * agent is not offered until it is reactivated; a maintenance window drains
 * its agent when it starts and reactivates it when it ends.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import type { ResourcesJson } from "../../../protocol/common.ts";
import { parseScenario } from "../../../simulate/scenario.ts";
import { simulate } from "../../../simulate/simulator.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const ev = (t: number, event: string, agent: string, resources: ResourcesJson) => ({
  t,
  event,
  framework: "web",
  role: "web",
  agent,
  resources,
});
const agent = (t: number, id: string, state: string) => ({ t, event: "agent", agent: id, state });

test("simulate - drain: the task on n1 is killed, n1 is not offered until reactivated; n2's window drains and reactivates it", (t) => {
  const text = readFileSync(path.join(root, "examples/scenarios/drain.json"), "utf8");
  const lines = simulate(parseScenario(text)).filter((l) => l.event !== "summary");
  t.deepEqual(lines, [
    ev(0, "offer", "n1", { cpus: 2, mem: 2048 }),
    ev(0, "offer", "n2", { cpus: 2, mem: 2048 }),
    ev(0, "launch", "n1", { cpus: 1, mem: 512 }),
    ev(0, "decline", "n1", { cpus: 1, mem: 1536 }),
    ev(0, "launch", "n2", { cpus: 1, mem: 512 }),
    ev(0, "decline", "n2", { cpus: 1, mem: 1536 }),
    agent(2500, "n1", "DRAINING"),
    ev(2500, "return", "n1", { cpus: 1, mem: 512 }),
    agent(2500, "n1", "DRAINED"),
    agent(4500, "n1", "active"),
    ev(4500, "offer", "n1", { cpus: 2, mem: 2048 }),
    ev(4500, "launch", "n1", { cpus: 1, mem: 512 }),
    ev(4500, "decline", "n1", { cpus: 1, mem: 1536 }),
    ev(5000, "offer", "n2", { cpus: 1, mem: 1536 }),
    ev(5000, "decline", "n2", { cpus: 1, mem: 1536 }),
    agent(6500, "n2", "DRAINING"),
    ev(6500, "return", "n2", { cpus: 1, mem: 512 }),
    agent(6500, "n2", "DRAINED"),
    agent(7500, "n2", "active"),
    ev(7500, "offer", "n2", { cpus: 2, mem: 2048 }),
    ev(7500, "decline", "n2", { cpus: 2, mem: 2048 }),
  ]);
});

test("simulate - drain steps name known agents", (t) => {
  const bad = (step: object) => () =>
    parseScenario(
      JSON.stringify({
        until: "1s",
        agents: [{ id: "n1", resources: "cpus:1;mem:512" }],
        frameworks: [],
        steps: [step],
      }),
    );
  t.throws(bad({ at: "0s", do: "drainAgent", agent: "nope" }), {
    message: /steps\[0\]\.agent: unknown agent "nope"/,
  });
  t.throws(
    bad({ at: "0s", do: "scheduleMaintenance", windows: [{ agents: ["n9"], start: "1s" }] }),
    { message: /steps\[0\]\.windows\[0\]\.agents\[0\]: unknown agent "n9"/ },
  );
});

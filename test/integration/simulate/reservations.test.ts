/**
 * Dynamic reservations and persistent volumes in `agora simulate`: the
 * scenario examples/scenarios/reservations.json runs the master's own
 * operator path (reserve, createVolume, destroyVolume, unreserve steps) and
 * its allocator; every offer is checked.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import type { ResourcesJson } from "../../../protocol/common.ts";
import { parseScenario } from "../../../simulate/scenario.ts";
import { simulate } from "../../../simulate/simulator.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

function ev(t: number, event: string, framework: string, role: string, resources: ResourcesJson) {
  return { t, event, framework, role, agent: "node-1", resources };
}

test("simulate - reservations: reserved resources and the volume go to their role only, and back when given back", (t) => {
  const text = readFileSync(path.join(root, "examples/scenarios/reservations.json"), "utf8");
  const lines = simulate(parseScenario(text), {});
  t.deepEqual(
    lines.filter((l) => l.event !== "summary"),
    [
      // before the reservation, web is offered the whole agent
      ev(0, "offer", "web", "web", { cpus: 4, mem: 4096, disk: 2048 }),
      ev(0, "launch", "web", "web", { cpus: 1, mem: 512 }),
      ev(0, "decline", "web", "web", { cpus: 3, mem: 3584, disk: 2048 }),
      ev(1000, "offer", "web", "web", { cpus: 3, mem: 3584, disk: 2048 }),
      ev(1000, "decline", "web", "web", { cpus: 3, mem: 3584, disk: 2048 }),
      ev(2000, "offer", "web", "web", { cpus: 1, mem: 1536, disk: 1024 }),
      ev(2000, "decline", "web", "web", { cpus: 1, mem: 1536, disk: 1024 }),
      ev(2500, "offer", "db", "db", {
        cpus: 1,
        "cpus(db,ops,team=a)": 2,
        mem: 1536,
        "mem(db,ops,team=a)": 2048,
        disk: 1024,
        "disk(db,ops,team=a)[pg:data]": 1024,
      }),
      ev(2500, "launch", "db", "db", { "cpus(db,ops,team=a)": 1, "mem(db,ops,team=a)": 1024 }),
      ev(2500, "decline", "db", "db", {
        cpus: 1,
        "cpus(db,ops,team=a)": 1,
        mem: 1536,
        "mem(db,ops,team=a)": 1024,
        disk: 1024,
        "disk(db,ops,team=a)[pg:data]": 1024,
      }),
      ev(3000, "offer", "web", "web", { cpus: 1, mem: 1536, disk: 1024 }),
      ev(3000, "decline", "web", "web", { cpus: 1, mem: 1536, disk: 1024 }),
      ev(4000, "offer", "db", "db", {
        cpus: 1,
        "cpus(db,ops,team=a)": 1,
        mem: 1536,
        "mem(db,ops,team=a)": 1024,
        disk: 1024,
        "disk(db,ops,team=a)[pg:data]": 1024,
      }),
      ev(4000, "decline", "db", "db", {
        cpus: 1,
        "cpus(db,ops,team=a)": 1,
        mem: 1536,
        "mem(db,ops,team=a)": 1024,
        disk: 1024,
        "disk(db,ops,team=a)[pg:data]": 1024,
      }),
      ev(4500, "offer", "db", "db", {
        cpus: 1,
        "cpus(db,ops,team=a)": 1,
        mem: 1536,
        "mem(db,ops,team=a)": 1024,
        disk: 1024,
        "disk(db,ops,team=a)": 1024,
      }),
      ev(4500, "decline", "db", "db", {
        cpus: 1,
        "cpus(db,ops,team=a)": 1,
        mem: 1536,
        "mem(db,ops,team=a)": 1024,
        disk: 1024,
        "disk(db,ops,team=a)": 1024,
      }),
      ev(4500, "offer", "db", "db", {
        cpus: 1,
        "cpus(db,ops,team=a)": 1,
        mem: 1536,
        "mem(db,ops,team=a)": 1024,
        disk: 2048,
      }),
      ev(4500, "decline", "db", "db", {
        cpus: 1,
        "cpus(db,ops,team=a)": 1,
        mem: 1536,
        "mem(db,ops,team=a)": 1024,
        disk: 2048,
      }),
      ev(5000, "offer", "web", "web", { cpus: 1, mem: 1536, disk: 2048 }),
      ev(5000, "decline", "web", "web", { cpus: 1, mem: 1536, disk: 2048 }),
      ev(6000, "offer", "db", "db", {
        cpus: 1,
        "cpus(db,ops,team=a)": 1,
        mem: 1536,
        "mem(db,ops,team=a)": 1024,
        disk: 2048,
      }),
      ev(6000, "decline", "db", "db", {
        cpus: 1,
        "cpus(db,ops,team=a)": 1,
        mem: 1536,
        "mem(db,ops,team=a)": 1024,
        disk: 2048,
      }),
    ],
  );
  t.deepEqual(lines.at(-1), {
    event: "summary",
    frameworks: {
      web: { tasks: 1, allocated: { cpus: 1, mem: 512 }, dominantShare: 0.25 },
      db: {
        tasks: 1,
        allocated: { "cpus(db,ops,team=a)": 1, "mem(db,ops,team=a)": 1024 },
        dominantShare: 0.25,
      },
    },
    roles: {
      db: {
        allocated: { "cpus(db,ops,team=a)": 1, "mem(db,ops,team=a)": 1024 },
        dominantShare: 0.25,
      },
      web: { allocated: { cpus: 1, mem: 512 }, dominantShare: 0.25 },
    },
  });
});

test("simulate - a reservation that is not free fails its step with the master's message", (t) => {
  const scenario = parseScenario(
    JSON.stringify({
      until: "1s",
      agents: [{ id: "node-1", resources: "cpus:1;mem:1024" }],
      steps: [{ at: "0s", do: "reserve", agent: "node-1", resources: "cpus(db,ops):2" }],
    }),
  );
  t.throws(() => simulate(scenario, {}), { message: /steps\[0\].*not available/ });
});

/**
 * The web UI at scale: `node --import tsx bench/ui.ts [--agents N] [--tasks N]`.
 * A stand-in master answers `operator.getState` with a state of N agents and
 * M running tasks (in parts, as the real master does), the `agora ui` actor
 * serves it, and headless Chromium opens the page. Measured: the actor's
 * snapshot load, the page's first paint (navigation → first drawn page with
 * the data), the tasks page with every task, and then the cluster-event rate
 * the page keeps up with: task events published at rising rates, each held
 * for a window, the page's applied-change count and frame count read at the
 * end of each window. Meanwhile `cluster.allocation` events move the roles'
 * shares (so the fairness view has something to draw). `--screenshots DIR`
 * saves every page at the end. Needs Chromium (`AGORA_CHROMIUM`, default
 * /usr/bin/chromium).
 */
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { createUi } from "../actors/ui/index.ts";
import { systemClock } from "../infra/clock.ts";
import { closeGracefully, connect } from "../infra/connect.ts";
import { silentLogger } from "../infra/logger.ts";
import { startNatsServer } from "../infra/nats-server.ts";
import { encode, encodeBatch } from "../protocol/codec.ts";
import type { MasterState } from "../protocol/operator.ts";
import { stateReply } from "../protocol/parts.ts";
import type { Message } from "../protocol/registry.ts";
import { ClusterEventKind, Subjects } from "../protocol/subjects.ts";

const { values } = parseArgs({
  options: {
    agents: { type: "string", default: "50000" },
    tasks: { type: "string", default: "100000" },
    rates: { type: "string", default: "1000,5000,10000,20000,40000" },
    window: { type: "string", default: "5000" },
    /** Saves a screenshot of each page here at the end (the README's come from this). */
    screenshots: { type: "string" },
  },
});
const AGENTS = Number(values.agents);
const TASKS = Number(values.tasks);
const RATES = values.rates.split(",").map(Number);
const WINDOW_MS = Number(values.window);
const FRAMEWORKS = 10;

function syntheticState(): MasterState {
  const agents: MasterState["agents"] = [];
  for (let i = 0; i < AGENTS; i++) {
    agents.push({
      id: `agent-${i}`,
      hostname: `host-${i}`,
      resources: { cpus: 8, mem: 32768, disk: 100000, ports: [[31000, 32000]] },
      used: { cpus: 2, mem: 512 },
      offered: i < 200 ? { cpus: 6, mem: 32256 } : {},
      attributes: { rack: `r${i % 40}` },
      active: true,
      status: "active",
    });
  }
  const frameworks: MasterState["frameworks"] = [];
  for (let f = 0; f < FRAMEWORKS; f++) {
    const tasks: MasterState["frameworks"][number]["tasks"] = [];
    for (let i = f; i < TASKS; i += FRAMEWORKS) {
      tasks.push({
        id: `task-${i}`,
        name: `task-${i}`,
        state: "TASK_RUNNING",
        agentId: `agent-${i % AGENTS}`,
        resources: { cpus: 1, mem: 256 },
      });
    }
    frameworks.push({
      id: `fw-${f}`,
      name: `load-${f}`,
      roles: [`role-${f}`],
      active: true,
      used: {},
      offered: {},
      dominantShare: 0.05,
      tasks,
    });
  }
  const roles: MasterState["roles"] = {};
  for (let f = 0; f < FRAMEWORKS; f++) {
    roles[`role-${f}`] = {
      weight: 1,
      allocated: { cpus: TASKS / FRAMEWORKS },
      dominantShare: 0.05,
    };
  }
  return {
    masterId: "bench-master",
    leader: true,
    leaderId: "bench-master",
    startTime: Date.now(),
    policy: "drf",
    total: { cpus: AGENTS * 8, mem: AGENTS * 32768 },
    agents,
    frameworks,
    offers: Array.from({ length: Math.min(200, AGENTS) }, (_, i) => ({
      offerId: `offer-${i}`,
      frameworkId: `fw-${i % FRAMEWORKS}`,
      agentId: `agent-${i}`,
      role: `role-${i % FRAMEWORKS}`,
      resources: { cpus: 6, mem: 32256 },
      createdAt: Date.now() - i * 1000,
    })),
    roles,
  };
}

const server = await startNatsServer();
const subjects = new Subjects("uibench");
const nc = await connect({ servers: server.url, name: "bench-ui-master", logger: silentLogger() });
const state = syntheticState();
nc.subscribe(subjects.masterOperator(), {
  callback: (_err, m) => {
    const reply = stateReply({ type: "operator.state", state });
    const parts = Array.isArray(reply) ? reply : [reply];
    for (const p of parts) nc.publish(m.reply!, encode(p));
  },
});
await nc.flush();

const uiNc = await connect({ servers: server.url, name: "bench-ui", logger: silentLogger() });
const ui = createUi({
  nc: uiNc,
  subjects,
  logger: silentLogger(),
  clock: systemClock,
  port: 0,
  requestTimeoutMs: 60_000,
});
const t0 = performance.now();
await ui.start();
const actorReady = performance.now() - t0;

const browser = await chromium.launch({
  executablePath: process.env.AGORA_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const page = await browser.newPage({ viewport: { width: 1200, height: 640 } });
type Stats = {
  firstPaintMs?: number;
  snapshotMs?: number;
  changesApplied: number;
  frames: number;
  lastSeq: number;
};
const stats = () => page.evaluate(() => (globalThis as unknown as { agoraUi: Stats }).agoraUi);
await page.goto(ui.url);
await page.locator("[data-testid=agent-count]").waitFor({ timeout: 120_000 });
const first = await stats();
const tasksStart = performance.now();
await page.click("a[href='#/tasks']");
await page.locator("[data-testid=tasks-table] .vcount").waitFor();
const tasksPageMs = performance.now() - tasksStart;

const rows: string[] = [];
rows.push(`agents ${AGENTS}, tasks ${TASKS}, frameworks ${FRAMEWORKS}`);
rows.push(`actor start (bundle + state in parts + model): ${actorReady.toFixed(0)} ms`);
rows.push(
  `page first paint ${first.firstPaintMs?.toFixed(0)} ms (snapshot fetch + parse + load ${first.snapshotMs?.toFixed(0)} ms)`,
);
rows.push(`tasks page with every task: ${tasksPageMs.toFixed(0)} ms`);

let serial = 0;
const subject = subjects.event(ClusterEventKind.TaskUpdated);
for (const rate of RATES) {
  const before = await stats();
  const started = performance.now();
  let sent = 0;
  // 10 ms ticks, each a batch of the events due by then
  while (performance.now() - started < WINDOW_MS) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate) - sent;
    if (due > 0) {
      const batch: Message[] = [];
      for (let i = 0; i < due; i++) {
        const n = serial++;
        const task = n % TASKS;
        batch.push({
          type: "cluster.taskUpdated",
          timestamp: Date.now(),
          frameworkId: `fw-${task % FRAMEWORKS}`,
          agentId: `agent-${task % AGENTS}`,
          taskId: `task-${task}`,
          name: `task-${task}`,
          state: n % 2 === 0 ? "TASK_KILLING" : "TASK_RUNNING",
          previousState: n % 2 === 0 ? "TASK_RUNNING" : "TASK_KILLING",
          resources: { cpus: 1, mem: 256 },
        });
      }
      const phase = (performance.now() - t0) / 4000;
      const roles: Record<string, { dominantShare: number }> = {};
      for (let f = 0; f < 4; f++) {
        roles[`role-${f}`] = { dominantShare: 0.15 + 0.1 * Math.sin(phase + (f * Math.PI) / 2) };
      }
      batch.push({ type: "cluster.allocation", timestamp: Date.now(), roles, frameworks: {} });
      for (let i = 0; i < batch.length; i += 500) {
        nc.publish(subject, encodeBatch(batch.slice(i, i + 500)));
      }
      sent += batch.length;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await nc.flush();
  const elapsed = (performance.now() - started) / 1000;
  // what the page applied by the end of the window, and how far it was behind then
  const after = await stats();
  const applied = after.changesApplied - before.changesApplied;
  const fps = (after.frames - before.frames) / elapsed;
  rows.push(
    `rate ${rate}/s: sent ${sent}, page applied ${applied} in the window (${((100 * applied) / sent).toFixed(0)}%), ${fps.toFixed(0)} frames/s`,
  );
  // let it catch up before the next step
  await page.waitForFunction(
    (n) => (globalThis as unknown as { agoraUi: Stats }).agoraUi.changesApplied >= n,
    before.changesApplied + sent,
    { timeout: 120_000, polling: 100 },
  );
}
process.stdout.write(`${rows.join("\n")}\n`);
if (values.screenshots !== undefined) {
  const { mkdir } = await import("node:fs/promises");
  await mkdir(values.screenshots, { recursive: true });
  for (const name of ["overview", "agents", "frameworks", "tasks", "roles", "offers", "events"]) {
    await page.click(`a[href='#/${name}']`);
    await page.locator(`[data-testid=page-${name}]`).waitFor();
    await page.screenshot({ path: `${values.screenshots}/${name}.png` });
  }
}
await browser.close();
await ui.stop();
await closeGracefully(uiNc);
await closeGracefully(nc);
await server.stop();

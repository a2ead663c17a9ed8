/**
 * The HTTP endpoints of real actors on a real nats-server: `/metrics` of a
 * master and an agent follow what the cluster does (a task run, an invalid
 * message), `/health` of a leader and a standby, `/state` is the JSON of
 * `agora state`, and the agent's `/state` shows its executors and tasks
 * (with container statistics where cgroups are writable).
 */

import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { createMaster, resolveMasterConfig } from "../../../actors/master/index.ts";
import { createPolicyHost } from "../../../actors/policy/host.ts";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import { type LocalCluster, startLocalCluster } from "../../../cli/local-cluster.ts";
import { connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { type NatsServer, startNatsServer } from "../../../infra/nats-server.ts";
import { requestState } from "../../../infra/request.ts";
import { drfPolicy } from "../../../policies/drf.ts";
import { TaskState } from "../../../protocol/common.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { eventually, startFramework, tempDir, WAIT_MS } from "../e2e/helpers.ts";
import { cgroupTest, detectForTests, testRoot } from "../isolation/helpers.ts";

interface Context {
  server: NatsServer;
  cluster: LocalCluster;
  subjects: Subjects;
  masterUrl: string;
  agentUrl: string;
  work: { dir: string; remove(): Promise<void> };
}
const test = anyTest as TestFn<Context>;

const cgroupsRoot = testRoot();
const detection = await detectForTests(cgroupsRoot);

test.before(async (t) => {
  const server = await startNatsServer();
  const subjects = new Subjects("metrics");
  const work = await tempDir("agora-metrics-");
  const cluster = await startLocalCluster({
    natsUrl: server.url,
    subjects,
    logger: silentLogger(),
    http: true,
    master: { allocationInterval: 100 },
    agents: [
      {
        hostname: "agent-1",
        workDir: path.join(work.dir, "agent-1"),
        resources: "cpus:2;mem:1024",
        overrides: { cgroupsRoot, isolation: detection.kind === "none" ? "none" : "auto" },
      },
    ],
  });
  const masterUrl = cluster.masterHttpUrl;
  const agentUrl = cluster.agents[0]?.agent.httpUrl;
  if (masterUrl === undefined || agentUrl === undefined) throw new Error("no HTTP endpoints");
  t.context = { server, cluster, subjects, masterUrl, agentUrl, work };
});

test.after.always(async (t) => {
  await t.context.cluster?.stop();
  await t.context.server?.stop();
  await t.context.work?.remove();
});

/** One sample of the Prometheus text: `name{a="b",...}` → value. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line === "") continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) {
      have[pair[1] as string] = pair[2] as string;
    }
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

async function scrape(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  if (!(res.headers.get("content-type") ?? "").startsWith("text/plain")) {
    throw new Error(`/metrics content type ${res.headers.get("content-type")}`);
  }
  return res.text();
}

async function json(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Waits until the scraped sample satisfies `ok`; returns it. */
function sampleEventually(
  base: string,
  name: string,
  labels: Record<string, string>,
  ok: (v: number | undefined) => boolean,
): Promise<number | undefined> {
  return eventually(
    async () => {
      const v = sample(await scrape(base), name, labels);
      return ok(v) ? { v } : undefined;
    },
    `${name}${JSON.stringify(labels)} in ${base}/metrics`,
  ).then((r) => r.v);
}

test.serial(
  "metrics http - the master's gauges show the registered agent and its leadership",
  async (t) => {
    const text = await scrape(t.context.masterUrl);
    t.is(sample(text, "agora_master_elected"), 1);
    t.is(sample(text, "agora_master_agents", { status: "active" }), 1);
    t.is(sample(text, "agora_master_resources", { resource: "cpus", kind: "total" }), 2);
    t.is(sample(text, "agora_master_resources", { resource: "mem", kind: "total" }), 1024);
    t.true((sample(text, "agora_master_messages_total", { type: "agent.register" }) ?? 0) >= 1);
    // process metrics under the actor's prefix
    t.not(sample(text, "agora_master_process_cpu_user_seconds_total"), undefined);
    const agent = await scrape(t.context.agentUrl);
    t.is(sample(agent, "agora_agent_registered"), 1);
    t.is(sample(agent, "agora_agent_resources", { resource: "cpus", kind: "total" }), 2);
    t.true((sample(agent, "agora_agent_registrations_total") ?? 0) >= 1);
  },
);

test.serial(
  "metrics http - a task run moves the task gauges of master and agent, and the agent's state shows it",
  async (t) => {
    const { masterUrl, agentUrl } = t.context;
    const fw = await startFramework({
      servers: t.context.server.url,
      subjects: t.context.subjects,
      framework: { name: "metrics-test" },
    });
    t.teardown(() => fw.driver.teardown().catch(() => fw.driver.stop()));
    const { offers } = await fw.events.waitFor(isEvent("offers"), { timeoutMs: WAIT_MS });
    const offer = offers[0]!;
    t.true((sample(await scrape(masterUrl), "agora_master_outstanding_offers") ?? 0) >= 1);
    const info = commandTask({
      name: "sleeper",
      agentId: offer.agentId,
      resources: { cpus: 0.5, mem: 64 },
      command: "sleep 60",
    });
    await fw.driver.accept([offer.offerId], [info]);
    await fw.events.waitFor(
      isEvent(
        "update",
        (e) => e.status.taskId === info.taskId && e.status.state === TaskState.Running,
      ),
      { timeoutMs: WAIT_MS },
    );
    await sampleEventually(masterUrl, "agora_master_tasks", { state: "running" }, (v) => v === 1);
    await sampleEventually(agentUrl, "agora_agent_tasks", { state: "running" }, (v) => v === 1);
    const master = await scrape(masterUrl);
    t.is(sample(master, "agora_master_resources", { resource: "cpus", kind: "used" }), 0.5);
    t.true((sample(master, "agora_master_messages_total", { type: "scheduler.accept" }) ?? 0) >= 1);
    t.true((sample(master, "agora_allocator_allocation_run_seconds_count") ?? 0) >= 1);
    t.true((sample(master, "agora_master_tasks_launched_total") ?? 0) >= 1);
    t.true(
      (sample(master, "agora_allocator_role_dominant_share", { role: offer.role ?? "*" }) ?? 0) > 0,
    );
    const agent = await scrape(agentUrl);
    t.is(sample(agent, "agora_agent_resources", { resource: "cpus", kind: "used" }), 0.5);
    t.is(sample(agent, "agora_agent_executors", { phase: "running" }), 1);

    const { status, body } = await json(`${agentUrl}/state`);
    t.is(status, 200);
    t.is(body.id, offer.agentId);
    t.is(body.hostname, "agent-1");
    const frameworks = body.frameworks as Array<{
      id: string;
      executors: Array<{ id: string; tasks: Array<{ id: string; state: string }> }>;
    }>;
    const task = frameworks.flatMap((f) => f.executors).flatMap((e) => e.tasks)[0];
    t.is(task?.id, info.taskId);
    t.is(task?.state, TaskState.Running);

    await fw.driver.kill(info.taskId, offer.agentId);
    await fw.events.waitFor(
      isEvent(
        "update",
        (e) => e.status.taskId === info.taskId && e.status.state === TaskState.Killed,
      ),
      { timeoutMs: WAIT_MS },
    );
    await sampleEventually(masterUrl, "agora_master_tasks", { state: "killed" }, (v) => v === 1);
    const after = await scrape(masterUrl);
    t.is(sample(after, "agora_master_task_states_reached_total", { state: "running" }), 1);
    t.is(sample(after, "agora_master_task_states_reached_total", { state: "killed" }), 1);
    await sampleEventually(
      masterUrl,
      "agora_master_tasks",
      { state: "running" },
      (v) => v === undefined || v === 0,
    );
    t.pass();
  },
);

test.serial("metrics http - an invalid message moves invalid_messages_total", async (t) => {
  const { masterUrl, subjects, server } = t.context;
  const reason = { reason: "INVALID_MESSAGE" };
  const before =
    sample(await scrape(masterUrl), "agora_master_invalid_messages_total", reason) ?? 0;
  const nc = await connect({ servers: server.url, name: "metrics-test", logger: silentLogger() });
  t.teardown(() => nc.close());
  // 0xc1 is never valid msgpack
  nc.publish(subjects.masterAgent("no-such-agent"), new Uint8Array([0xc1]));
  await nc.flush();
  const text = await eventually(async () => {
    const s = await scrape(masterUrl);
    const codes = s.split("\n").filter((l) => l.startsWith("agora_master_invalid_messages_total"));
    const total = codes.reduce((n, l) => n + Number(l.split(" ").pop()), 0);
    return total > before ? s : undefined;
  }, "invalid_messages_total to grow");
  t.true((sample(text, "agora_master_messages_invalid_total") ?? 0) >= 1);
});

test.serial("metrics http - the master's /state is the JSON of agora state", async (t) => {
  const { masterUrl, subjects, server } = t.context;
  const health = await json(`${masterUrl}/health`);
  const masterId = health.body.masterId as string;
  const nc = await connect({ servers: server.url, name: "metrics-test", logger: silentLogger() });
  t.teardown(() => nc.close());
  const viaNats = (await requestState(nc, subjects.masterInstance(masterId), 5000)).state;
  const { status, body } = await json(`${masterUrl}/state`);
  t.is(status, 200);
  t.deepEqual(Object.keys(body).sort(), Object.keys(viaNats).sort());
  t.is(body.masterId, viaNats.masterId);
  t.is(body.leader, true);
  const agents = body.agents as Array<Record<string, unknown>>;
  t.deepEqual(
    agents.map((a) => a.id),
    viaNats.agents.map((a) => a.id),
  );
  t.deepEqual(Object.keys(agents[0] ?? {}).sort(), Object.keys(viaNats.agents[0] ?? {}).sort());
  t.deepEqual(body.total, viaNats.total);
});

test.serial(
  "metrics http - /health: 200 for the leader and a standby, 503 once the standby lost NATS",
  async (t) => {
    const { masterUrl, subjects, server } = t.context;
    const leader = await json(`${masterUrl}/health`);
    t.is(leader.status, 200);
    t.is(leader.body.leader, true);
    const nc = await connect({ servers: server.url, name: "standby", logger: silentLogger() });
    const standby = createMaster({
      nc,
      logger: silentLogger(),
      subjects,
      config: resolveMasterConfig({ argv: [], env: {}, overrides: { httpPort: 0 } }),
    });
    t.teardown(async () => {
      await standby.stop();
      await nc.close().catch(() => {});
    });
    await standby.start();
    const url = standby.httpUrl;
    if (url === undefined) throw new Error("the standby serves no HTTP");
    const seen = await json(`${url}/health`);
    t.is(seen.status, 200);
    t.is(seen.body.leader, false);
    t.is(seen.body.leaderId, leader.body.masterId);
    t.is(sample(await scrape(url), "agora_master_elected"), 0);
    await nc.close();
    const lost = await eventually(async () => {
      const h = await json(`${url}/health`);
      return h.status === 503 ? h : undefined;
    }, "the standby's /health to answer 503");
    t.is(lost.body.connected, false);
  },
);

test.serial("metrics http - the policy actor serves /metrics and /health", async (t) => {
  const { server, subjects } = t.context;
  const nc = await connect({ servers: server.url, name: "policy", logger: silentLogger() });
  const host = createPolicyHost({
    nc,
    logger: silentLogger(),
    subjects,
    name: "metrics-drf",
    policy: drfPolicy,
    httpPort: 0,
  });
  t.teardown(async () => {
    await host.stop();
    await nc.close();
  });
  await host.start();
  const url = host.httpUrl;
  if (url === undefined) throw new Error("the policy actor serves no HTTP");
  const health = await json(`${url}/health`);
  t.is(health.status, 200);
  t.is(health.body.serving, true);
  const text = await scrape(url);
  t.is(sample(text, "agora_policy_serving"), 1);
  t.not(sample(text, "agora_policy_process_resident_memory_bytes"), undefined);
  t.is((await fetch(`${url}/state`)).status, 404);
});

cgroupTest(test, detection)(
  "metrics http - the agent's /state shows a running task's container statistics",
  async (t) => {
    const { agentUrl } = t.context;
    const fw = await startFramework({
      servers: t.context.server.url,
      subjects: t.context.subjects,
      framework: { name: "metrics-stats" },
    });
    t.teardown(() => fw.driver.teardown().catch(() => fw.driver.stop()));
    const { offers } = await fw.events.waitFor(isEvent("offers"), { timeoutMs: WAIT_MS });
    const offer = offers[0]!;
    const info = commandTask({
      name: "stats",
      agentId: offer.agentId,
      resources: { cpus: 0.5, mem: 64 },
      command: "sleep 60",
    });
    await fw.driver.accept([offer.offerId], [info]);
    await fw.events.waitFor(
      isEvent(
        "update",
        (e) => e.status.taskId === info.taskId && e.status.state === TaskState.Running,
      ),
      { timeoutMs: WAIT_MS },
    );
    const { body } = await json(`${agentUrl}/state`);
    const executors = (
      body.frameworks as Array<{
        executors: Array<{ tasks: Array<{ id: string }>; statistics?: Record<string, number> }>;
      }>
    ).flatMap((f) => f.executors);
    const executor = executors.find((e) => e.tasks.some((task) => task.id === info.taskId));
    t.is(typeof executor?.statistics?.memTotalBytes, "number");
    t.is(typeof executor?.statistics?.timestamp, "number");
    const text = await scrape(agentUrl);
    t.true(text.includes("agora_agent_container_memory_bytes{"));
  },
);

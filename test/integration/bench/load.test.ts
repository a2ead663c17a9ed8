/**
 * The load framework against a real master (in this process) and the agent
 * emulator over a real nats-server: every task it launches reaches
 * TASK_FINISHED, and its accept → TASK_RUNNING latency is recorded, with
 * either transport, with and without a rate limit.
 */
import { nuid } from "@nats-io/nats-core";
import anyTest, { type TestFn } from "ava";
import { createMaster, type Master, resolveMasterConfig } from "../../../actors/master/index.ts";
import { type AgentEmulator, startAgentEmulator } from "../../../bench/emulator/index.ts";
import { startLoad, type TransportKind } from "../../../bench/load/index.ts";
import { within } from "../../../bench/sampling.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { type NatsServer, startNatsServer } from "../../../infra/nats-server.ts";
import { requestState } from "../../../infra/request.ts";
import { encode } from "../../../protocol/codec.ts";
import { DEFAULT_PRINCIPAL, Subjects } from "../../../protocol/subjects.ts";
import { eventually } from "../../helpers/wait.ts";

interface Context {
  server: NatsServer;
}
const test = anyTest as TestFn<Context>;

const TASKS = 500;
const WAIT_MS = 45_000;

test.before(async (t) => {
  // JetStream on: a master keeps its registry in KV (--registry kv)
  t.context.server = await startNatsServer();
});

test.after.always(async (t) => {
  await t.context.server?.stop();
});

/** A master in this process and 10 emulated agents (cpus:4 → 40 tasks of cpus:0.1 each). */
async function cluster(url: string): Promise<{
  subjects: Subjects;
  master: Master;
  emulator: AgentEmulator;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const subjects = new Subjects(`loadtest${nuid.next().toLowerCase()}`);
  const nc = await connect({ servers: url, name: "test-master" });
  const master = createMaster({
    nc,
    logger: silentLogger(),
    subjects,
    config: resolveMasterConfig({ overrides: { allocationInterval: 50 } }),
  });
  await master.start();
  const emulator = await startAgentEmulator({ servers: url, subjects, count: 10 });
  await emulator.ready;
  return {
    subjects,
    master,
    emulator,
    async [Symbol.asyncDispose]() {
      await emulator.stop();
      await master.stop();
      await closeGracefully(nc);
    },
  };
}

for (const transport of ["lite", "driver"] as const satisfies readonly TransportKind[]) {
  test.serial(`load - ${transport} frameworks run ${TASKS} tasks to TASK_FINISHED`, async (t) => {
    await using c = await cluster(t.context.server.url);
    const load = await startLoad({
      servers: t.context.server.url,
      subjects: c.subjects,
      frameworks: 3,
      tasks: TASKS,
      transport,
    });
    try {
      await within(load.done, WAIT_MS, "every task to finish");
      const stats = load.stats();
      const seen = JSON.stringify({ ...stats, latency: stats.latency.count });
      t.is(stats.accepted, TASKS, `accepted: ${seen}`);
      t.is(stats.finished, TASKS, `finished: ${seen}`);
      t.is(stats.failed, 0, `failed: ${seen}`);
      t.is(stats.latency.count, TASKS, `RUNNING seen: ${seen}`);
      t.true(stats.latency.maxMs >= stats.latency.p50Ms);
      t.true(stats.accepts > 0 && stats.accepts <= TASKS);
      t.deepEqual(stats.errors, {});
      // the agents forget a task once its FINISHED is acknowledged, just after the scheduler saw it
      await eventually(
        () => c.emulator.stats().tasksFinished === TASKS,
        "every acknowledgement",
        WAIT_MS,
      );
      t.is(c.emulator.stats().tasksActive, 0);
    } finally {
      await load.stop();
    }
    t.deepEqual(c.master.checkInvariants(), []);
  });
}

test.serial("load - a rate limit paces the launches and every task still finishes", async (t) => {
  await using c = await cluster(t.context.server.url);
  const started = performance.now();
  const load = await startLoad({
    servers: t.context.server.url,
    subjects: c.subjects,
    frameworks: 2,
    tasks: 200,
    rate: 1000,
    maxTasksPerOffer: 5,
  });
  try {
    await within(load.done, WAIT_MS, "every paced task to finish");
    const elapsed = performance.now() - started;
    const stats = load.stats();
    t.is(stats.finished, 200);
    t.is(stats.latency.count, 200);
    t.true(stats.tasksPerAccept <= 5);
    // A lower bound only (a loaded machine is slower, never faster): 200 tasks at 1000/s
    // (one pacer for all frameworks), less its burst (20 tasks) and one offer's debt (5).
    const fastest = ((200 - 20 - 5) / 1000) * 1000;
    t.true(elapsed >= fastest, `200 tasks at 1000/s launched in ${elapsed} ms (< ${fastest} ms)`);
  } finally {
    await load.stop();
  }
});

test.serial("load - an in-flight window holds offers until tasks run", async (t) => {
  await using c = await cluster(t.context.server.url);
  const load = await startLoad({
    servers: t.context.server.url,
    subjects: c.subjects,
    frameworks: 2,
    tasks: 300,
    maxInFlight: 10,
    maxTasksPerOffer: 5,
  });
  try {
    await within(load.done, WAIT_MS, "every windowed task to finish");
    const stats = load.stats();
    t.is(stats.finished, 300);
    t.is(stats.latency.count, 300);
    t.is(stats.maxInFlight, 10);
    t.is(load.recorder.inFlight, 0);
  } finally {
    await load.stop();
  }
});

test.serial("load - until running resolves once every long task runs", async (t) => {
  await using c = await cluster(t.context.server.url);
  const load = await startLoad({
    servers: t.context.server.url,
    subjects: c.subjects,
    tasks: 100,
    until: "running",
    labels: { "bench-duration-ms": "Infinity" },
  });
  try {
    await within(load.done, WAIT_MS, "every task to run");
    const stats = load.stats();
    t.is(stats.running, 100);
    t.is(stats.finished, 0);
    t.is(c.emulator.stats().tasksActive, 100);
  } finally {
    await load.stop();
  }
});

test.serial(
  "load - a lite framework subscribes again with its id on event.resubscribe",
  async (t) => {
    await using c = await cluster(t.context.server.url);
    const load = await startLoad({ servers: t.context.server.url, subjects: c.subjects, tasks: 0 });
    const nc = await connect({ servers: t.context.server.url, name: "test-leader" });
    try {
      const framework = load.frameworks[0]!;
      const frameworkId = framework.frameworkId;
      nc.publish(
        c.subjects.framework(DEFAULT_PRINCIPAL, frameworkId),
        encode({ type: "event.resubscribe", masterId: "newleader" }),
      );
      await within(
        (async () => {
          while (load.resubscriptions() < 1) await new Promise((r) => setTimeout(r, 10));
        })(),
        WAIT_MS,
        "the resubscription",
      );
      t.is(framework.frameworkId, frameworkId);
      await framework.barrier();
      const { state } = await requestState(nc, c.subjects.masterOperator(), 10_000);
      t.deepEqual(
        state.frameworks.map((f) => [f.id, f.active]),
        [[frameworkId, true]],
      );
    } finally {
      await load.stop();
      await closeGracefully(nc);
    }
  },
);

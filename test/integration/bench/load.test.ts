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
import { requestState } from "../../../infra/request.ts";
import { encode } from "../../../protocol/codec.ts";
import { DEFAULT_PRINCIPAL, Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually, SLOW_WAIT_MS } from "../../helpers/wait.ts";

const test = anyTest as TestFn;
// JetStream on: a master keeps its registry in KV (--registry kv)
const nats = useNatsServer(test);

const TASKS = 500;

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
    await using c = await cluster(nats().url);
    const load = await startLoad({
      servers: nats().url,
      subjects: c.subjects,
      frameworks: 3,
      tasks: TASKS,
      transport,
    });
    try {
      await within(load.done, SLOW_WAIT_MS, "every task to finish");
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
        SLOW_WAIT_MS,
      );
      t.is(c.emulator.stats().tasksActive, 0);
    } finally {
      await load.stop();
    }
    t.deepEqual(c.master.checkInvariants(), []);
  });
}

test.serial("load - a rate limit paces the launches and every task still finishes", async (t) => {
  await using c = await cluster(nats().url);
  const load = await startLoad({
    servers: nats().url,
    subjects: c.subjects,
    frameworks: 2,
    tasks: 200,
    rate: 1000,
    maxTasksPerOffer: 40,
  });
  try {
    await within(load.done, SLOW_WAIT_MS, "every paced task to finish");
    const stats = load.stats();
    t.is(stats.finished, 200);
    t.is(stats.latency.count, 200);
    t.true(stats.tasksPerAccept <= 40);
    // The pacing bound, from the accepts' own timestamps (the pacer's clock, not the
    // machine's speed): one token bucket for all frameworks lets at most its burst
    // (20 tasks at 1000/s), one offer's debt (40) and 1000/s after the first accept go.
    // Unpaced, the first five offers (40 task slots each) take all 200 within ~1 ms.
    const span = load.recorder.lastAcceptAt - load.recorder.firstAcceptAt;
    const shortest = ((200 - 20 - 40) / 1000) * 1000;
    t.true(
      span >= shortest,
      `200 tasks accepted within ${span} ms of the first accept (pacing allows no less than ${shortest} ms)`,
    );
  } finally {
    await load.stop();
  }
});

test.serial("load - an in-flight window holds offers until tasks run", async (t) => {
  await using c = await cluster(nats().url);
  const load = await startLoad({
    servers: nats().url,
    subjects: c.subjects,
    frameworks: 2,
    tasks: 300,
    maxInFlight: 10,
    maxTasksPerOffer: 5,
  });
  try {
    await within(load.done, SLOW_WAIT_MS, "every windowed task to finish");
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
  await using c = await cluster(nats().url);
  const load = await startLoad({
    servers: nats().url,
    subjects: c.subjects,
    tasks: 100,
    until: "running",
    labels: { "bench-duration-ms": "Infinity" },
  });
  try {
    await within(load.done, SLOW_WAIT_MS, "every task to run");
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
    await using c = await cluster(nats().url);
    const load = await startLoad({ servers: nats().url, subjects: c.subjects, tasks: 0 });
    const nc = await connect({ servers: nats().url, name: "test-leader" });
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
        SLOW_WAIT_MS,
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

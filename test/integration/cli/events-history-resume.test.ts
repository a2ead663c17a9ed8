/**
 * A follower of the event history that loses its consumer (deleted on the
 * server, or the nats-server restarted on the same store) goes on from the
 * last sequence it delivered: every stream message once, in order, none lost.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import anyTest, { type TestFn } from "ava";
import { Recorder } from "../../../actors/scheduler/recorder.ts";
import type { LocalCluster } from "../../../cli/local-cluster.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { followClusterEvents, type HistoryEvent } from "../../../infra/event-history.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { type NatsServer, startNatsServer } from "../../../infra/nats-server.ts";
import { eventStreamName } from "../../../protocol/store.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { startCluster, tempDir } from "../e2e/helpers.ts";
import { runAgora } from "./helpers.ts";

const test = anyTest as TestFn<{
  server: NatsServer;
  store: { dir: string; remove(): Promise<void> };
  cluster: LocalCluster;
  nc: NatsConnection;
  args: string[];
}>;

const subjects = new Subjects("cliresume");
const STREAM = eventStreamName(subjects.prefix);

test.before(async (t) => {
  const store = await tempDir("agora-history-store-");
  const server = await startNatsServer({ storeDir: store.dir });
  const cluster = await startCluster({
    url: server.url,
    subjects,
    agents: [{ hostname: "resume-agent", resources: "cpus:2;mem:2048" }],
  });
  const nc = await connect({ servers: server.url, name: "resume-test", logger: silentLogger() });
  t.context = {
    server,
    store,
    cluster,
    nc,
    args: ["--nats", server.url, "--prefix", subjects.prefix],
  };
});

test.after.always(async (t) => {
  if (t.context.nc !== undefined) await closeGracefully(t.context.nc);
  await t.context.cluster?.stop();
  await t.context.server?.stop();
  await t.context.store?.remove();
});

async function runTask(args: string[], name: string): Promise<void> {
  const r = await runAgora(["run", ...args, "--name", name, "--", "true"], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`agora run ${name} failed: ${r.stderr}`);
}

const finished = (name: string) => (e: HistoryEvent) =>
  e.event.type === "cluster.taskUpdated" &&
  e.event.name === name &&
  e.event.state === "TASK_FINISHED";

/** Every stream message 1..last exactly once and in order, each event of it once. */
function assertWhole(
  t: {
    deepEqual(a: unknown, b: unknown, m?: string): void;
    is(a: unknown, b: unknown, m?: string): void;
  },
  events: HistoryEvent[],
  last: number,
) {
  const seqs = events.map((e) => e.seq).filter((seq, i, all) => i === 0 || all[i - 1] !== seq);
  t.deepEqual(
    seqs.filter((seq) => seq <= last),
    Array.from({ length: last }, (_, i) => i + 1),
    "every message once, in order",
  );
  const keys = events.map((e) => `${e.seq}/${e.index}`);
  t.is(new Set(keys).size, keys.length, "no event twice");
}

async function follow(nc: NatsConnection) {
  const events = new Recorder<HistoryEvent>();
  const follower = await followClusterEvents({
    nc,
    subjects,
    fromSeq: 1,
    logger: silentLogger(),
    metrics: new Metrics(),
    onEvent: (e) => events.push(e),
  });
  return { events, follower };
}

test.serial(
  "event history - a follower whose consumer is deleted goes on from its last sequence",
  async (t) => {
    const jsm = await jetstreamManager(t.context.nc);
    const { events, follower } = await follow(t.context.nc);
    t.teardown(() => follower.stop());
    await runTask(t.context.args, "before-delete");
    await events.waitFor(finished("before-delete"), { timeoutMs: 20_000 });
    const consumers = await jsm.consumers.list(STREAM).next();
    t.true(consumers.length >= 1);
    for (const c of consumers) await jsm.consumers.delete(STREAM, c.name);
    await runTask(t.context.args, "after-delete");
    await events.waitFor(finished("after-delete"), { timeoutMs: 60_000 });
    const last = (await jsm.streams.info(STREAM)).state.last_seq;
    await events.waitFor((e) => e.seq >= last, { timeoutMs: 20_000 });
    assertWhole(
      t,
      events.filter(() => true),
      last,
    );
  },
);

test.serial(
  "event history - a follower goes on from its last sequence after a nats-server restart",
  async (t) => {
    const { events, follower } = await follow(t.context.nc);
    t.teardown(() => follower.stop());
    await runTask(t.context.args, "before-restart");
    await events.waitFor(finished("before-restart"), { timeoutMs: 20_000 });
    const old = t.context.server;
    old.kill("SIGKILL");
    await old.exited;
    t.context.server = await startNatsServer({ port: old.port, storeDir: t.context.store.dir });
    await old.stop(); // removes the old process's temp dir; the store dir is ours
    await runTask(t.context.args, "after-restart");
    await events.waitFor(finished("after-restart"), { timeoutMs: 90_000 });
    const jsm = await jetstreamManager(t.context.nc);
    const last = (await jsm.streams.info(STREAM)).state.last_seq;
    await events.waitFor((e) => e.seq >= last, { timeoutMs: 20_000 });
    assertWhole(
      t,
      events.filter(() => true),
      last,
    );
  },
);

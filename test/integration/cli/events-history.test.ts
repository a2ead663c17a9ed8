/**
 * The cluster's event history: a real master keeps its events in the
 * JetStream stream `<prefix>_events`; `agora events --since/--from-seq`
 * and `followClusterEvents` replay it and go on live.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { millis, type NatsConnection } from "@nats-io/nats-core";
import anyTest, { type TestFn } from "ava";
import { createMaster, resolveMasterConfig } from "../../../actors/master/index.ts";
import { Recorder } from "../../../actors/scheduler/recorder.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { DEFAULT_EVENTS_KINDS } from "../../../infra/defaults.ts";
import { followClusterEvents, type HistoryEvent } from "../../../infra/event-history.ts";
import { ensureEventStream } from "../../../infra/event-stream.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { eventStreamName } from "../../../protocol/store.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { type ClusterContext, useCluster } from "../../helpers/cluster.ts";
import { runAgora, startAgora } from "./helpers.ts";

const test = anyTest as TestFn<ClusterContext & { nc: NatsConnection }>;

const subjects = new Subjects("clihistory");
const STREAM = eventStreamName(subjects.prefix);
const MAX_AGE_MS = 2 * 3_600_000;
const MAX_BYTES = 64 * 1024 * 1024;

test.serial.after.always(async (t) => {
  if (t.context.nc !== undefined) await closeGracefully(t.context.nc);
});
useCluster(test, {
  prefix: subjects.prefix,
  agents: [{ hostname: "history-agent", resources: "cpus:2;mem:2048" }],
  master: { eventsMaxAge: MAX_AGE_MS, eventsMaxBytes: MAX_BYTES },
});
test.serial.before(async (t) => {
  t.context.nc = await connect({
    servers: t.context.server.url,
    name: "history-test",
    logger: silentLogger(),
  });
});

/** Runs one task through `agora run` to its end. */
async function runTask(t: { context: { args: string[] } }, name: string): Promise<void> {
  const r = await runAgora(["run", ...t.context.args, "--name", name, "--", "true"]);
  if (r.code !== 0) throw new Error(`agora run ${name} failed: ${r.stderr}`);
}

/** Follows the history into a recorder. */
async function record(nc: NatsConnection, from: { fromSeq?: number; since?: number }) {
  const events = new Recorder<HistoryEvent>();
  const follower = await followClusterEvents({
    nc,
    subjects,
    ...from,
    logger: silentLogger(),
    metrics: new Metrics(),
    onEvent: (e) => events.push(e),
  });
  return { events, follower };
}

const finished = (name: string) => (e: HistoryEvent) =>
  e.event.type === "cluster.taskUpdated" &&
  e.event.name === name &&
  e.event.state === "TASK_FINISHED";

test.serial(
  "event history - the leading master keeps its events in the stream, with the limits given",
  async (t) => {
    const jsm = await jetstreamManager(t.context.nc);
    const info = await jsm.streams.info(STREAM);
    t.is(millis(info.config.max_age), MAX_AGE_MS);
    t.is(info.config.max_bytes, MAX_BYTES);
    t.is(info.config.storage, "file");
    t.is(info.config.discard, "old");
    t.is(info.config.num_replicas, 1);
    t.deepEqual(
      [...info.config.subjects].sort(),
      DEFAULT_EVENTS_KINDS.map((kind) => `${subjects.base}.events.${kind}`).sort(),
    );
    // the agent's registration happened before this test: it is in the history
    const { events, follower } = await record(t.context.nc, { fromSeq: 1 });
    t.teardown(() => follower.stop());
    const added = await events.waitFor(
      (e) => e.event.type === "cluster.agentAdded" && e.event.hostname === "history-agent",
      { timeoutMs: 20_000 },
    );
    t.is(added.subject, `${subjects.base}.events.agent.added`);
    t.true(added.seq >= 1);
    t.true(Math.abs(added.time - added.event.timestamp) < 60_000);
  },
);

test.serial(
  "agora events - --since replays events from before it started, then prints a live one",
  async (t) => {
    await runTask(t, "before-events");
    const events = startAgora([
      "events",
      ...t.context.args,
      "--since",
      "10m",
      "--kind",
      "task.updated",
    ]);
    t.teardown(() => events.child.kill("SIGKILL"));
    type Line = {
      seq: number;
      index: number;
      time: string;
      subject: string;
      type: string;
      name: string;
      state: string;
    };
    const parse = (l: string) => JSON.parse(l) as Line;
    const isLine = (name: string, state: string) => (l: string) => {
      if (!l.startsWith("{")) return false;
      const e = parse(l);
      return e.name === name && e.state === state;
    };
    const before = parse(
      await events.stdout.waitFor(isLine("before-events", "TASK_FINISHED"), { timeoutMs: 20_000 }),
    );
    t.is(before.type, "cluster.taskUpdated");
    t.is(before.subject, `${subjects.base}.events.task.updated`);
    t.false(Number.isNaN(Date.parse(before.time)));
    await runTask(t, "after-events");
    const after = parse(
      await events.stdout.waitFor(isLine("after-events", "TASK_FINISHED"), { timeoutMs: 20_000 }),
    );
    t.true(after.seq > before.seq);
    // every line once, in stream order
    const lines = events.stdout.filter((l) => l.startsWith("{")).map(parse);
    const keys = lines.map((l) => `${l.seq}/${l.index}`);
    t.is(new Set(keys).size, keys.length);
    for (let i = 1; i < lines.length; i++) {
      const [a, b] = [lines[i - 1]!, lines[i]!];
      t.true(
        b.seq > a.seq || (b.seq === a.seq && b.index > a.index),
        `${keys[i - 1]} then ${keys[i]}`,
      );
    }
    t.true(lines.every((l) => l.type === "cluster.taskUpdated"));
    events.child.kill("SIGINT");
    t.is((await events.result).code, 0);
  },
);

test.serial(
  "event history - a subscriber restarted from its last sequence gets every event once, none lost",
  async (t) => {
    const jsm = await jetstreamManager(t.context.nc);
    const first = await record(t.context.nc, { fromSeq: 1 });
    await runTask(t, "while-first");
    await first.events.waitFor(finished("while-first"), { timeoutMs: 20_000 });
    await first.follower.stop();
    const stoppedAt = first.follower.lastSeq();
    // events happen while nobody follows
    await runTask(t, "while-stopped");
    const second = await record(t.context.nc, { fromSeq: stoppedAt + 1 });
    t.teardown(() => second.follower.stop());
    await second.events.waitFor(finished("while-stopped"), { timeoutMs: 20_000 });
    const last = (await jsm.streams.info(STREAM)).state.last_seq;
    await second.events.waitFor((e) => e.seq >= last, { timeoutMs: 20_000 });
    const seqs = (r: Recorder<HistoryEvent>) => [
      ...new Set(r.filter(() => true).map((e) => e.seq)),
    ];
    const a = seqs(first.events);
    const b = seqs(second.events).filter((seq) => seq <= last);
    // exactly the stream's messages 1..last, the first run's then the second's, no gap, no overlap
    t.deepEqual(
      a,
      Array.from({ length: stoppedAt }, (_, i) => i + 1),
    );
    t.deepEqual(
      b,
      Array.from({ length: last - stoppedAt }, (_, i) => stoppedAt + 1 + i),
    );
    for (const r of [first.events, second.events]) {
      const keys = r.filter(() => true).map((e) => `${e.seq}/${e.index}`);
      t.is(new Set(keys).size, keys.length);
    }
  },
);

test.serial(
  "agora events - --from-seq prints the event's sequence and resumes there",
  async (t) => {
    const r = await runAgora(["events", ...t.context.args, "--from-seq", "1", "--count", "3"], {
      timeoutMs: 30_000,
    });
    t.is(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { seq: number; index: number });
    t.is(lines.length, 3);
    t.is(lines[0]!.seq, 1);
    const next = lines[2]!.seq + 1;
    const again = await runAgora(
      ["events", ...t.context.args, "--from-seq", String(next), "--count", "1"],
      {
        timeoutMs: 30_000,
      },
    );
    t.is(again.code, 0, again.stderr);
    t.is((JSON.parse(again.stdout.trim()) as { seq: number }).seq, next);
  },
);

test.serial("agora events - --since and --from-seq together are refused", async (t) => {
  const r = await runAgora(["events", ...t.context.args, "--since", "1m", "--from-seq", "3"]);
  t.not(r.code, 0);
  t.regex(r.stderr, /not both/);
});

test.serial(
  "event history - setting up the stream is idempotent and brings changed limits up to date",
  async (t) => {
    const other = new Subjects("clihistory-setup");
    const options = { kinds: ["all"], maxAgeMs: 60_000, maxBytes: 1024 * 1024, replicas: 1 };
    t.is(await ensureEventStream(t.context.nc, other, options, 5000), "created");
    t.is(await ensureEventStream(t.context.nc, other, options, 5000), "unchanged");
    const changed = { ...options, kinds: ["task.>"], maxBytes: 2 * 1024 * 1024 };
    t.is(await ensureEventStream(t.context.nc, other, changed, 5000), "updated");
    const info = await (await jetstreamManager(t.context.nc)).streams.info(
      eventStreamName(other.prefix),
    );
    t.is(info.config.max_bytes, 2 * 1024 * 1024);
    t.deepEqual(info.config.subjects, [`${other.base}.events.task.>`]);
  },
);

test.serial(
  "event history - a standby master leaves the stream as the leader set it up",
  async (t) => {
    const standby = createMaster({
      nc: t.context.nc,
      logger: silentLogger(),
      subjects,
      config: resolveMasterConfig({
        env: {},
        overrides: { eventsMaxBytes: 2 * MAX_BYTES, eventsKinds: ["all"], leaderLease: 1500 },
      }),
    });
    t.teardown(() => standby.stop());
    await standby.start();
    t.false(standby.isLeading());
    const info = await (await jetstreamManager(t.context.nc)).streams.info(STREAM);
    t.is(info.config.max_bytes, MAX_BYTES);
    t.is(info.config.subjects.length, DEFAULT_EVENTS_KINDS.length);
  },
);

/**
 * The `agora ui` actor against a real nats-server and master (no browser):
 * the snapshot it serves, the batches it streams, and a new snapshot when an
 * event shows it missed something.
 */
import anyTest, { type TestFn } from "ava";
import { createUi, type UiActor } from "../../../actors/ui/index.ts";
import type { ModelSnapshot } from "../../../actors/ui/model.ts";
import { systemClock } from "../../../infra/clock.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { encode } from "../../../protocol/codec.ts";
import { ClusterEventKind, Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually, startCluster } from "../e2e/helpers.ts";

interface Context {
  ui: UiActor;
  subjects: Subjects;
  stop(): Promise<void>;
}
const test = anyTest as TestFn<Context>;
const nats = useNatsServer(test);
let n = 0;

/** A cluster with one agent and a UI actor of its own, for one test. */
test.beforeEach(async (t) => {
  const subjects = new Subjects(`uiactor${++n}`);
  const cluster = await startCluster({
    url: nats().url,
    subjects,
    agents: [{ hostname: "agent-1", resources: "cpus:2;mem:1024" }],
  });
  const nc = await connect({ servers: nats().url, name: "ui", logger: silentLogger() });
  const ui = createUi({
    nc,
    subjects,
    logger: silentLogger(),
    clock: systemClock,
    port: 0,
    flushMs: 20,
    resnapshotDelayMs: 50,
  });
  await ui.start();
  const stop = async () => {
    await ui.stop();
    await closeGracefully(nc);
    await cluster.stop();
  };
  t.context = { ui, subjects, stop };
});

test.afterEach.always(async (t) => {
  await t.context.stop?.();
});

/** Reads the UI's event stream; `frames` fills as they come. */
async function follow(
  url: string,
): Promise<{ frames: { event: string; data: unknown }[]; stop(): void }> {
  const abort = new AbortController();
  const res = await fetch(`${url}api/events`, { signal: abort.signal });
  const frames: { event: string; data: unknown }[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event !== undefined && data !== undefined)
            frames.push({ event, data: JSON.parse(data) });
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // aborted
    }
  })();
  return { frames, stop: () => abort.abort() };
}

test("ui actor - serves the master's state as a snapshot and the page's files", async (t) => {
  const { ui } = t.context;
  const snap = (await (await fetch(`${ui.url}api/snapshot`)).json()) as ModelSnapshot;
  t.is(snap.agents.length, 1);
  t.is(snap.agents[0]?.hostname, "agent-1");
  t.truthy(snap.master.leaderId);
  const page = await fetch(ui.url);
  t.regex(await page.text(), /<script type="module" src="\/ui\/app.js">/);
  const script = await fetch(`${ui.url}app.js`);
  t.is(script.headers.get("content-type"), "text/javascript; charset=utf-8");
  t.true((await script.arrayBuffer()).byteLength > 10_000);
  t.is((await fetch(`${ui.url}nothing.js`)).status, 404);
});

test("ui actor - streams numbered batches of cluster events after hello", async (t) => {
  const { ui, subjects } = t.context;
  const stream = await follow(ui.url);
  t.teardown(() => stream.stop());
  await eventually(() => stream.frames.length > 0, "hello");
  t.is(stream.frames[0]?.event, "hello");
  const start = (stream.frames[0]!.data as { seq: number }).seq;
  // an agent leaves: the master says so on the event stream
  const nc = await connect({ servers: nats().url, name: "fake", logger: silentLogger() });
  t.teardown(() => closeGracefully(nc));
  const agentId = [...ui.model.agents.keys()][0]!;
  nc.publish(
    subjects.event(ClusterEventKind.AgentUnreachable),
    encode({ type: "cluster.agentUnreachable", timestamp: Date.now(), agentId }),
  );
  const batch = await eventually(
    () =>
      stream.frames.find(
        (f) =>
          f.event === "changes" &&
          (f.data as { changes: { type: string }[] }).changes.some(
            (c) => c.type === "cluster.agentUnreachable",
          ),
      ),
    "the batch with the event",
  );
  const seqs = stream.frames
    .filter((f) => f.event === "changes")
    .map((f) => (f.data as { seq: number }).seq);
  t.deepEqual(
    seqs,
    seqs.map((_, i) => start + 1 + i),
    "batches numbered one after another",
  );
  t.truthy(batch);
  t.is(ui.model.agents.get(agentId)?.status, "unreachable");
});

test("ui actor - an event that does not fit takes a new snapshot and tells the browsers", async (t) => {
  const { ui, subjects } = t.context;
  const stream = await follow(ui.url);
  t.teardown(() => stream.stop());
  await eventually(() => stream.frames.length > 0, "hello");
  t.is(ui.metrics.get("ui_snapshots"), 1);
  const nc = await connect({ servers: nats().url, name: "fake", logger: silentLogger() });
  t.teardown(() => closeGracefully(nc));
  nc.publish(
    subjects.event(ClusterEventKind.AgentReregistered),
    encode({
      type: "cluster.agentReregistered",
      timestamp: Date.now(),
      agentId: "nobody",
      hostname: "x",
    }),
  );
  await eventually(() => stream.frames.some((f) => f.event === "reset"), "reset");
  t.is(ui.metrics.get("ui_snapshots"), 2);
  t.is(ui.metrics.get("ui_gaps"), 1);
  t.is(ui.model.agents.size, 1, "the new snapshot has the master's agents");
});

test("ui actor - an invalid event is counted and changes nothing", async (t) => {
  const { ui, subjects } = t.context;
  const before = ui.model.agents.size;
  const nc = await connect({ servers: nats().url, name: "fake", logger: silentLogger() });
  t.teardown(() => closeGracefully(nc));
  nc.publish(subjects.event(ClusterEventKind.AgentAdded), new TextEncoder().encode("not msgpack"));
  nc.publish(
    subjects.event(ClusterEventKind.AgentAdded),
    encode({ type: "cluster.agentAdded", timestamp: Date.now() } as never),
  );
  await eventually(() => ui.metrics.get("messages_invalid") >= 2, "both counted");
  t.is(ui.model.agents.size, before);
});

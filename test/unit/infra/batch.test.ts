import test from "ava";
import { Batcher, type Publisher } from "../../../infra/batch.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { decodeMessages, encode } from "../../../protocol/codec.ts";
import type { Message } from "../../../protocol/registry.ts";

/** Records what is published, decoded: one entry per payload. */
function recorder(fail = false) {
  const published: Array<{ subject: string; messages: Message[]; bytes: Uint8Array }> = [];
  const nc: Publisher = {
    publish(subject, data) {
      if (fail) throw new Error("connection closed");
      const bytes = data as Uint8Array;
      published.push({ subject, messages: decodeMessages(bytes) as Message[], bytes });
    },
  };
  return { nc, published };
}

const kill = (taskId: string): Message => ({ type: "scheduler.kill", taskId });
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test("batcher - a single message goes plain, after the current task", async (t) => {
  const { nc, published } = recorder();
  const metrics = new Metrics();
  const batcher = new Batcher(nc, { logger: silentLogger(), metrics });
  batcher.publish("a", kill("t1"));
  t.is(published.length, 0, "nothing before the microtask");
  t.is(batcher.pending, 1);
  await tick();
  t.is(published.length, 1);
  t.deepEqual([...published[0]!.bytes], [...encode(kill("t1"))], "the plain encoding, no envelope");
  t.is(metrics.get("messages_sent"), 1);
  t.is(metrics.get("batches_sent"), 0);
});

test("batcher - many messages of one task go as one envelope per subject, in order", async (t) => {
  const { nc, published } = recorder();
  const metrics = new Metrics();
  const batcher = new Batcher(nc, { logger: silentLogger(), metrics });
  batcher.publish("b", kill("b1"));
  batcher.publish("a", kill("a1"));
  batcher.publish("b", kill("b2"));
  batcher.publish("c", kill("c1"));
  batcher.publish("b", kill("b3"));
  batcher.publish("a", kill("a2"));
  await tick();
  t.deepEqual(
    published.map((p) => [p.subject, p.messages.map((m) => (m as { taskId: string }).taskId)]),
    [
      ["b", ["b1", "b2", "b3"]],
      ["a", ["a1", "a2"]],
      ["c", ["c1"]],
    ],
  );
  t.is(metrics.get("messages_sent"), 6);
  t.is(metrics.get("batches_sent"), 2);
  // the next task starts afresh
  batcher.publish("a", kill("a3"));
  await tick();
  t.is(published.length, 4);
  t.deepEqual([...published[3]!.bytes], [...encode(kill("a3"))]);
});

test("batcher - flush() publishes now", (t) => {
  const { nc, published } = recorder();
  const batcher = new Batcher(nc, { logger: silentLogger(), metrics: new Metrics() });
  batcher.publish("a", kill("1"));
  batcher.publish("a", kill("2"));
  batcher.flush();
  t.is(published.length, 1);
  t.is(published[0]?.messages.length, 2);
  t.is(batcher.pending, 0);
  batcher.flush();
  t.is(published.length, 1);
});

test("batcher - the element cap splits a subject's queue, order kept", async (t) => {
  const { nc, published } = recorder();
  const batcher = new Batcher(nc, {
    logger: silentLogger(),
    metrics: new Metrics(),
    maxMessages: 3,
  });
  for (let i = 0; i < 8; i++) batcher.publish("a", kill(String(i)));
  t.is(published.length, 2, "full envelopes leave at once");
  await tick();
  t.deepEqual(
    published.map((p) => p.messages.map((m) => (m as { taskId: string }).taskId)),
    [
      ["0", "1", "2"],
      ["3", "4", "5"],
      ["6", "7"],
    ],
  );
});

test("batcher - the byte cap splits an envelope, order kept", async (t) => {
  const { nc, published } = recorder();
  const batcher = new Batcher(nc, {
    logger: silentLogger(),
    metrics: new Metrics(),
    maxBytes: 1000,
  });
  const big = (n: number): Message => ({
    type: "scheduler.kill",
    taskId: `${n}-${"x".repeat(200)}`,
  });
  for (let i = 0; i < 10; i++) batcher.publish("a", big(i));
  await tick();
  t.true(published.length > 2);
  for (const p of published) t.true(p.bytes.byteLength <= 1000, `${p.bytes.byteLength} bytes`);
  const ids = published.flatMap((p) => p.messages.map((m) => (m as { taskId: string }).taskId));
  t.deepEqual(
    ids.map((id) => Number(id.split("-")[0])),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
});

test("batcher - a failed publish is counted, never thrown", async (t) => {
  const { nc } = recorder(true);
  const metrics = new Metrics();
  const batcher = new Batcher(nc, { logger: silentLogger(), metrics });
  batcher.publish("a", kill("1"));
  batcher.publish("a", kill("2"));
  batcher.publish("b", kill("3"));
  t.notThrows(() => batcher.flush());
  await tick();
  t.is(metrics.get("messages_send_failed"), 3);
  t.is(metrics.get("messages_sent"), 0);
});

test("batcher - until the turn: what callbacks of one turn publish leaves together", async (t) => {
  const taskIds = (p: { messages: Message[] }) =>
    p.messages.map((m) => (m as { taskId: string }).taskId);
  // two callbacks of one turn (as the exits of two child processes): each is a task of its own
  const twoCallbacks = async (batcher: Batcher) => {
    const ran = Promise.all([
      new Promise<void>((resolve) =>
        setImmediate(() => {
          batcher.publish("a", kill("t1"));
          resolve();
        }),
      ),
      new Promise<void>((resolve) =>
        setImmediate(() => {
          batcher.publish("a", kill("t2"));
          resolve();
        }),
      ),
    ]);
    await ran;
    await tick();
  };
  const perTask = recorder();
  await twoCallbacks(new Batcher(perTask.nc, { logger: silentLogger(), metrics: new Metrics() }));
  t.deepEqual(perTask.published.map(taskIds), [["t1"], ["t2"]], "by default: one payload per task");
  const perTurn = recorder();
  await twoCallbacks(
    new Batcher(perTurn.nc, { logger: silentLogger(), metrics: new Metrics(), until: "turn" }),
  );
  t.deepEqual(perTurn.published.map(taskIds), [["t1", "t2"]], "until the turn: one envelope");
});

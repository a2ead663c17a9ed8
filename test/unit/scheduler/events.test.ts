import test from "ava";
import { EventQueue, SchedulerEventHub } from "../../../actors/scheduler/events.ts";

test("event queue - yields pushed items in order, then ends after close", async (t) => {
  const queue = new EventQueue<number>();
  queue.push(1);
  const pending = queue.next();
  queue.push(2);
  queue.close();
  queue.push(3); // ignored after close
  const seen: number[] = [];
  for await (const n of queue) seen.push(n);
  t.deepEqual((await pending).value, 1);
  t.deepEqual(seen, [2]);
});

test("event queue - a waiting consumer is woken by push and by close", async (t) => {
  const queue = new EventQueue<string>();
  const first = queue.next();
  queue.push("a");
  t.deepEqual(await first, { value: "a", done: false });
  const second = queue.next();
  queue.close();
  t.deepEqual(await second, { value: undefined, done: true });
});

test("event hub - runs the handlers of a type in order, awaiting async ones, and collects their errors", async (t) => {
  const hub = new SchedulerEventHub();
  const log: string[] = [];
  hub.on("rescind", async ({ offerId }) => {
    await Promise.resolve();
    log.push(`a:${offerId}`);
  });
  hub.on("rescind", () => {
    log.push("b");
    throw new Error("handler bug");
  });
  hub.on("offers", () => {
    log.push("offers");
  });
  const errors = await hub.deliver("rescind", { offerId: "o1" });
  t.deepEqual(log, ["a:o1", "b"]);
  t.is(errors.length, 1);
  t.is((errors[0] as Error).message, "handler bug");
});

test("event hub - off() removes a handler; iterators see every event type", async (t) => {
  const hub = new SchedulerEventHub();
  let calls = 0;
  const off = hub.on("heartbeat", () => {
    calls++;
  });
  const iterator = hub.iterator();
  await hub.deliver("heartbeat", {});
  off();
  await hub.deliver("heartbeat", {});
  await hub.deliver("rescind", { offerId: "x" });
  hub.close();
  const types: string[] = [];
  for await (const e of iterator) types.push(e.type);
  t.is(calls, 1);
  t.deepEqual(types, ["heartbeat", "heartbeat", "rescind"]);
});

test("event hub - breaking out of an iterator detaches it", async (t) => {
  const hub = new SchedulerEventHub();
  const iterator = hub.iterator();
  await hub.deliver("heartbeat", {});
  for await (const e of iterator) {
    t.is(e.type, "heartbeat");
    break;
  }
  t.false(hub.hasListeners("offers"));
});

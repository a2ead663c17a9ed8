import type { NatsConnection } from "@nats-io/nats-core";
import anyTest, { type TestFn } from "ava";
import { pack } from "msgpackr";
import { Batcher } from "../../../infra/batch.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { serve } from "../../../infra/dispatch.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { decodeReply, encode, encodeBatch } from "../../../protocol/codec.ts";
import { AgoraError, ErrorCode, isAgoraError } from "../../../protocol/errors.ts";
import { unbatch } from "../../helpers/messages.ts";
import { useNatsServer } from "../../helpers/nats.ts";

const test = anyTest as TestFn<{ nc: NatsConnection }>;

test.serial.after.always(async (t) => {
  if (t.context.nc) await closeGracefully(t.context.nc);
});
const nats = useNatsServer(test);
test.serial.before(async (t) => {
  t.context = { nc: await connect({ servers: nats().url, name: "dispatch-test" }) };
});

test("dispatch - replies to requests, rejects bad input with a typed error, keeps serving", async (t) => {
  const { nc } = t.context;
  const metrics = new Metrics();
  const seen: string[] = [];
  const sub = serve(
    nc,
    "test.dispatch.a",
    { types: ["scheduler.kill", "scheduler.revive"], logger: silentLogger(), metrics },
    (msg) => {
      seen.push(msg.type);
      if (msg.type === "scheduler.kill" && msg.taskId === "boom") {
        throw new AgoraError(ErrorCode.NotFound, "no such task");
      }
      if (msg.type === "scheduler.kill" && msg.taskId === "crash") throw new Error("bug");
      return undefined;
    },
  );
  const ask = async (data: Uint8Array) =>
    decodeReply((await nc.request("test.dispatch.a", data, { timeout: 2000 })).data, ["ok"]);

  t.deepEqual(await ask(encode({ type: "scheduler.kill", taskId: "t1" })), { type: "ok" });
  const bad: Array<[Uint8Array, string]> = [
    [new Uint8Array([1, 2, 3, 0xc1]), ErrorCode.BadMessage],
    [pack({ v: 1, type: "scheduler.kill", taskId: 5 }), ErrorCode.InvalidMessage],
    [pack({ v: 9, type: "scheduler.kill", taskId: "x" }), ErrorCode.UnsupportedVersion],
    [encode({ type: "scheduler.suppress" }), ErrorCode.UnknownType],
    [encode({ type: "scheduler.kill", taskId: "boom" }), ErrorCode.NotFound],
    [encode({ type: "scheduler.kill", taskId: "crash" }), ErrorCode.Internal],
  ];
  for (const [data, code] of bad) {
    const err = await t.throwsAsync(ask(data));
    t.true(isAgoraError(err, code as ErrorCode), `${code}: ${err?.message}`);
  }
  t.deepEqual(await ask(encode({ type: "scheduler.revive" })), { type: "ok" });
  t.is(metrics.get("messages_invalid"), 4);
  t.is(metrics.get("messages_failed"), 2);
  t.deepEqual(seen, ["scheduler.kill", "scheduler.kill", "scheduler.kill", "scheduler.revive"]);
  sub.unsubscribe();
});

test("dispatch - a bad published message is counted and dropped", async (t) => {
  const { nc } = t.context;
  const metrics = new Metrics();
  let handled = 0;
  const sub = serve(
    nc,
    "test.dispatch.b",
    { types: ["agent.heartbeat"], logger: silentLogger(), metrics },
    () => {
      handled++;
      return undefined;
    },
  );
  nc.publish("test.dispatch.b", new Uint8Array([0xff, 0xfe]));
  nc.publish("test.dispatch.b", encode({ type: "agent.heartbeat" }));
  // a request after the publishes: replies arrive in order on one subscription
  nc.publish("test.dispatch.b", encode({ type: "agent.heartbeat" }));
  await nc.flush();
  await nc.request("test.dispatch.b", encode({ type: "agent.heartbeat" }), { timeout: 2000 });
  t.is(handled, 3);
  t.is(metrics.get("messages_invalid"), 1);
  sub.unsubscribe();
});

test("dispatch - a batch's elements are handled in order, each as if it came alone", async (t) => {
  const { nc } = t.context;
  const metrics = new Metrics();
  const seen: string[] = [];
  const rejected: string[] = [];
  const sub = serve(
    nc,
    "test.dispatch.c",
    {
      types: ["scheduler.kill", "scheduler.revive"],
      logger: silentLogger(),
      metrics,
      onReject: (error) => rejected.push(error.code),
    },
    (msg) => {
      seen.push(msg.type === "scheduler.kill" ? msg.taskId : msg.type);
      if (msg.type === "scheduler.kill" && msg.taskId === "crash") throw new Error("bug");
      return undefined;
    },
  );
  nc.publish(
    "test.dispatch.c",
    pack({
      v: 1,
      type: "batch",
      messages: [
        { type: "scheduler.kill", taskId: "t1" },
        { type: "scheduler.kill", taskId: 5 },
        { type: "scheduler.suppress" },
        { type: "scheduler.kill", taskId: "crash" },
        { type: "batch", messages: [{ type: "scheduler.revive" }] },
        { type: "scheduler.revive" },
        { type: "scheduler.kill", taskId: "t2" },
      ],
    }),
  );
  nc.publish("test.dispatch.c", encodeBatch([{ type: "scheduler.kill", taskId: "t3" }]));
  // a batch sent as a request is refused with an error reply, and not handled
  const reply = await nc.request(
    "test.dispatch.c",
    encodeBatch([{ type: "scheduler.kill", taskId: "t4" }, { type: "scheduler.revive" }]),
    { timeout: 2000 },
  );
  const err = t.throws(() => decodeReply(reply.data, ["ok"]));
  t.true(isAgoraError(err, ErrorCode.InvalidMessage), err?.message);
  t.deepEqual(seen, ["t1", "crash", "scheduler.revive", "t2", "t3"]);
  t.deepEqual(rejected, [
    ErrorCode.InvalidMessage,
    ErrorCode.UnknownType,
    ErrorCode.InvalidMessage,
  ]);
  t.is(metrics.get("messages_received"), 5);
  t.is(metrics.get("messages_invalid"), 4);
  t.is(metrics.get("messages_failed"), 1);
  sub.unsubscribe();
});

test("dispatch - a reply never overtakes what the handler queued before it", async (t) => {
  const { nc } = t.context;
  const metrics = new Metrics();
  const batcher = new Batcher(nc, { logger: silentLogger(), metrics });
  const order: string[] = [];
  const events = nc.subscribe("test.dispatch.events", {
    callback: (_e, m) => {
      for (const msg of unbatch(m.data)) order.push(msg.type);
    },
  });
  const sub = serve(
    nc,
    "test.dispatch.d",
    {
      types: ["scheduler.revive"],
      logger: silentLogger(),
      metrics,
      beforeReply: () => batcher.flush(),
    },
    () => {
      batcher.publish("test.dispatch.events", { type: "event.heartbeat" });
      batcher.publish("test.dispatch.events", { type: "event.heartbeat" });
      return undefined;
    },
  );
  let replied: () => void = () => {};
  const reply = new Promise<void>((resolve) => {
    replied = resolve;
  });
  const replies = nc.subscribe("test.dispatch.replies", {
    callback: () => {
      order.push("reply");
      replied();
    },
  });
  await nc.flush();
  nc.publish("test.dispatch.d", encode({ type: "scheduler.revive" }), {
    reply: "test.dispatch.replies",
  });
  // one connection receives in the order the server got them: what came before the reply is in
  await reply;
  t.deepEqual(order, ["event.heartbeat", "event.heartbeat", "reply"]);
  t.is(metrics.get("batches_sent"), 1);
  for (const s of [sub, events, replies]) s.unsubscribe();
});

test("dispatch - while the actor is not active nothing is answered, not even an error", async (t) => {
  const { nc } = t.context;
  const metrics = new Metrics();
  let asked = 0;
  const sub = serve(
    nc,
    "test.dispatch.e",
    {
      types: ["scheduler.kill"],
      logger: silentLogger(),
      metrics,
      // inactive for the first reply only (a master that lost its lease, then leads again)
      active: () => asked++ > 0,
    },
    (msg) => {
      if (msg.taskId === "second") throw new AgoraError(ErrorCode.NotFound, "second");
      return undefined;
    },
  );
  const answers: string[] = [];
  let answered: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    answered = resolve;
  });
  const replies = nc.subscribe("test.dispatch.inactive", {
    callback: (_e, m) => {
      try {
        answers.push(decodeReply(m.data, ["ok"]).type);
      } catch (err) {
        answers.push(isAgoraError(err) ? err.message : String(err));
      }
      answered();
    },
  });
  await nc.flush();
  for (const taskId of ["first", "second"]) {
    nc.publish("test.dispatch.e", encode({ type: "scheduler.kill", taskId }), {
      reply: "test.dispatch.inactive",
    });
  }
  // handled in order: had the first been answered, its reply would have come first
  await first;
  t.deepEqual(answers, ["second"]);
  t.is(metrics.get("replies_dropped_inactive"), 1);
  for (const s of [sub, replies]) s.unsubscribe();
});

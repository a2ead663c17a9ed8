import test from "ava";
import { createActor } from "xstate";
import {
  type LinkMachineInput,
  LinkPhase,
  linkMachine,
  phaseOf,
} from "../../../actors/scheduler/link.machine.ts";
import { meansNotSubscribed } from "../../../actors/scheduler/link.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { machineClock } from "../../../infra/machine-clock.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

const INPUT: LinkMachineInput = {
  silenceIntervals: 3,
  backoffMs: 500,
  backoffMaxMs: 10_000,
  resubscribeJitterMs: 50,
  resubscribeBackoffMs: 100,
  resubscribeBackoffMaxMs: 500,
};

/** The machine with recording effects on a virtual clock (the default delays have no jitter). */
function link(input: Partial<LinkMachineInput> = {}) {
  const clock = new VirtualClock();
  const effects: string[] = [];
  const actor = createActor(
    linkMachine.provide({
      actions: {
        sendSubscribe: () => effects.push("subscribe"),
        sendHeartbeat: () => effects.push("heartbeat"),
        notifySubscribed: (_, params) =>
          effects.push(params.resubscribed ? "resubscribed" : "subscribed"),
        notifyLost: ({ context }) => effects.push(`lost: ${context.reason}`),
        notifyFailed: ({ context }) => effects.push(`failed: ${context.error?.code}`),
      },
    }),
    { clock: machineClock(clock), input: { ...INPUT, ...input } },
  ).start();
  const take = () => effects.splice(0);
  const phase = () => phaseOf(actor.getSnapshot().value);
  const subscribed = (masterId = "m1", heartbeatIntervalMs = 1000) =>
    actor.send({ type: "SUBSCRIBED", masterId, heartbeatIntervalMs });
  const fail = (code: ErrorCode = ErrorCode.Unavailable) =>
    actor.send({ type: "SUBSCRIBE_FAILED", error: new AgoraError(code, "no master") });
  return { clock, actor, take, phase, subscribed, fail };
}

test("link machine - subscribes, retries with doubling backoff, then heartbeats", (t) => {
  const l = link();
  t.is(l.phase(), LinkPhase.Idle);
  l.actor.send({ type: "START" });
  t.is(l.phase(), LinkPhase.Subscribing);
  t.deepEqual(l.take(), ["subscribe"]);
  l.fail();
  l.clock.advance(499);
  t.deepEqual(l.take(), []);
  l.clock.advance(1);
  t.deepEqual(l.take(), ["subscribe"]);
  l.fail();
  l.clock.advance(999);
  t.deepEqual(l.take(), []);
  l.clock.advance(1);
  t.deepEqual(l.take(), ["subscribe"]);
  l.subscribed();
  t.is(l.phase(), LinkPhase.Subscribed);
  t.deepEqual(l.take(), ["subscribed"]);
  t.is(l.actor.getSnapshot().context.masterId, "m1");
  l.clock.advance(1000);
  l.actor.send({ type: "MASTER_ALIVE" });
  l.clock.advance(1000);
  t.deepEqual(l.take(), ["heartbeat", "heartbeat"]);
});

test("link machine - the master's signs of life keep it subscribed; silence resubscribes at once", (t) => {
  const l = link();
  l.actor.send({ type: "START" });
  l.subscribed("m1", 1000);
  l.take();
  for (let i = 0; i < 10; i++) {
    l.clock.advance(2500);
    l.actor.send({ type: "MASTER_ALIVE" });
  }
  t.is(l.phase(), LinkPhase.Subscribed);
  t.false(l.take().some((e) => e.startsWith("lost")));
  l.clock.advance(3000);
  t.is(l.phase(), LinkPhase.Disconnected);
  t.deepEqual(l.take(), [
    "heartbeat",
    "heartbeat",
    "lost: no heartbeat from the master for 3000 ms",
    "subscribe",
  ]);
  // nobody answers (an election): retries with a backoff capped at 500 ms
  const retries: number[] = [];
  for (let i = 0; i < 6; i++) {
    l.fail();
    const from = l.clock.now();
    while (!l.take().includes("subscribe")) l.clock.advance(10);
    retries.push(l.clock.now() - from);
  }
  t.deepEqual(retries, [100, 200, 400, 500, 500, 500]);
  l.subscribed("m2", 1000);
  t.is(l.phase(), LinkPhase.Subscribed);
  t.deepEqual(l.take(), ["resubscribed"]);
  t.is(l.actor.getSnapshot().context.masterId, "m2");
});

test("link machine - NOT_SUBSCRIBED resubscribes after the jitter, and calls can go on after", (t) => {
  const l = link();
  l.actor.send({ type: "START" });
  l.subscribed();
  l.take();
  l.actor.send({ type: "NOT_SUBSCRIBED", reason: "framework f is not subscribed" });
  t.is(l.phase(), LinkPhase.FailingOver);
  t.deepEqual(l.take(), [
    "lost: the master does not know the subscription: framework f is not subscribed",
  ]);
  l.clock.advance(49);
  t.deepEqual(l.take(), []);
  l.clock.advance(1);
  t.deepEqual(l.take(), ["subscribe"]);
  // no heartbeats while failing over
  l.clock.advance(5000);
  t.deepEqual(l.take(), []);
  l.subscribed("m1");
  t.deepEqual(l.take(), ["resubscribed"]);
  l.clock.advance(1000);
  t.deepEqual(l.take(), ["heartbeat"]);
});

test("link machine - event.resubscribe from a new leader resubscribes; from the current master it is ignored", (t) => {
  const l = link();
  l.actor.send({ type: "START" });
  l.subscribed("m1");
  l.take();
  l.actor.send({ type: "RESUBSCRIBE", masterId: "m1" });
  t.is(l.phase(), LinkPhase.Subscribed);
  l.actor.send({ type: "RESUBSCRIBE", masterId: "m2" });
  t.is(l.phase(), LinkPhase.FailingOver);
  t.deepEqual(l.take(), ["lost: master m2 took over as the leader"]);
  l.clock.advance(50);
  t.deepEqual(l.take(), ["subscribe"]);
  l.fail();
  // the leader announcing itself again cuts the backoff short
  l.actor.send({ type: "RESUBSCRIBE", masterId: "m2" });
  t.deepEqual(l.take(), ["subscribe"]);
  // and asks again when the announcement comes while an attempt is in flight (a paused old leader)
  l.actor.send({ type: "RESUBSCRIBE", masterId: "m2" });
  t.deepEqual(l.take(), ["subscribe"]);
  l.subscribed("m2");
  t.is(l.phase(), LinkPhase.Subscribed);
  t.deepEqual(l.take(), ["resubscribed"]);
});

test("link machine - a new leader while disconnected moves to failing over", (t) => {
  const l = link();
  l.actor.send({ type: "START" });
  l.subscribed("m1", 100);
  l.clock.advance(300);
  t.is(l.phase(), LinkPhase.Disconnected);
  l.fail();
  l.take();
  l.actor.send({ type: "RESUBSCRIBE", masterId: "m2" });
  t.is(l.phase(), LinkPhase.FailingOver);
  l.clock.advance(50);
  t.deepEqual(l.take(), ["subscribe"]);
});

test("link machine - a NATS reconnect resubscribes", (t) => {
  const l = link();
  l.actor.send({ type: "START" });
  l.subscribed();
  l.take();
  l.actor.send({ type: "NATS_RECONNECTED" });
  t.is(l.phase(), LinkPhase.FailingOver);
  t.deepEqual(l.take(), ["lost: NATS reconnected"]);
});

test("link machine - a refusal fails the link, on the first subscription and on a resubscription", (t) => {
  const first = link();
  first.actor.send({ type: "START" });
  first.fail(ErrorCode.Forbidden);
  t.is(first.phase(), LinkPhase.Failed);
  t.deepEqual(first.take(), ["subscribe", "failed: FORBIDDEN"]);
  first.clock.advance(60_000);
  t.deepEqual(first.take(), []);

  const later = link();
  later.actor.send({ type: "START" });
  later.subscribed();
  later.actor.send({ type: "NOT_SUBSCRIBED", reason: "new leader" });
  later.clock.advance(50);
  later.take();
  later.fail(ErrorCode.InvalidState);
  t.is(later.phase(), LinkPhase.Failed);
  t.deepEqual(later.take(), ["failed: INVALID_STATE"]);
  later.clock.advance(60_000);
  t.deepEqual(later.take(), []);
});

test("link machine - stop ends every timer, from any state", (t) => {
  for (const prepare of [
    (l: ReturnType<typeof link>) => l.fail(),
    (l: ReturnType<typeof link>) => l.subscribed(),
    (l: ReturnType<typeof link>) => {
      l.subscribed();
      l.actor.send({ type: "NOT_SUBSCRIBED", reason: "x" });
    },
  ]) {
    const l = link();
    l.actor.send({ type: "START" });
    prepare(l);
    l.take();
    l.actor.send({ type: "STOP" });
    t.is(l.phase(), LinkPhase.Stopped);
    l.clock.advance(60_000);
    t.deepEqual(l.take(), []);
    t.is(l.clock.nextAt(), undefined);
  }
});

test("link machine - answers of an attempt the machine left are ignored", (t) => {
  const l = link();
  l.actor.send({ type: "START" });
  l.subscribed();
  l.take();
  // a late SUBSCRIBE_FAILED while subscribed changes nothing
  l.fail(ErrorCode.Forbidden);
  t.is(l.phase(), LinkPhase.Subscribed);
  l.actor.send({ type: "SUBSCRIBED", masterId: "other", heartbeatIntervalMs: 5 });
  t.is(l.actor.getSnapshot().context.masterId, "m1");
  t.deepEqual(l.take(), []);
});

test("link machine - a leader announcing itself cuts the first subscription's backoff short", (t) => {
  const l = link();
  l.actor.send({ type: "START" });
  l.fail();

  t.deepEqual(l.take(), ["subscribe"]);
  l.actor.send({ type: "RESUBSCRIBE", masterId: "m1" });
  t.deepEqual(l.take(), ["subscribe"]);
  l.subscribed("m1");
  t.deepEqual(l.take(), ["subscribed"]);
});

test("link - NOT_SUBSCRIBED, and the older masters' INVALID_STATE / NOT_FOUND for the framework, mean resubscribe", (t) => {
  t.true(meansNotSubscribed("NOT_SUBSCRIBED", "anything"));
  t.true(
    meansNotSubscribed(
      "INVALID_STATE",
      "scheduler.heartbeat: framework f1 is not subscribed; resubscribe with its frameworkId",
    ),
  );
  t.true(meansNotSubscribed("NOT_FOUND", "framework f1 is not known"));
  t.false(meansNotSubscribed("NOT_FOUND", "offer o1 is not known"));
  t.false(meansNotSubscribed("INVALID_STATE", "agent a1 is not active"));
  t.false(meansNotSubscribed("FORBIDDEN", "framework f1 is not subscribed"));
});

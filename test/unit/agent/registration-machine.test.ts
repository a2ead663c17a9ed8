import test from "ava";
import { createActor } from "xstate";
import { registrationMachine } from "../../../actors/agent/registration.machine.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { machineClock } from "../../../infra/machine-clock.ts";

/** The machine with recording effects and a backoff of 100 ms · 2^attempt (cap 800, 400 after a lost master). */
function start() {
  const clock = new VirtualClock(0);
  const effects: string[] = [];
  const log = (name: string) => () => effects.push(`${clock.now()} ${name}`);
  const actor = createActor(
    registrationMachine.provide({
      actions: {
        recover: log("recover"),
        sendRegistration: log("register"),
        sendHeartbeat: log("heartbeat"),
        disconnected: log("disconnected"),
      },
      delays: {
        retryDelay: ({ context }) =>
          Math.min(context.lostMaster ? 400 : 800, 100 * 2 ** context.attempt),
      },
    }),
    { clock: machineClock(clock) },
  );
  actor.start();
  return { clock, effects, actor, state: () => JSON.stringify(actor.getSnapshot().value) };
}

test("registration machine - recovers first, then registers; failures back off exponentially, capped", (t) => {
  const { clock, effects, actor, state } = start();
  actor.send({ type: "START" });
  t.is(state(), '"recovering"');
  t.deepEqual(effects, ["0 recover"]);
  actor.send({ type: "RECOVERED" });
  t.is(state(), '{"registering":"requesting"}');
  for (let i = 0; i < 5; i++) {
    actor.send({ type: "FAILED" });
    clock.advanceTo(clock.nextAt()!);
  }
  t.deepEqual(effects, [
    "0 recover",
    "0 register",
    "100 register",
    "300 register",
    "700 register",
    "1500 register",
    "2300 register",
  ]);
});

test("registration machine - registered heartbeats every interval until the master is lost, then reregisters with the failover cap", (t) => {
  const { clock, effects, actor, state } = start();
  actor.send({ type: "START" });
  actor.send({ type: "RECOVERED" });
  actor.send({ type: "REGISTERED", heartbeatMs: 1000 });
  t.is(state(), '"registered"');
  clock.advance(3000);
  t.deepEqual(effects.slice(2), ["1000 heartbeat", "2000 heartbeat", "3000 heartbeat"]);
  effects.length = 0;
  actor.send({ type: "MASTER_LOST" });
  t.is(state(), '{"registering":"backoff"}');
  for (let i = 0; i < 5; i++) {
    clock.advanceTo(clock.nextAt()!);
    actor.send({ type: "FAILED" });
  }
  // 100, 200, 400, then capped at 400: a failover brings agents back quickly.
  t.deepEqual(effects, [
    "3000 disconnected",
    "3100 register",
    "3300 register",
    "3700 register",
    "4100 register",
    "4500 register",
  ]);
});

test("registration machine - a master's reregister request reregisters at once; a refusal retries at once; stop is final", (t) => {
  const { clock, effects, actor, state } = start();
  actor.send({ type: "START" });
  actor.send({ type: "RECOVERED" });
  actor.send({ type: "REGISTERED", heartbeatMs: 1000 });
  actor.send({ type: "REREGISTER" });
  t.is(state(), '{"registering":"requesting"}');
  actor.send({ type: "REFUSED" });
  t.deepEqual(effects, ["0 recover", "0 register", "0 disconnected", "0 register", "0 register"]);
  actor.send({ type: "STOP" });
  t.is(state(), '"stopped"');
  t.is(actor.getSnapshot().status, "done");
  clock.advance(10_000);
  t.is(effects.length, 5);
});

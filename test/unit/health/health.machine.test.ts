import test from "ava";
import { createActor } from "xstate";
import {
  HealthPhase,
  healthMachine,
  healthPhaseOf,
  inGracePeriod,
} from "../../../actors/executor/health/health.machine.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { machineClock } from "../../../infra/machine-clock.ts";

/** The bare machine with recording effects on a virtual clock. */
function machine() {
  const clock = new VirtualClock();
  const effects: string[] = [];
  const actor = createActor(
    healthMachine.provide({
      actions: {
        runCheck: ({ context }) => effects.push(`run ${context.seq}`),
        abortCheck: () => effects.push("abort"),
        notifyHealth: ({ context }) => effects.push(`health ${context.healthy}`),
        requestKill: () => effects.push("kill"),
        noteIgnored: () => effects.push("ignored"),
        noteTimeout: () => effects.push("timeout"),
      },
    }),
    {
      clock: machineClock(clock),
      input: {
        kind: "TCP",
        delayMs: 1000,
        intervalMs: 500,
        timeoutMs: 200,
        consecutiveFailures: 2,
        gracePeriodMs: 1500,
      },
    },
  ).start();
  const take = () => effects.splice(0);
  const value = () => actor.getSnapshot().value;
  const done = (seq: number, ok: boolean) =>
    actor.send({ type: "CHECK_DONE", seq, ok, message: ok ? undefined : "refused" });
  return { clock, actor, take, value, done };
}

test("health machine - delayed, then a grace period that includes the delay, then counted failures", (t) => {
  const m = machine();
  t.is(healthPhaseOf(m.value()), HealthPhase.Idle);
  m.actor.send({ type: "START" });
  t.deepEqual(m.value(), { active: { grace: "on", probe: "delayed" } });
  m.clock.advance(1000);
  t.deepEqual(m.take(), ["run 1"]);
  m.done(1, false);
  t.deepEqual(m.take(), ["ignored"]);
  t.true(inGracePeriod(m.value()));
  m.clock.advance(500);
  t.deepEqual(m.value(), { active: { grace: "off", probe: "checking" } });
  t.deepEqual(m.take(), ["run 2"]);
  m.done(1, true); // stale: an older check's answer
  t.is(healthPhaseOf(m.value()), HealthPhase.Checking);
  m.done(2, false);
  t.deepEqual(m.take(), ["health false"]);
  m.clock.advance(500);
  m.clock.advance(200);
  t.deepEqual(m.take(), ["run 3", "timeout", "abort"]);
  m.done(3, true); // ended after its abort: still a failure
  t.deepEqual(m.take(), ["kill"]);
  t.is(healthPhaseOf(m.value()), HealthPhase.Killing);
  m.clock.advance(60_000);
  t.deepEqual(m.take(), []);
  m.actor.send({ type: "STOP" });
  t.is(healthPhaseOf(m.value()), HealthPhase.Stopped);
  t.is(m.actor.getSnapshot().status, "done");
});

test("health machine - a pass ends the grace period and is reported once", (t) => {
  const m = machine();
  m.actor.send({ type: "START" });
  m.clock.advance(1000);
  m.done(1, true);
  t.false(inGracePeriod(m.value()));
  m.clock.advance(500);
  m.done(2, true);
  t.deepEqual(m.take(), ["run 1", "health true", "run 2"]);
  m.actor.send({ type: "STOP" });
  t.is(healthPhaseOf(m.value()), HealthPhase.Stopped);
});

test("health machine - stopping waits for the check in flight", (t) => {
  const m = machine();
  m.actor.send({ type: "START" });
  m.clock.advance(1000);
  m.take();
  m.actor.send({ type: "STOP" });
  t.is(healthPhaseOf(m.value()), HealthPhase.Stopping);
  t.deepEqual(m.take(), ["abort"]);
  m.done(1, false);
  t.is(healthPhaseOf(m.value()), HealthPhase.Stopped);
  t.deepEqual(m.take(), []);
  t.is(m.clock.nextAt(), undefined);
});

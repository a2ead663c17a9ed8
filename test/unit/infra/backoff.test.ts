import test from "ava";
import { Backoff, backoffDelay } from "../../../infra/backoff.ts";
import { VirtualClock } from "../../../infra/clock.ts";

test("backoff - doubles from the initial delay up to the cap", (t) => {
  const policy = { initialMs: 100, maxMs: 1000 };
  t.deepEqual(
    [0, 1, 2, 3, 4, 5, 40].map((n) => backoffDelay(policy, n)),
    [100, 200, 400, 800, 1000, 1000, 1000],
  );
  t.is(backoffDelay({ ...policy, factor: 3 }, 2), 900);
});

test("backoff - jitter draws in the top share of the delay", (t) => {
  const policy = { initialMs: 1000, maxMs: 60_000, jitter: 0.5 };
  t.is(
    backoffDelay(policy, 2, () => 0),
    2000,
  );
  t.is(
    backoffDelay(policy, 2, () => 0.5),
    3000,
  );
  t.is(
    backoffDelay(policy, 2, () => 0.999),
    3998,
  );
  t.is(
    backoffDelay({ ...policy, jitter: 1 }, 0, () => 0),
    0,
  );
});

test("backoff - schedule fires on the clock, counts attempts, reset starts over", (t) => {
  const clock = new VirtualClock();
  const backoff = new Backoff({ clock, initialMs: 100, maxMs: 400 });
  const fired: number[] = [];
  const retry = () => {
    fired.push(clock.now());
    if (fired.length < 5) backoff.schedule(retry);
  };
  backoff.schedule(retry);
  clock.advance(10_000);
  t.deepEqual(fired, [100, 300, 700, 1100, 1500]);
  t.is(backoff.attempt, 5);
  backoff.reset();
  t.is(backoff.attempt, 0);
  t.is(backoff.peek(), 100);
  t.is(backoff.next(), 100);
  t.is(backoff.next(), 200);
});

test("backoff - cancel and reset stop a scheduled retry; a new schedule replaces the old", (t) => {
  const clock = new VirtualClock();
  const backoff = new Backoff({ clock, initialMs: 50, maxMs: 50 });
  let fired = 0;
  backoff.schedule(() => fired++);
  backoff.cancel();
  backoff.schedule(() => fired++);
  backoff.reset();
  clock.advance(1000);
  t.is(fired, 0);
  backoff.schedule(() => fired++);
  backoff.schedule(() => fired++);
  clock.advance(1000);
  t.is(fired, 1);
});

test("backoff - wait resolves after the delay on the virtual clock", async (t) => {
  const clock = new VirtualClock();
  const backoff = new Backoff({ clock, initialMs: 250, maxMs: 1000, random: () => 0 });
  const waited = backoff.wait();
  t.is(clock.nextAt(), 250);
  clock.advance(250);
  t.is(await waited, 250);
});

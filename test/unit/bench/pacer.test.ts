import test from "ava";
import { Pacer } from "../../../bench/load/pacer.ts";

/** Launches offers of `perOffer` tasks whenever the pacer lets them, on a clock stepped by 1 ms. */
function run(rate: number | undefined, perOffer: number, ms: number): number[] {
  let now = 0;
  const pacer = new Pacer(rate, () => now);
  const launchedBy: number[] = [];
  let launched = 0;
  for (now = 0; now <= ms; now += 1) {
    while (pacer.ready()) {
      pacer.take(perOffer);
      launched += perOffer;
      if (rate === undefined && launched >= 10_000) break;
    }
    launchedBy.push(launched);
  }
  return launchedBy;
}

test("load pacer - over any stretch of time the launches keep to the rate, plus one burst and one offer", (t) => {
  const rate = 1000;
  const perOffer = 5;
  const burst = Math.max(1, rate * 0.02);
  const launchedBy = run(rate, perOffer, 2000);
  for (const at of [0, 10, 100, 500, 1000, 2000]) {
    const allowed = (at * rate) / 1000 + burst + perOffer;
    t.true(
      launchedBy[at]! <= allowed,
      `${launchedBy[at]} launched by ${at} ms, at most ${allowed}`,
    );
  }
  // and the rate is reached, not just kept under
  t.true(launchedBy[2000]! >= 2000 - perOffer, `${launchedBy[2000]} launched in 2 s at 1000/s`);
});

test("load pacer - a whole offer is taken while any token is left (the bucket goes into debt)", (t) => {
  let now = 0;
  const pacer = new Pacer(10, () => now);
  t.true(pacer.ready());
  pacer.take(50);
  t.false(pacer.ready());
  // one token to start with, 49 of debt at 10/s: a whole token again after 5 s
  t.is(Math.round(pacer.waitMs()), 5000);
  now = 4800;
  t.false(pacer.ready());
  now = 4901;
  t.true(pacer.ready());
});

test("load pacer - without a rate (or a rate ≤ 0) nothing waits", (t) => {
  for (const rate of [undefined, 0, -5]) {
    const pacer = new Pacer(rate, () => 0);
    pacer.take(1_000_000);
    t.true(pacer.ready());
    t.is(pacer.waitMs(), 0);
    t.is(pacer.rate, undefined);
  }
});

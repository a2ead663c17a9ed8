import test from "ava";
import { systemClock, VirtualClock } from "../../../infra/clock.ts";

test("clock - a virtual clock fires timers in time order and repeats intervals", (t) => {
  const clock = new VirtualClock(1000);
  const fired: string[] = [];
  clock.after(300, () => fired.push(`b@${clock.now()}`));
  clock.after(100, () => fired.push(`a@${clock.now()}`));
  const every = clock.every(250, () => fired.push(`e@${clock.now()}`));
  clock.advance(600);
  t.deepEqual(fired, ["a@1100", "e@1250", "b@1300", "e@1500"]);
  t.is(clock.now(), 1600);
  every.cancel();
  clock.advance(1000);
  t.is(fired.length, 4);
  t.is(clock.nextAt(), undefined);
});

test("clock - a cancelled timer never fires and a timer set while firing runs in order", (t) => {
  const clock = new VirtualClock();
  const fired: number[] = [];
  clock.after(10, () => fired.push(1)).cancel();
  clock.after(20, () => clock.after(5, () => fired.push(clock.now())));
  clock.advance(100);
  t.deepEqual(fired, [25]);
});

test("clock - a system timeout longer than Node's longest timer does not fire early", async (t) => {
  let fired = false;
  // a month: framework failover timeouts this long are common
  const long = systemClock.after(31 * 24 * 3600 * 1000, () => {
    fired = true;
  });
  const alive = setInterval(() => {}, 1000); // system timers are unref'd
  await new Promise<void>((resolve) => systemClock.after(20, resolve));
  clearInterval(alive);
  t.false(fired);
  long.cancel();
});

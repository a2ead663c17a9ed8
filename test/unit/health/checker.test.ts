import test from "ava";
import { HealthChecker, type HealthResult } from "../../../actors/executor/health/checker.ts";
import { HealthPhase } from "../../../actors/executor/health/health.machine.ts";
import type { Probe, ProbeResult } from "../../../actors/executor/health/probe.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { Metrics } from "../../../infra/metrics.ts";
import type { HealthCheck } from "../../../protocol/health.ts";

/** One call of the fake probe: the test settles it, or the checker aborts it. */
interface Call {
  settle(result: ProbeResult): void;
  signal: AbortSignal;
  at: number;
}

/** Lets the probe's promise chain reach the checker (no time passes on the virtual clock). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A checker on a virtual clock with a fake probe that records its calls. */
function harness(check: Partial<HealthCheck> = {}) {
  const clock = new VirtualClock(1_000_000);
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const probe: Probe = (signal) =>
    new Promise<ProbeResult>((resolve) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let done = false;
      const settle = (result: ProbeResult) => {
        if (done) return;
        done = true;
        inFlight--;
        resolve(result);
      };
      signal.addEventListener("abort", () =>
        settle({ ok: false, message: "aborted by the checker" }),
      );
      calls.push({ settle, signal, at: clock.now() });
    });
  const statuses: HealthResult[] = [];
  const kills: string[] = [];
  /** Both callbacks, in the order they were called. */
  const log: string[] = [];
  const metrics = new Metrics();
  const checker = new HealthChecker({
    check: { type: "TCP", tcp: { port: 1 }, ...check },
    clock,
    probe,
    metrics,
    onStatus: (result) => {
      statuses.push(result);
      log.push(`status ${result.healthy}`);
    },
    onUnhealthy: (message) => {
      kills.push(message);
      log.push("kill");
    },
  });
  /** Settles the latest call and lets the result through. */
  const answer = async (ok: boolean, message = "refused") => {
    const call = calls.at(-1);
    if (call === undefined) throw new Error("no check is running");
    call.settle(ok ? { ok: true } : { ok: false, message });
    await flush();
  };
  /** Advances to the next check and answers it. */
  const next = async (ok: boolean, message?: string) => {
    const before = calls.length;
    const at = clock.nextAt();
    if (at === undefined) throw new Error("no timer is set");
    clock.advanceTo(at);
    if (calls.length !== before + 1) throw new Error("no check started");
    await answer(ok, message);
  };
  return {
    clock,
    calls,
    statuses,
    kills,
    log,
    metrics,
    checker,
    answer,
    next,
    maxInFlight: () => maxInFlight,
  };
}

const QUICK = { delaySeconds: 0, intervalSeconds: 1, timeoutSeconds: 5, gracePeriodSeconds: 0 };

test("health checker - defaults are Mesos's: delay 15 s, interval 10 s, timeout 20 s, 3 failures, grace 10 s", (t) => {
  const h = harness({});
  t.like(h.checker.check, {
    delayMs: 15_000,
    intervalMs: 10_000,
    timeoutMs: 20_000,
    consecutiveFailures: 3,
    gracePeriodMs: 10_000,
  });
});

test("health checker - nothing runs before start, the first check after the delay", async (t) => {
  const h = harness({ ...QUICK, delaySeconds: 15 });
  t.is(h.checker.phase, HealthPhase.Idle);
  h.clock.advance(60_000);
  t.is(h.calls.length, 0);
  h.checker.start();
  t.is(h.checker.phase, HealthPhase.Delayed);
  h.clock.advance(14_999);
  t.is(h.calls.length, 0);
  h.clock.advance(1);
  t.is(h.calls.length, 1);
  t.is(h.checker.phase, HealthPhase.Checking);
  await h.answer(true);
  t.is(h.checker.phase, HealthPhase.Waiting);
});

test("health checker - the interval runs from the end of a check, and checks never overlap", async (t) => {
  const h = harness({ ...QUICK, intervalSeconds: 10, timeoutSeconds: 30 });
  h.checker.start();
  h.clock.advance(0);
  t.is(h.calls.length, 1);
  const start = h.clock.now();
  // the check takes 25 s: no second one meanwhile
  h.clock.advance(25_000);
  t.is(h.calls.length, 1);
  await h.answer(true);
  h.clock.advance(9_999);
  t.is(h.calls.length, 1);
  h.clock.advance(1);
  t.is(h.calls.length, 2);
  t.is(h.calls[1]!.at - start, 35_000);
  await h.answer(true);
  for (let i = 0; i < 5; i++) await h.next(i % 2 === 0);
  t.is(h.maxInFlight(), 1);
});

test("health checker - reports only changes of health, and the first result", async (t) => {
  const h = harness({ ...QUICK, consecutiveFailures: 10 });
  h.checker.start();
  h.clock.advance(0);
  await h.answer(true);
  await h.next(true);
  await h.next(true);
  t.deepEqual(h.statuses, [
    { healthy: true, consecutiveFailures: 0, message: "TCP health check passed" },
  ]);
  await h.next(false, "connection refused");
  await h.next(false, "connection refused again");
  t.is(h.statuses.length, 2);
  t.deepEqual(h.statuses[1], {
    healthy: false,
    consecutiveFailures: 1,
    message: "TCP health check failed: connection refused",
  });
  t.deepEqual(h.checker.health, { healthy: false, consecutiveFailures: 2 });
  await h.next(true);
  await h.next(true);
  t.is(h.statuses.length, 3);
  t.like(h.statuses[2], { healthy: true, consecutiveFailures: 0 });
  t.deepEqual(h.kills, []);
});

test("health checker - a first result that fails is reported too", async (t) => {
  const h = harness({ ...QUICK });
  h.checker.start();
  h.clock.advance(0);
  await h.answer(false, "nobody listens");
  t.deepEqual(h.statuses, [
    { healthy: false, consecutiveFailures: 1, message: "TCP health check failed: nobody listens" },
  ]);
});

test("health checker - failures in the grace period do not count, then they do", async (t) => {
  const h = harness({ ...QUICK, gracePeriodSeconds: 10, consecutiveFailures: 2 });
  h.checker.start();
  h.clock.advance(0);
  t.true(h.checker.inGracePeriod);
  await h.answer(false);
  // checks at 0, 1, ..., 9 s fail: all ignored
  while (h.clock.nextAt()! - 1_000_000 < 10_000) await h.next(false);
  t.deepEqual(h.statuses, []);
  t.deepEqual(h.kills, []);
  t.is(h.checker.health.consecutiveFailures, 0);
  h.clock.advanceTo(1_000_000 + 10_000);
  t.false(h.checker.inGracePeriod);
  await h.answer(false, "still down");
  t.deepEqual(h.statuses, [
    { healthy: false, consecutiveFailures: 1, message: "TCP health check failed: still down" },
  ]);
  await h.next(false, "still down");
  t.is(h.kills.length, 1);
});

test("health checker - the first success ends the grace period", async (t) => {
  const h = harness({ ...QUICK, gracePeriodSeconds: 60 });
  h.checker.start();
  h.clock.advance(0);
  await h.answer(false);
  t.deepEqual(h.statuses, []);
  await h.next(true);
  t.false(h.checker.inGracePeriod);
  await h.next(false, "gone");
  t.deepEqual(
    h.statuses.map((s) => s.healthy),
    [true, false],
  );
});

test("health checker - a grace period shorter than the delay has no effect", async (t) => {
  const h = harness({ ...QUICK, delaySeconds: 15, gracePeriodSeconds: 5 });
  h.checker.start();
  h.clock.advance(15_000);
  await h.answer(false);
  t.like(h.statuses, [{ healthy: false, consecutiveFailures: 1 }]);
});

test("health checker - asks once to kill the task after the consecutive failures, then checks no more", async (t) => {
  const h = harness({ ...QUICK, consecutiveFailures: 3 });
  h.checker.start();
  h.clock.advance(0);
  await h.answer(false, "down");
  await h.next(true);
  await h.next(false, "down");
  await h.next(false, "down");
  t.deepEqual(h.kills, []);
  await h.next(false, "down for good");
  t.deepEqual(h.kills, [
    "the task failed 3 health check(s) in a row; last: TCP health check failed: down for good",
  ]);
  t.is(h.checker.phase, HealthPhase.Killing);
  const calls = h.calls.length;
  h.clock.advance(3_600_000);
  await h.checker.stop();
  t.is(h.calls.length, calls);
  t.is(h.kills.length, 1);
  t.deepEqual(
    h.statuses.map((s) => [s.healthy, s.consecutiveFailures]),
    [
      [false, 1],
      [true, 0],
      [false, 1],
    ],
  );
});

test("health checker - one failure suffices when consecutiveFailures is 1", async (t) => {
  const h = harness({ ...QUICK, consecutiveFailures: 1 });
  h.checker.start();
  h.clock.advance(0);
  await h.answer(false);
  t.deepEqual(h.log, ["status false", "kill"]);
});

test("health checker - a check past its timeout is aborted and counts as a failure", async (t) => {
  const h = harness({ ...QUICK, timeoutSeconds: 2, intervalSeconds: 10 });
  h.checker.start();
  h.clock.advance(0);
  const first = h.calls[0]!;
  h.clock.advance(1_999);
  t.false(first.signal.aborted);
  h.clock.advance(1);
  t.true(first.signal.aborted);
  await flush();
  t.deepEqual(h.statuses, [
    {
      healthy: false,
      consecutiveFailures: 1,
      message: "TCP health check timed out after 2s (aborted by the checker)",
    },
  ]);
  t.is(h.metrics.get("health_check_timeouts"), 1);
  t.is(h.metrics.get("health_check_failures"), 1);
  t.is(h.metrics.get("health_checks"), 1);
  // the next one starts an interval after the abort
  h.clock.advance(9_999);
  t.is(h.calls.length, 1);
  h.clock.advance(1);
  t.is(h.calls.length, 2);
});

test("health checker - a check that passes only after its timeout still failed", async (t) => {
  const h = harness({ ...QUICK, timeoutSeconds: 1 });
  h.checker.start();
  h.clock.advance(0);
  // a probe that ignores the abort and answers ok late
  const late = h.calls[0]!;
  h.clock.advance(1_000);
  await flush();
  late.settle({ ok: true });
  await flush();
  t.like(h.statuses, [{ healthy: false }]);
});

test("health checker - timeout 0 lets a check take as long as it takes", async (t) => {
  const h = harness({ ...QUICK, timeoutSeconds: 0 });
  h.checker.start();
  h.clock.advance(0);
  h.clock.advance(3_600_000);
  t.false(h.calls[0]!.signal.aborted);
  await h.answer(true);
  t.like(h.statuses, [{ healthy: true }]);
});

test("health checker - stop aborts the check in flight and waits for it; no check after", async (t) => {
  const h = harness({ ...QUICK });
  h.checker.start();
  h.clock.advance(0);
  const inFlight = h.calls[0]!;
  const stopped = h.checker.stop();
  t.true(inFlight.signal.aborted);
  await stopped;
  t.is(h.checker.phase, HealthPhase.Stopped);
  h.clock.advance(3_600_000);
  t.is(h.calls.length, 1);
  t.deepEqual(h.statuses, []);
  t.is(h.clock.nextAt(), undefined);
  await h.checker.stop();
});

test("health checker - stop waits for a check that ends late after its abort", async (t) => {
  const clock = new VirtualClock();
  let aborted = false;
  let settle: ((result: ProbeResult) => void) | undefined;
  const checker = new HealthChecker({
    check: { type: "TCP", tcp: { port: 1 }, ...QUICK },
    clock,
    // a probe that takes its time to end after the abort (a command being reaped)
    probe: (signal) =>
      new Promise<ProbeResult>((resolve) => {
        signal.addEventListener("abort", () => {
          aborted = true;
        });
        settle = resolve;
      }),
    onStatus: () => {},
    onUnhealthy: () => {},
  });
  checker.start();
  clock.advance(0);
  let stopped = false;
  const done = checker.stop().then(() => {
    stopped = true;
  });
  await flush();
  t.true(aborted);
  t.false(stopped);
  t.is(checker.phase, HealthPhase.Stopping);
  settle?.({ ok: false, message: "killed" });
  await done;
  t.is(checker.phase, HealthPhase.Stopped);
});

test("health checker - stop before start and while waiting leaves no timer", async (t) => {
  const idle = harness({ ...QUICK });
  await idle.checker.stop();
  t.is(idle.checker.phase, HealthPhase.Stopped);
  idle.checker.start();
  idle.clock.advance(60_000);
  t.is(idle.calls.length, 0);

  const waiting = harness({ ...QUICK });
  waiting.checker.start();
  waiting.clock.advance(0);
  await waiting.answer(true);
  t.is(waiting.checker.phase, HealthPhase.Waiting);
  await waiting.checker.stop();
  t.is(waiting.clock.nextAt(), undefined);
});

test("health checker - a throwing callback or probe does not stop the checking", async (t) => {
  const clock = new VirtualClock();
  let calls = 0;
  const checker = new HealthChecker({
    check: { type: "TCP", tcp: { port: 1 }, ...QUICK, consecutiveFailures: 2 },
    clock,
    probe: () => {
      calls++;
      if (calls === 1) throw new Error("probe bug");
      return Promise.reject(new Error("probe rejects"));
    },
    onStatus: () => {
      throw new Error("owner bug");
    },
    onUnhealthy: () => {
      throw new Error("owner bug");
    },
  });
  checker.start();
  clock.advance(0);
  await flush();
  t.deepEqual(checker.health, { healthy: false, consecutiveFailures: 1 });
  clock.advance(1_000);
  await flush();
  t.is(calls, 2);
  t.is(checker.phase, HealthPhase.Killing);
  await checker.stop();
});

test("health checker - stop during a timed-out check that has not ended yet", async (t) => {
  const clock = new VirtualClock();
  let settle: ((result: ProbeResult) => void) | undefined;
  const metrics = new Metrics();
  const checker = new HealthChecker({
    check: { type: "TCP", tcp: { port: 1 }, ...QUICK, timeoutSeconds: 1 },
    clock,
    metrics,
    // ends only when told, whatever the abort says
    probe: () =>
      new Promise<ProbeResult>((resolve) => {
        settle = resolve;
      }),
    onStatus: () => t.fail("no result may be reported once stopping"),
    onUnhealthy: () => t.fail("no kill may be asked once stopping"),
  });
  checker.start();
  clock.advance(0);
  clock.advance(1_000);
  t.is(metrics.get("health_check_timeouts"), 1);
  const stopped = checker.stop();
  t.is(checker.phase, HealthPhase.Stopping);
  settle?.({ ok: false, message: "late" });
  await stopped;
  t.is(checker.phase, HealthPhase.Stopped);
  t.is(metrics.get("health_check_timeouts"), 1);
});

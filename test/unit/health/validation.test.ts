import test from "ava";
import { HealthChecker } from "../../../actors/executor/health/checker.ts";
import { resolveHealthCheck } from "../../../actors/executor/health/options.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { ErrorCode, isAgoraError } from "../../../protocol/errors.ts";
import {
  type HealthCheck,
  parseHealthCheck,
  validateHealthCheck,
} from "../../../protocol/health.ts";

const invalid = (t: import("ava").ExecutionContext, fn: () => unknown, says: RegExp) => {
  const err = t.throws(fn);
  t.true(isAgoraError(err, ErrorCode.InvalidMessage), String(err));
  t.regex(err?.message ?? "", says);
};

test("health check validation - a check that cannot run says what is missing", (t) => {
  const cases: [HealthCheck, RegExp][] = [
    [{ type: "HTTP" }, /HTTP health check needs 'http'/],
    [{ type: "HTTP", http: { path: "/health" } }, /needs 'http\.port'/],
    [{ type: "TCP" }, /TCP health check needs 'tcp'/],
    [{ type: "TCP", tcp: {} }, /needs 'tcp\.port'/],
    [{ type: "COMMAND" }, /COMMAND health check needs 'command'/],
    [{ type: "COMMAND", command: { value: "  ", shell: false } }, /program path/],
    [
      { type: "HTTP", http: { port: 80, scheme: "ftp" } },
      /unsupported HTTP health check scheme 'ftp'/,
    ],
    [{ type: "HTTP", http: { port: 80, path: "health" } }, /must start with '\/'/],
    [
      { type: "TCP", tcp: { port: 80 }, http: { port: 80 } },
      /TCP health check must not set 'http'/,
    ],
    [{ type: "COMMAND", command: { value: "true" }, tcp: { port: 1 } }, /must not set 'tcp'/],
  ];
  for (const [check, says] of cases) invalid(t, () => validateHealthCheck(check), says);
});

test("health check validation - usable checks pass, and the checker refuses unusable ones", (t) => {
  validateHealthCheck({ type: "COMMAND", command: { value: "true" } });
  validateHealthCheck({ type: "HTTP", http: { port: 8080, path: "/health", scheme: "https" } });
  validateHealthCheck({ type: "TCP", tcp: { port: 8080 } });
  invalid(
    t,
    () =>
      new HealthChecker({
        check: { type: "HTTP", http: {} },
        clock: new VirtualClock(),
        onStatus: () => {},
        onUnhealthy: () => {},
      }),
    /needs 'http\.port'/,
  );
});

test("health check validation - parseHealthCheck checks the schema first, naming the field", (t) => {
  invalid(t, () => parseHealthCheck({ type: "UDP" }), /at '\/type'/);
  invalid(t, () => parseHealthCheck({ type: "TCP", tcp: { port: 70_000 } }), /at '\/tcp\/port'/);
  invalid(
    t,
    () => parseHealthCheck({ type: "TCP", tcp: { port: 1 }, delaySeconds: -1 }),
    /delaySeconds/,
  );
  invalid(
    t,
    () => parseHealthCheck({ type: "TCP", tcp: { port: 1 }, consecutiveFailures: 0 }),
    /consecutiveFailures/,
  );
  invalid(t, () => parseHealthCheck("tcp"), /invalid health check/);
  invalid(t, () => parseHealthCheck({ type: "COMMAND" }), /needs 'command'/);
  t.deepEqual(parseHealthCheck({ type: "TCP", tcp: { port: 1 } }), {
    type: "TCP",
    tcp: { port: 1 },
  });
});

test("health check options - defaults and units: seconds in, milliseconds out", (t) => {
  t.deepEqual(resolveHealthCheck({ type: "HTTP", http: { port: 8080 } }), {
    target: { type: "HTTP", scheme: "http", port: 8080, path: "/" },
    delayMs: 15_000,
    intervalMs: 10_000,
    timeoutMs: 20_000,
    consecutiveFailures: 3,
    gracePeriodMs: 10_000,
  });
  t.like(
    resolveHealthCheck({
      type: "COMMAND",
      command: { value: "true" },
      delaySeconds: 0,
      intervalSeconds: 0.5,
      timeoutSeconds: 0,
      consecutiveFailures: 1,
      gracePeriodSeconds: 2.25,
    }),
    { delayMs: 0, intervalMs: 500, timeoutMs: 0, consecutiveFailures: 1, gracePeriodMs: 2250 },
  );
});

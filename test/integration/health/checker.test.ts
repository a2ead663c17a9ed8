import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { HealthChecker, type HealthResult } from "../../../actors/executor/health/checker.ts";
import { HealthPhase } from "../../../actors/executor/health/health.machine.ts";
import { systemClock } from "../../../infra/clock.ts";
import type { HealthCheck } from "../../../protocol/health.ts";
import { alive } from "../../helpers/processes.ts";
import { waitForLine } from "../../helpers/wait.ts";

/** Quick timing: check at once, then every 20 ms; no grace; a timeout only a stuck check reaches. */
const QUICK = { delaySeconds: 0, intervalSeconds: 0.02, timeoutSeconds: 10, gracePeriodSeconds: 0 };

/** A checker on the real clock whose results can be awaited. */
function watch(check: HealthCheck, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const results: HealthResult[] = [];
  const waiters: { when: (r: HealthResult[]) => boolean; resolve: () => void }[] = [];
  let killed: ((message: string) => void) | undefined;
  const kill = new Promise<string>((resolve) => {
    killed = resolve;
  });
  const kills: string[] = [];
  const checker = new HealthChecker({
    check,
    clock: systemClock,
    command: options,
    onStatus: (result) => {
      results.push(result);
      for (const w of waiters.splice(0)) {
        if (w.when(results)) w.resolve();
        else waiters.push(w);
      }
    },
    onUnhealthy: (message) => {
      kills.push(message);
      killed?.(message);
    },
  });
  /** Resolves once the reported results satisfy `when`. */
  const until = (when: (r: HealthResult[]) => boolean) =>
    new Promise<void>((resolve) => {
      if (when(results)) resolve();
      else waiters.push({ when, resolve });
    });
  const reported = (n: number) => until((r) => r.length >= n);
  return { checker, results, kills, kill, reported };
}

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

test("health checking - an HTTP task answering 200 then 500 turns unhealthy and is killed", async (t) => {
  let status = 200;
  let requests = 0;
  const server = createHttpServer((req, res) => {
    requests++;
    res.writeHead(req.url === "/health" ? status : 404);
    res.end();
  });
  const port = await listen(server);
  t.teardown(() => server.close());
  const w = watch({
    type: "HTTP",
    http: { port, path: "/health" },
    ...QUICK,
    consecutiveFailures: 2,
  });
  t.teardown(() => w.checker.stop());
  w.checker.start();
  await w.reported(1);
  t.deepEqual(w.results[0], {
    healthy: true,
    consecutiveFailures: 0,
    message: "HTTP health check passed",
  });
  status = 500;
  const message = await w.kill;
  t.deepEqual(
    w.results.map((r) => r.healthy),
    [true, false],
  );
  t.is(
    w.results[1]?.message,
    `HTTP health check failed: unexpected HTTP response code 500 from http://127.0.0.1:${port}/health`,
  );
  t.regex(
    message,
    /failed 2 health check\(s\) in a row; last: HTTP health check failed: unexpected HTTP response code 500/,
  );
  t.is(w.checker.phase, HealthPhase.Killing);
  await w.checker.stop();
  t.is(w.checker.phase, HealthPhase.Stopped);
  t.true(requests >= 3);
  t.is(w.kills.length, 1);
});

test("health checking - a TCP listener opened, then closed", async (t) => {
  const server = createTcpServer((socket) => socket.destroy());
  const port = await listen(server);
  const w = watch({ type: "TCP", tcp: { port }, ...QUICK, consecutiveFailures: 3 });
  t.teardown(() => w.checker.stop());
  w.checker.start();
  await w.reported(1);
  t.true(w.results[0]?.healthy);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await w.kill;
  t.like(w.results, [{ healthy: true }, { healthy: false, consecutiveFailures: 1 }]);
  t.regex(
    w.results[1]?.message ?? "",
    /TCP health check failed: connection to 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/,
  );
  t.is(w.checker.health.consecutiveFailures, 3);
});

test("health checking - commands: true stays healthy, false is killed", async (t) => {
  const good = watch({ type: "COMMAND", command: { value: "true" }, ...QUICK });
  t.teardown(() => good.checker.stop());
  good.checker.start();
  await good.reported(1);
  t.true(good.results[0]?.healthy);

  const bad = watch({ type: "COMMAND", command: { value: "echo db down; false" }, ...QUICK });
  t.teardown(() => bad.checker.stop());
  bad.checker.start();
  const message = await bad.kill;
  t.deepEqual(bad.results, [
    {
      healthy: false,
      consecutiveFailures: 1,
      message: "COMMAND health check failed: the command exited with status 1: db down",
    },
  ]);
  t.regex(message, /failed 3 health check\(s\) in a row/);
  // the good one kept passing meanwhile, and reported nothing more
  t.is(good.results.length, 1);
});

test("health checking - a command sleeping past the timeout is killed and counts as a failure", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "agora-health-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const w = watch(
    {
      type: "COMMAND",
      command: { value: "echo $$ >> pids; exec sleep 30" },
      ...QUICK,
      timeoutSeconds: 1,
      consecutiveFailures: 1,
    },
    { cwd: dir },
  );
  t.teardown(() => w.checker.stop());
  w.checker.start();
  await w.kill;
  t.like(w.results, [{ healthy: false, consecutiveFailures: 1 }]);
  t.regex(
    w.results[0]?.message ?? "",
    /^COMMAND health check timed out after 1s \(the command was killed\)$/,
  );
  // the command had a second to write its pid before it was killed
  const pid = Number(await waitForLine(path.join(dir, "pids")));
  t.true(pid > 0);
  t.false(alive(pid), "the timed-out check was reaped before its failure counted");
  t.is(w.checker.phase, HealthPhase.Killing);
});

test("health checking - stop with a command in flight leaves no process behind", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "agora-health-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const w = watch(
    {
      type: "COMMAND",
      command: { value: "echo $$ >> pids; exec sleep 30" },
      ...QUICK,
      timeoutSeconds: 0,
    },
    { cwd: dir },
  );
  w.checker.start();
  const pid = Number(await waitForLine(path.join(dir, "pids")));
  t.true(alive(pid));
  await w.checker.stop();
  t.false(alive(pid));
  t.is(w.checker.phase, HealthPhase.Stopped);
  t.deepEqual(w.results, []);
  t.deepEqual(w.kills, []);
});

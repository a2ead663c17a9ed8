import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { commandProbe } from "../../../actors/executor/health/command-probe.ts";
import { httpProbe } from "../../../actors/executor/health/http-probe.ts";
import { tcpProbe } from "../../../actors/executor/health/tcp-probe.ts";
import { alive } from "../../helpers/processes.ts";
import { eventually, waitForLine } from "../../helpers/wait.ts";

const never = () => new AbortController().signal;

const scratch = () => mkdtempSync(path.join(tmpdir(), "agora-health-"));

/** An HTTP server on a free loopback port answering what `status()` says. */
async function httpServer(
  status: (url: string) => number,
): Promise<{ server: Server; port: number }> {
  const server = createHttpServer((req, res) => {
    const code = status(req.url ?? "");
    res.writeHead(code, code >= 300 && code < 400 ? { location: "/elsewhere" } : {});
    res.end("body");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { server, port: address.port };
}

test("command probe - exit status 0 is healthy, anything else is not, with its output", async (t) => {
  t.deepEqual(await commandProbe({ value: "true" }, never()), { ok: true });
  t.deepEqual(await commandProbe({ value: "echo not ready >&2; exit 3" }, never()), {
    ok: false,
    message: "the command exited with status 3: not ready",
  });
  t.deepEqual(await commandProbe({ value: "kill -TERM $$" }, never()), {
    ok: false,
    message: "the command was terminated by SIGTERM",
  });
});

test("command probe - the output kept for the message is bounded to its tail", async (t) => {
  const result = await commandProbe(
    { value: "head -c 100000 /dev/zero | tr '\\0' x; echo END; exit 1" },
    never(),
    { outputBytes: 64 },
  );
  t.false(result.ok);
  const message = result.ok ? "" : result.message;
  t.true(message.startsWith("the command exited with status 1: …"), message);
  t.true(message.endsWith("xEND"), message);
  t.true(message.length < 120, message);
});

test("command probe - argv form, environment and working directory", async (t) => {
  const dir = scratch();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.deepEqual(
    await commandProbe({ value: "/bin/sh", shell: false, arguments: ["-c", "exit 4"] }, never()),
    { ok: false, message: "the command exited with status 4" },
  );
  t.deepEqual(
    await commandProbe(
      {
        value:
          'test "$CHECK_X" = 1 && test "$BASE_Y" = 2 && test "$(pwd -P)" = "$(cd "$DIR" && pwd -P)"',
        environment: { CHECK_X: "1" },
      },
      never(),
      { cwd: dir, env: { PATH: process.env.PATH, BASE_Y: "2", DIR: dir } },
    ),
    { ok: true },
  );
  const missing = await commandProbe({ value: "/nonexistent/check", shell: false }, never());
  t.false(missing.ok);
  t.regex(missing.ok ? "" : missing.message, /could not start: .*ENOENT/);
});

test("command probe - an abort kills the command and what it started, then settles", async (t) => {
  const dir = scratch();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pids = path.join(dir, "pids");
  const controller = new AbortController();
  const result = commandProbe(
    { value: 'sleep 30 & echo "$$ $!" > "$PIDS"; wait' },
    controller.signal,
    { env: { ...process.env, PIDS: pids } },
  );
  const [shell, sleeper] = (await waitForLine(pids)).split(" ").map(Number) as [number, number];
  t.true(alive(shell) && alive(sleeper));
  controller.abort();
  const outcome = await result;
  t.deepEqual(outcome, { ok: false, message: "the command was killed" });
  t.false(alive(shell), "the check's shell is gone once the probe settled");
  // the background sleep was in the check's process group: SIGKILLed with it
  await eventually(() => !alive(sleeper), `the check's background sleep (${sleeper}) gone`);
  t.false(alive(sleeper));
});

test("http probe - 2xx and 3xx are healthy, 5xx is not; the path is requested", async (t) => {
  const answers = [200, 302, 500];
  const seen: string[] = [];
  const { server, port } = await httpServer((url) => {
    seen.push(url);
    return answers.shift() ?? 404;
  });
  t.teardown(() => server.close());
  const target = { scheme: "http" as const, port, path: "/health?deep=1" };
  t.deepEqual(await httpProbe(target, never()), { ok: true });
  t.deepEqual(await httpProbe(target, never()), { ok: true });
  t.deepEqual(await httpProbe(target, never()), {
    ok: false,
    message: `unexpected HTTP response code 500 from http://127.0.0.1:${port}/health?deep=1`,
  });
  t.deepEqual(seen, ["/health?deep=1", "/health?deep=1", "/health?deep=1"]);
});

test("http probe - a closed port fails, and an abort ends a request nobody answers", async (t) => {
  const { server, port } = await httpServer(() => 200);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const refused = await httpProbe({ scheme: "http", port, path: "/" }, never());
  t.false(refused.ok);
  t.regex(
    refused.ok ? "" : refused.message,
    /GET http:\/\/127\.0\.0\.1:\d+\/ failed: .*ECONNREFUSED/,
  );

  // a listener that accepts and never answers
  const silent = createTcpServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  t.teardown(() => silent.close());
  const silentPort = (silent.address() as { port: number }).port;
  const controller = new AbortController();
  const pending = httpProbe({ scheme: "http", port: silentPort, path: "/" }, controller.signal);
  silent.once("connection", () => controller.abort());
  t.deepEqual(await pending, {
    ok: false,
    message: `no answer from http://127.0.0.1:${silentPort}/ yet`,
  });
});

test("tcp probe - an open listener is healthy, a closed one is not", async (t) => {
  const server = createTcpServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  t.deepEqual(await tcpProbe(port, never()), { ok: true });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const closed = await tcpProbe(port, never());
  t.false(closed.ok);
  t.regex(closed.ok ? "" : closed.message, /connection to 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/);
});

test("http probe - https is checked without verifying the task's certificate", async (t) => {
  const dir = scratch();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  const made = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=task",
    ],
    { stdio: "ignore" },
  );
  if (made.status !== 0) {
    t.log("openssl is not usable here: the https probe is not exercised");
    t.pass();
    return;
  }
  const server = createHttpsServer(
    { key: readFileSync(key), cert: readFileSync(cert) },
    (req, res) => {
      res.writeHead(req.url === "/ok" ? 204 : 503);
      res.end();
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  t.deepEqual(await httpProbe({ scheme: "https", port, path: "/ok" }, never()), { ok: true });
  t.like(await httpProbe({ scheme: "https", port, path: "/down" }, never()), { ok: false });
});

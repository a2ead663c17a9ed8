import { stat } from "node:fs/promises";
import { Writable } from "node:stream";
import { Kvm } from "@nats-io/kv";
import { errors, type Msg, type NatsConnection } from "@nats-io/transport-node";
import test from "ava";
import pino from "pino";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { startNatsCluster, startNatsServer } from "../../../infra/nats-server.ts";

const teardown: Array<() => Promise<void>> = [];

test.after.always(async () => {
  await Promise.allSettled(teardown.map((fn) => fn()));
});

function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

async function dirGone(dir: string): Promise<boolean> {
  try {
    await stat(dir);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/** Answers every request on `subject` with its own payload. */
function echoService(nc: NatsConnection, subject: string): void {
  nc.subscribe(subject, {
    callback: (_err, msg) => {
      msg.respond(msg.data);
    },
  });
}

/**
 * Requests until a responder is known: subscription interest travels between
 * cluster nodes asynchronously, and each "no responders" answer is the event
 * that triggers the next try.
 */
async function requestUntilAnswered(
  nc: NatsConnection,
  subject: string,
  payload: string,
): Promise<Msg> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await nc.request(subject, payload, { timeout: 2_000 });
    } catch (err) {
      const noResponders = err instanceof errors.RequestError && err.isNoResponders();
      if (!noResponders || attempt >= 500) throw err;
      await nc.flush();
    }
  }
}

test("infra - spawns and stops a nats-server", async (t) => {
  const server = await startNatsServer();
  teardown.push(() => server.stop());
  t.regex(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
  t.true(server.port > 0);

  const nc = await connect({ servers: server.url, name: "infra-test" });
  teardown.push(() => closeGracefully(nc));

  const sub = nc.subscribe("infra.test.greet", { max: 1 });
  await nc.flush();
  nc.publish("infra.test.greet", "hello");
  const received: string[] = [];
  for await (const msg of sub) received.push(msg.string());
  t.deepEqual(received, ["hello"]);

  echoService(nc, "infra.test.echo");
  await nc.flush();
  const reply = await nc.request("infra.test.echo", "ping", { timeout: 2_000 });
  t.is(reply.string(), "ping");

  await closeGracefully(nc);
  t.true(nc.isClosed());

  await server.stop();
  t.true(pidGone(server.pid));
  t.true(await dirGone(server.tempDir));
  await server.stop(); // idempotent
});

test("infra - kill leaves cleanup to stop", async (t) => {
  const server = await startNatsServer({ jetstream: false });
  teardown.push(() => server.stop());
  t.true(server.kill("SIGKILL"));
  const exit = await server.exited;
  t.is(exit.signal, "SIGKILL");
  t.true(pidGone(server.pid));
  t.false(await dirGone(server.tempDir));
  await server.stop();
  t.true(await dirGone(server.tempDir));
});

/** A pino logger whose lines can be awaited by message. */
function capturingLogger(): {
  logger: pino.Logger;
  waitFor(msg: string): Promise<Record<string, unknown>>;
} {
  const seen: Record<string, unknown>[] = [];
  const waiters: Array<{ msg: string; resolve: (line: Record<string, unknown>) => void }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString("utf8").split("\n")) {
        if (text === "") continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        seen.push(line);
        for (const w of waiters.filter((w) => w.msg === line.msg)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
      callback();
    },
  });
  return {
    logger: pino({ level: "debug" }, stream),
    waitFor: (msg) => {
      const line = seen.find((l) => l.msg === msg);
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve) => waiters.push({ msg, resolve }));
    },
  };
}

// Serial: it frees a port and takes it again, which must not race with other servers here.
test.serial("infra - connect logs disconnects and reconnects forever", async (t) => {
  const first = await startNatsServer({ jetstream: false });
  teardown.push(() => first.stop());
  const { logger, waitFor } = capturingLogger();
  const nc = await connect({ servers: first.url, name: "infra-reconnect", logger });
  teardown.push(() => closeGracefully(nc));

  first.kill("SIGKILL");
  await first.exited;
  const disconnected = await waitFor("nats disconnected");
  t.is(disconnected.nats, "infra-reconnect");

  const second = await startNatsServer({ jetstream: false, port: first.port });
  teardown.push(() => second.stop());
  await waitFor("nats reconnected");
  echoService(nc, "infra.reconnect.echo");
  await nc.flush();
  const reply = await nc.request("infra.reconnect.echo", "back", { timeout: 2_000 });
  t.is(reply.string(), "back");

  await closeGracefully(nc);
  await waitFor("nats connection closed");
  await first.stop();
  await second.stop();
});

test("infra - a bad argument fails fast with the server's stderr", async (t) => {
  const started = Date.now();
  const err = await t.throwsAsync(startNatsServer({ args: ["--this-flag-does-not-exist"] }));
  t.regex(err?.message ?? "", /exited before it was ready/);
  t.regex(err?.message ?? "", /flag provided but not defined/);
  t.true(Date.now() - started < 5_000);
});

test("infra - connect reports an unreachable NATS URL on one line", async (t) => {
  // Port 1 is privileged and unused: the connection is refused at once.
  const err = await t.throwsAsync(connect({ servers: "nats://127.0.0.1:1", name: "infra-down" }));
  t.regex(err?.message ?? "", /NATS unreachable at nats:\/\/127\.0\.0\.1:1\b/);
  t.false((err?.message ?? "").includes("\n"));
});

test("infra - a 3-node cluster routes messages and replicates JetStream KV", async (t) => {
  const cluster = await startNatsCluster(3);
  teardown.push(() => cluster.stop());
  t.is(cluster.servers.length, 3);
  t.is(cluster.url, cluster.urls.join(","));
  for (const server of cluster.servers)
    t.regex(server.clusterUrl ?? "", /^nats:\/\/127\.0\.0\.1:\d+$/);

  const [n1, , n3] = cluster.servers;
  if (n1 === undefined || n3 === undefined) throw new Error("cluster has fewer than 3 nodes");
  const nc1 = await connect({ servers: n1.url, name: "infra-n1" });
  teardown.push(() => closeGracefully(nc1));
  const nc3 = await connect({ servers: n3.url, name: "infra-n3" });
  teardown.push(() => closeGracefully(nc3));
  t.is(nc1.info?.server_name, "n1");
  t.is(nc3.info?.server_name, "n3");

  // Subscribe on n1 (pub/sub subject first, then the service): route interest is sent in
  // order, so once n3 sees the service, it also sees the pub/sub subject.
  const sub = nc1.subscribe("infra.cluster.greet", { max: 1 });
  echoService(nc1, "infra.cluster.echo");
  await nc1.flush();

  const reply = await requestUntilAnswered(nc3, "infra.cluster.echo", "across");
  t.is(reply.string(), "across");

  nc3.publish("infra.cluster.greet", "hello from n3");
  await nc3.flush();
  const received: string[] = [];
  for await (const msg of sub) received.push(msg.string());
  t.deepEqual(received, ["hello from n3"]);

  // allow_direct: false makes the read go through the stream leader, so it sees the put
  // even if the follower nearest to n3 has not applied it yet.
  const kv1 = await new Kvm(nc1).create("agora_infra_test", { replicas: 3, allow_direct: false });
  const status = await kv1.status();
  t.is(status.replicas, 3);
  await kv1.put("greeting", "replicated");
  const kv3 = await new Kvm(nc3).open("agora_infra_test");
  const entry = await kv3.get("greeting");
  t.is(entry?.string(), "replicated");

  await closeGracefully(nc1);
  await closeGracefully(nc3);
  await cluster.stop();
  for (const server of cluster.servers) {
    t.true(pidGone(server.pid), `${server.url} still running`);
    t.true(await dirGone(server.tempDir), `${server.tempDir} not removed`);
  }
});

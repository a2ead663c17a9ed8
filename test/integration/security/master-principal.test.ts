/**
 * A whole master and scheduler drivers on a nats-server that enforces the
 * generated permissions: the master (JetStream registry included) works with
 * its own credential, frameworks subscribe under their principal, and the
 * master rejects a call whose framework is not the subject principal's.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import test from "ava";
import { resolveMasterConfig } from "../../../actors/master/config.ts";
import { createMaster } from "../../../actors/master/index.ts";
import { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import { AUTH_CONF, seedFile, writeAuthDirectory } from "../../../cli/auth-files.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { type NatsServer, startNatsServer } from "../../../infra/nats-server.ts";
import { request } from "../../../infra/request.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { PrincipalKind } from "../../../protocol/permissions.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { TEST_MASTER, testLogger } from "../master/helpers.ts";

const subjects = new Subjects("secm");
let dir = "";
let server: NatsServer | undefined;
const cleanup: Array<() => Promise<void>> = [];

test.before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "agora-auth-"));
  await writeAuthDirectory(dir, subjects, [
    { name: "master-1", kind: PrincipalKind.Master },
    { name: "alice", kind: PrincipalKind.Framework },
    { name: "bob", kind: PrincipalKind.Framework },
  ]);
  server = await startNatsServer({ args: ["-c", path.join(dir, AUTH_CONF)] });
  const nc = await as("master-1");
  const config = resolveMasterConfig({
    env: {},
    overrides: { ...TEST_MASTER, nats: server.url, prefix: subjects.prefix },
  });
  const master = createMaster({ nc, logger: testLogger(), subjects, config });
  await master.start();
  cleanup.push(() => master.stop());
});

test.after.always(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  await server?.stop();
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

async function as(principal: string): Promise<NatsConnection> {
  if (server === undefined) throw new Error("no server");
  const nc = await connect({
    servers: server.url,
    name: `test-${principal}`,
    credentials: { nkey: seedFile(dir, principal), principal },
    devDefaults: false,
  });
  cleanup.push(() => closeGracefully(nc));
  return nc;
}

async function driverOf(principal: string): Promise<SchedulerDriver> {
  if (server === undefined) throw new Error("no server");
  const driver = new SchedulerDriver({
    servers: server.url,
    credentials: { nkey: seedFile(dir, principal) },
    subjects,
    framework: { name: `fw-${principal}`, principal },
  });
  cleanup.push(() => driver.stop());
  await driver.start();
  return driver;
}

test("master principal - frameworks subscribe under their principal on an enforcing server", async (t) => {
  const alice = await driverOf("alice");
  t.truthy(alice.masterId);
  await alice.revive();
  t.pass();
});

test("master principal - FrameworkInfo.principal must match the subject's: PRINCIPAL_MISMATCH", async (t) => {
  const nc = await as("alice");
  const err = await t.throwsAsync(
    request(
      nc,
      subjects.masterSubscribe("alice"),
      { type: "scheduler.subscribe", framework: { name: "impostor", principal: "bob" } },
      ["event.subscribed"],
      5000,
    ),
    { instanceOf: AgoraError },
  );
  t.is(err?.code, ErrorCode.PrincipalMismatch);
  t.is(
    err?.message,
    'FrameworkInfo.principal "bob" does not match the subject\'s principal "alice"',
  );
});

test("master principal - a call for another principal's framework id: PRINCIPAL_MISMATCH", async (t) => {
  const bob = await driverOf("bob");
  const nc = await as("alice");
  const err = await t.throwsAsync(
    request(
      nc,
      subjects.masterFramework("alice", bob.frameworkId),
      { type: "scheduler.revive" },
      ["ok"],
      5000,
    ),
    { instanceOf: AgoraError },
  );
  t.is(err?.code, ErrorCode.PrincipalMismatch);
  t.is(err?.message, `framework ${bob.frameworkId} belongs to another principal`);
  // and a resubscription may not take bob's framework over either
  const takeover = await t.throwsAsync(
    request(
      nc,
      subjects.masterSubscribe("alice"),
      {
        type: "scheduler.subscribe",
        framework: { name: "thief", principal: "alice", frameworkId: bob.frameworkId },
      },
      ["event.subscribed"],
      5000,
    ),
    { instanceOf: AgoraError },
  );
  t.is(takeover?.code, ErrorCode.PrincipalMismatch);
});

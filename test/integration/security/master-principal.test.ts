/**
 * A whole master and scheduler drivers on a nats-server that enforces the
 * generated permissions: the master (JetStream registry included) works with
 * its own credential, frameworks subscribe under their principal, and the
 * master rejects a call whose framework is not the subject principal's.
 */
import test from "ava";
import { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import { request } from "../../../infra/request.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { PrincipalKind } from "../../../protocol/permissions.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useSecureServer } from "../../helpers/secure-server.ts";
import { startMaster, type TestMaster } from "../master/helpers.ts";

const secure = useSecureServer(test, {
  subjects: new Subjects("secm"),
  principals: [
    { name: "master-1", kind: PrincipalKind.Master },
    { name: "alice", kind: PrincipalKind.Framework },
    { name: "bob", kind: PrincipalKind.Framework },
  ],
});
let master: TestMaster | undefined;

test.serial.before(async () => {
  const { server, subjects, credentials, onStop } = secure();
  master = await startMaster(server.url, subjects, {}, { credentials: credentials("master-1") });
  onStop(() => master!.stop());
});

async function driverOf(principal: string): Promise<SchedulerDriver> {
  const { server, subjects, credentials, onStop } = secure();
  const driver = new SchedulerDriver({
    servers: server.url,
    credentials: { nkey: credentials(principal).nkey },
    subjects,
    framework: { name: `fw-${principal}`, principal },
  });
  onStop(() => driver.stop());
  await driver.start();
  return driver;
}

test("master principal - frameworks subscribe under their principal on an enforcing server", async (t) => {
  const alice = await driverOf("alice");
  t.is(alice.masterId, master?.master.masterId);
  const framework = master?.master.state().frameworks.find((f) => f.id === alice.frameworkId);
  t.like(framework, { name: "fw-alice", active: true });
  // a call on the framework's own subject is answered
  await t.notThrowsAsync(alice.revive());
});

test("master principal - FrameworkInfo.principal must match the subject's: PRINCIPAL_MISMATCH", async (t) => {
  const { subjects, connectAs } = secure();
  const nc = await connectAs("alice");
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
  const { subjects, connectAs } = secure();
  const bob = await driverOf("bob");
  const nc = await connectAs("alice");
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

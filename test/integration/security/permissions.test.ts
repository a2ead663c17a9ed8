/**
 * The permissions `agora auth` generates, enforced by a real nats-server
 * started with its auth.conf: each principal may publish and subscribe only
 * where protocol/permissions.ts says, and the user sees the server's error.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import test from "ava";
import { connect } from "../../../infra/connect.ts";
import { encode } from "../../../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { PrincipalKind } from "../../../protocol/permissions.ts";
import { ClusterEventKind, Subjects } from "../../../protocol/subjects.ts";
import {
  publishDenied,
  pubViolation,
  subscribeDenied,
  subViolation,
  useSecureServer,
} from "../../helpers/secure-server.ts";
import { eventually } from "../../helpers/wait.ts";
import { runAgora } from "../cli/helpers.ts";

const subjects = new Subjects("sec");
const secure = useSecureServer(test, {
  subjects,
  principals: [
    { name: "operator", kind: PrincipalKind.Operator },
    { name: "master-1", kind: PrincipalKind.Master },
    { name: "agents", kind: PrincipalKind.Agent },
    { name: "executor", kind: PrincipalKind.Executor },
    { name: "alice", kind: PrincipalKind.Framework, roles: ["web"] },
    { name: "bob", kind: PrincipalKind.Framework },
    { name: "watcher", kind: PrincipalKind.Observer },
  ],
});

const url = () => secure().server.url;
const as = (principal: string) => secure().connectAs(principal);

/** True when a subscription on `subject` receives what `from` publishes there. */
async function delivered(nc: NatsConnection, subject: string, from: NatsConnection) {
  const sub = nc.subscribe(subject, { max: 1 });
  await nc.flush();
  from.publish(subject, encode({ type: "scheduler.revive" }));
  await from.flush();
  for await (const _m of sub) return true;
  return false;
}

test("permissions - framework A cannot call for framework B nor read B's events", async (t) => {
  const alice = await as("alice");
  for (const subject of [
    subjects.masterFramework("bob", "fw-b"), // accept, kill, acknowledge, reconcile of B
    subjects.masterSubscribe("bob"),
    subjects.masterRegister("agents"), // register as an agent
    subjects.masterAgent("agent-1", "agents"),
    subjects.masterOperator("operator"), // an operator call
    subjects.masterOperator(),
  ]) {
    t.is(await publishDenied(alice, subject), pubViolation(subject));
  }
  for (const subject of [
    subjects.framework("bob", "fw-b"), // B's offers and updates
    "sec.v3.framework.*.*",
    "_INBOX_bob.>", // B's replies
    "_INBOX.>",
  ]) {
    t.is(await subscribeDenied(await as("alice"), subject), subViolation(subject));
  }
});

test("permissions - a framework hears its own events and may call under its principal", async (t) => {
  const alice = await as("alice");
  const master = await as("master-1");
  t.true(await delivered(alice, subjects.framework("alice", "fw-a"), master));
  t.true(await delivered(master, subjects.masterFramework("alice", "fw-a"), alice));
});

test("permissions - an agent cannot publish as a framework nor send an operator call", async (t) => {
  const agent = await as("agents");
  for (const subject of [
    subjects.masterFramework("alice", "fw-a"),
    subjects.masterSubscribe("alice"),
    subjects.masterOperator("operator"),
    subjects.framework("alice", "fw-a"),
  ]) {
    t.is(await publishDenied(agent, subject), pubViolation(subject));
  }
  t.is(
    await subscribeDenied(agent, subjects.framework("alice", "fw-a")),
    subViolation(subjects.framework("alice", "fw-a")),
  );
});

test("permissions - the executor credential is not the agent's", async (t) => {
  const executor = await as("executor");
  for (const subject of [
    subjects.masterAgent("agent-1", "agents"),
    subjects.masterRegister("agents"),
  ]) {
    t.is(await publishDenied(executor, subject), pubViolation(subject));
  }
  const agentSubject = subjects.agent("agent-1");
  t.is(await subscribeDenied(executor, agentSubject), subViolation(agentSubject));
});

test("permissions - an observer reads cluster events and nothing else", async (t) => {
  const watcher = await as("watcher");
  const master = await as("master-1");
  t.true(await delivered(watcher, subjects.event(ClusterEventKind.TaskUpdated), master));
  t.is(
    await publishDenied(watcher, subjects.masterOperator("operator")),
    pubViolation(subjects.masterOperator("operator")),
  );
  t.is(
    await publishDenied(watcher, subjects.event(ClusterEventKind.AgentAdded)),
    pubViolation(subjects.event(ClusterEventKind.AgentAdded)),
  );
  t.is(
    await subscribeDenied(await as("watcher"), subjects.masterAgentAll()),
    subViolation(subjects.masterAgentAll()),
  );
});

test("permissions - an unauthenticated client is refused with UNAUTHENTICATED", async (t) => {
  const err = await t.throwsAsync(
    connect({ servers: url(), name: "anonymous", devDefaults: false }),
    { instanceOf: AgoraError },
  );
  t.is(err?.code, ErrorCode.Unauthenticated);
  t.regex(err?.message ?? "", /refused the credentials: .*Authorization Violation/i);
  t.regex(err?.message ?? "", /no credentials given: pass --creds, --nkey/);
});

test("permissions - add-principal then a config reload admits the new principal without a restart", async (t) => {
  const refused = await t.throwsAsync(as("carol"), { instanceOf: AgoraError });
  t.is(refused?.code, ErrorCode.InvalidConfig); // no seed file yet
  const r = await runAgora([
    "auth",
    "add-principal",
    "framework",
    "carol",
    "--roles",
    "ml",
    "--dir",
    secure().dir,
    "--prefix",
    subjects.prefix,
  ]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, "agora auth: added carol (framework); apply with `nats-server --signal reload`\n");
  const before = await t.throwsAsync(as("carol"), { instanceOf: AgoraError });
  t.is(before?.code, ErrorCode.Unauthenticated);
  const { server } = secure();
  const pid = server.pid;
  server.kill("SIGHUP");
  // the reload is asynchronous: the server says when it is done
  await eventually(
    () => /Reloaded server configuration/.test(server.logTail()),
    "the server to reload its configuration",
  );
  t.is(server.pid, pid);
  const carol = await as("carol");
  const master = await as("master-1");
  t.true(await delivered(carol, subjects.framework("carol", "fw-c"), master));
  // the principals already there keep their credentials
  await t.notThrowsAsync(as("alice"));
});

/**
 * Subject layout 3 on a nats-server started with the generated auth.conf: an
 * agent principal reads and publishes only its own agents' and executors'
 * subjects, an executor credential only its agent principal's executor
 * subjects, each executor's messages carry a token of its own that the agent
 * checks, and a framework principal reads the files of its own tasks only.
 * A real master, agent, command executor and scheduler drivers.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import test from "ava";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import { request } from "../../../infra/request.ts";
import type { Offer, TaskInfo } from "../../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { PrincipalKind } from "../../../protocol/permissions.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import {
  publishDenied,
  pubViolation,
  subscribeDenied,
  subViolation,
  useSecureServer,
} from "../../helpers/secure-server.ts";
import { eventually, startCluster, startFramework, WAIT_MS } from "../e2e/helpers.ts";

const subjects = new Subjects("seca");
const secure = useSecureServer(test, {
  subjects,
  principals: [
    { name: "master-1", kind: PrincipalKind.Master },
    { name: "rack-a", kind: PrincipalKind.Agent },
    { name: "rack-b", kind: PrincipalKind.Agent },
    { name: "rack-a-executor", kind: PrincipalKind.Executor, agent: "rack-a" },
    { name: "rack-b-executor", kind: PrincipalKind.Executor, agent: "rack-b" },
    { name: "alice", kind: PrincipalKind.Framework },
    { name: "bob", kind: PrincipalKind.Framework },
  ],
});

test.serial.before(async () => {
  const { server, credentials, onStop } = secure();
  const executor = credentials("rack-a-executor");
  const cluster = await startCluster({
    url: server.url,
    subjects,
    credentials: (actor) => credentials(actor === "master" ? "master-1" : "rack-a"),
    agents: [
      {
        hostname: "host-a",
        resources: "cpus:4;mem:4096",
        overrides: { executorNkey: executor.nkey, executorPrincipal: executor.principal },
      },
    ],
  });
  onStop(() => cluster.stop());
});

const as = (principal: string) => secure().connectAs(principal);

test("agent isolation - an agent principal reads and publishes only its own agents' subjects", async (t) => {
  for (const subject of [
    subjects.agentAll("rack-a"), // the commands of rack-a's agents (tasks, env)
    subjects.agent("agent-1", "rack-a"),
    subjects.agentExecutorAll("agent-1", "rack-a"),
    subjects.agentFiles("agent-1", "rack-a"),
    subjects.agentFilesOfAll("agent-1", "rack-a"),
    "seca.v3.agent.*.*",
    "seca.v3.executor.>",
  ]) {
    t.is(await subscribeDenied(await as("rack-b"), subject), subViolation(subject));
  }
  const rackB = await as("rack-b");
  for (const subject of [
    subjects.executor("agent-1", "fw-1", "exec-1", "rack-a"), // launches to rack-a's executors
    subjects.agent("agent-1", "rack-a"),
    subjects.masterAgent("agent-1", "rack-a"),
  ]) {
    t.is(await publishDenied(rackB, subject), pubViolation(subject));
  }
});

test("agent isolation - an executor credential speaks only on its agent principal's executor subjects", async (t) => {
  for (const subject of [
    wildExecutor("rack-a"),
    subjects.agentAll("rack-b"), // the agent's commands are not the executor's
    subjects.agentExecutorAll("agent-1", "rack-b"),
  ]) {
    t.is(await subscribeDenied(await as("rack-b-executor"), subject), subViolation(subject));
  }
  const executor = await as("rack-b-executor");
  for (const subject of [
    subjects.agentExecutor("agent-1", "fw-1", "exec-1", "rack-a"),
    subjects.masterAgent("agent-1", "rack-b"),
    subjects.executor("agent-1", "fw-1", "exec-1", "rack-b"),
  ]) {
    t.is(await publishDenied(executor, subject), pubViolation(subject));
  }
});

function wildExecutor(principal: string): string {
  return `${subjects.base}.executor.${principal}.*.*.*`;
}

interface Running {
  offer: Offer;
  info: TaskInfo;
  frameworkId: string;
}

let running: Promise<Running> | undefined;

/** Alice's task on host-a, started once, running `sleep` after printing its AGORA_* count. */
function aliceTask(): Promise<Running> {
  running ??= (async () => {
    const fw = await startFramework({
      servers: secure().server.url,
      subjects,
      credentials: secure().credentials("alice"),
      framework: { name: "alice-fw", principal: "alice" },
    });
    secure().onStop(() => fw.driver.teardown().catch(() => fw.driver.stop()));
    const { offers } = await fw.events.waitFor(isEvent("offers"), { timeoutMs: WAIT_MS });
    const offer = offers[0]!;
    const info = commandTask({
      name: "alice-task",
      agentId: offer.agentId,
      resources: { cpus: 0.1, mem: 32 },
      command: `echo "hello alice; agora variables: $(env | grep -c '^AGORA_')"; sleep 60`,
    });
    await fw.driver.accept([offer.offerId], [info], { refuseSeconds: 0 });
    await fw.events.waitFor(
      isEvent(
        "update",
        (e) => e.status.taskId === info.taskId && e.status.state === "TASK_RUNNING",
      ),
      { timeoutMs: WAIT_MS, what: "alice's task running" },
    );
    return { offer, info, frameworkId: fw.driver.frameworkId };
  })();
  return running;
}

function readStdout(nc: NatsConnection, subject: string, r: Running) {
  return request(
    nc,
    subject,
    {
      type: "files.read",
      frameworkId: r.frameworkId,
      taskId: r.info.taskId,
      file: "stdout",
      offset: 0,
      length: 4096,
    },
    ["files.data"],
    WAIT_MS,
  );
}

test("agent isolation - a framework reads its own task's files, another framework principal is refused", async (t) => {
  const r = await aliceTask();
  t.is(r.offer.agentPrincipal, "rack-a");
  const alice = await as("alice");
  const own = subjects.agentFilesOf(r.offer.agentId, "alice", "rack-a");
  const text = await eventually(async () => {
    try {
      const data = new TextDecoder().decode((await readStdout(alice, own, r)).data);
      return data.includes("\n") ? data : undefined;
    } catch {
      return undefined; // the executor has not created the sandbox's stdout yet
    }
  }, "alice's stdout");
  // the task ran with its executor's token, and inherited no AGORA_* variable
  t.is(text, "hello alice; agora variables: 0\n");

  const bob = await as("bob");
  const err = await t.throwsAsync(
    readStdout(bob, subjects.agentFilesOf(r.offer.agentId, "bob", "rack-a"), r),
    { instanceOf: AgoraError },
  );
  t.is(err?.code, ErrorCode.Forbidden);
  t.is(
    err?.message,
    `principal bob may not read the files of task ${r.info.taskId}: framework ${r.frameworkId} is not one of its frameworks on this agent`,
  );
  // nor may bob use the operators' subject, nor name alice as the requester
  for (const subject of [
    subjects.agentFiles(r.offer.agentId, "rack-a"),
    subjects.agentFilesOf(r.offer.agentId, "alice", "rack-a"),
  ]) {
    t.is(await publishDenied(bob, subject), pubViolation(subject));
  }
});

test("agent isolation - an executor of the same agent principal cannot speak for another executor", async (t) => {
  const r = await aliceTask();
  const executor = await as("rack-a-executor");
  // a command task's executor bears the task's id
  const subject = subjects.agentExecutor(r.offer.agentId, r.frameworkId, r.info.taskId, "rack-a");
  const err = await t.throwsAsync(
    request(executor, subject, { type: "executor.heartbeat" }, ["ok"], WAIT_MS),
    { instanceOf: AgoraError },
  );
  t.is(err?.code, ErrorCode.Forbidden);
  t.is(
    err?.message,
    `executor ${r.info.taskId} of framework ${r.frameworkId}: the message does not carry that executor's token`,
  );
});

/**
 * The SchedulerDriver across failovers, with a real nats-server, real masters
 * and a real agent with its executors: the master is stopped and a new master
 * takes over the prefix (the driver follows it without user code, its task
 * intact), and a second driver takes the framework over (framework failover).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import test from "ava";
import { type Agent, createAgent, resolveAgentConfig } from "../../../actors/agent/index.ts";
import { createMaster, type Master, resolveMasterConfig } from "../../../actors/master/index.ts";
import type { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { TaskReason, TaskState } from "../../../protocol/common.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually, startCluster, startFramework, tempDir, WAIT_MS } from "./helpers.ts";

const nats = useNatsServer(test);

const DRIVER_URL = new URL("../../../actors/scheduler/driver.ts", import.meta.url).href;
const OFFERS_URL = new URL("../../../actors/scheduler/offers.ts", import.meta.url).href;

/**
 * A scheduler process: launches TASK_ID on its first offer, acknowledges every update except
 * TASK_RUNNING, prints `{frameworkId, uuid}` of that update and waits to be killed.
 */
const FIRST_SCHEDULER = `
const { SchedulerDriver } = await import(${JSON.stringify(DRIVER_URL)});
const { commandTask } = await import(${JSON.stringify(OFFERS_URL)});
const driver = new SchedulerDriver({
  servers: process.env.AGORA_NATS_URL,
  framework: { name: "failover", failoverTimeoutSeconds: 60 },
  autoAcknowledge: false,
});
let launched = false;
driver.on("offers", async ({ offers }) => {
  for (const offer of offers) {
    if (launched) { await driver.decline([offer.offerId], { refuseSeconds: 60 }).catch(() => {}); continue; }
    launched = true;
    await driver.accept([offer.offerId], [commandTask({
      taskId: process.env.TASK_ID, name: "long", agentId: offer.agentId,
      resources: { cpus: 0.1, mem: 32 }, command: "sleep 60", killGracePeriodSeconds: 1,
    })]);
  }
});
driver.on("update", async ({ status }) => {
  if (status.state === "TASK_RUNNING") {
    console.log(JSON.stringify({ frameworkId: driver.frameworkId, uuid: status.uuid }));
  } else {
    await driver.acknowledge(status);
  }
});
await driver.start();
setInterval(() => {}, 1 << 30);
`;

/** A master of its own on the prefix, stoppable alone. */
async function startMaster(
  url: string,
  subjects: Subjects,
  masterId: string,
): Promise<{ master: Master; stop(): Promise<void> }> {
  const nc = await connect({ servers: url, name: masterId });
  const master = createMaster({
    nc,
    logger: silentLogger(),
    subjects,
    config: resolveMasterConfig({
      argv: [],
      overrides: {
        nats: url,
        prefix: subjects.prefix,
        masterId,
        allocationInterval: 100,
        agentPingTimeout: 300,
        frameworkHeartbeatInterval: 300,
      },
    }),
  });
  await master.start();
  let stopped: Promise<void> | undefined;
  return {
    master,
    stop: () => {
      stopped ??= master.stop().then(() => closeGracefully(nc));
      return stopped;
    },
  };
}

/** An agent of its own (its executors are killed when it stops). */
async function startAgent(
  url: string,
  subjects: Subjects,
  workDir: string,
): Promise<{ agent: Agent; stop(): Promise<void> }> {
  const nc = await connect({ servers: url, name: "agent-1" });
  const agent = createAgent({
    nc,
    logger: silentLogger(),
    subjects,
    natsUrl: url,
    config: resolveAgentConfig({
      argv: [],
      env: {},
      overrides: {
        nats: url,
        prefix: subjects.prefix,
        hostname: "agent-1",
        workDir,
        resources: "cpus:1;mem:512;disk:1024",
        registrationBackoff: 100,
        statusUpdateRetryMin: 200,
        statusUpdateRetryMax: 1000,
      },
    }),
  });
  await agent.start();
  await eventually(() => agent.registered(), "the agent registered");
  return {
    agent,
    stop: async () => {
      await agent.shutdown("test over");
      await agent.stop();
      await closeGracefully(nc);
    },
  };
}

/** Launches one long task on the first offer; declines the others. */
function launchOnFirstOffer(driver: SchedulerDriver, taskId: string): void {
  let launched = false;
  driver.on("offers", async ({ offers }) => {
    for (const offer of offers) {
      if (launched) {
        await driver.decline([offer.offerId], { refuseSeconds: 60 }).catch(() => {});
        continue;
      }
      launched = true;
      await driver.accept(
        [offer.offerId],
        [
          commandTask({
            taskId,
            name: "long",
            agentId: offer.agentId,
            resources: { cpus: 0.1, mem: 32 },
            command: "sleep 60",
            killGracePeriodSeconds: 1,
          }),
        ],
      );
    }
  });
}

test("driver failover - a new master on the prefix: the driver resubscribes without user code, its task intact", async (t) => {
  const url = nats().url;
  const subjects = new Subjects("drvfo1");
  const work = await tempDir("agora-driver-failover-");
  t.teardown(() => work.remove());
  const first = await startMaster(url, subjects, "master-a");
  t.teardown(() => first.stop());
  const agent = await startAgent(url, subjects, path.join(work.dir, "agent-1"));
  t.teardown(() => agent.stop());

  const { driver, events } = await startFramework({
    servers: url,
    subjects,
    framework: { name: "survivor", failoverTimeoutSeconds: 60 },
    // no silence watchdog here: the new master's NOT_SUBSCRIBED (or, until it lands,
    // INVALID_STATE "not subscribed"), or its event.resubscribe, must be what brings it back
    masterSilenceIntervals: 1000,
    reconcileRetryMs: 200,
  });
  t.teardown(() => driver.stop());
  const taskId = "long-1";
  launchOnFirstOffer(driver, taskId);
  await events.waitFor(
    isEvent("update", (e) => e.status.taskId === taskId && e.status.state === TaskState.Running),
    { timeoutMs: WAIT_MS, what: "the task running" },
  );
  t.is(driver.masterId, "master-a");

  await first.stop();
  const mark = events.mark();
  const second = await startMaster(url, subjects, "master-b");
  t.teardown(() => second.stop());

  const again = await events.waitFor(
    isEvent("subscribed", (e) => e.resubscribed && e.masterId === "master-b"),
    { from: mark, timeoutMs: WAIT_MS, what: "the resubscription to master-b" },
  );
  t.is(again.frameworkId, driver.frameworkId);
  t.is(again.previousMasterId, "master-a");
  t.is(driver.state, "subscribed");
  t.is(driver.taskState(taskId), TaskState.Running);
  // reconciliation with the new master confirms the task
  await events.waitFor(
    isEvent(
      "update",
      (e) =>
        e.status.taskId === taskId &&
        e.status.state === TaskState.Running &&
        e.status.reason === TaskReason.Reconciliation,
    ),
    // the first answers may come before the agent is back (none for a recovered agent's task):
    // the driver asks again with doubling delays, so allow for a few rounds on a loaded machine
    { from: mark, timeoutMs: 3 * WAIT_MS, what: "the reconciled task" },
  );
  await eventually(
    () =>
      second.master
        .state()
        .frameworks.find((f) => f.id === driver.frameworkId)
        ?.tasks.some((task) => task.id === taskId && task.state === TaskState.Running),
    "the task in the new master's state",
  );
  // no error is shown for what the driver handled itself
  t.is(events.filter(isEvent("error")).length, 0);
  const lost = events.filter(isEvent("disconnected"));
  t.is(lost.length, 1);
  t.regex(lost[0]?.reason ?? "", /not subscribed|took over/);

  // the new master serves the framework: kill the task through it
  await driver.kill(taskId);
  await events.waitFor(
    isEvent("update", (e) => e.status.taskId === taskId && e.status.state === TaskState.Killed),
    { from: mark, timeoutMs: WAIT_MS, what: "the task killed" },
  );
  t.is(driver.taskState(taskId), undefined);
});

test("driver failover - a framework killed with SIGKILL: another process takes it over with the same frameworkId, gets the unacknowledged update and kills the task", async (t) => {
  const url = nats().url;
  const subjects = new Subjects("drvfo2");
  const cluster = await startCluster({
    url,
    subjects,
    agents: [
      {
        hostname: "agent-1",
        resources: "cpus:1;mem:512;disk:1024",
        overrides: { statusUpdateRetryMin: 200, statusUpdateRetryMax: 1000 },
      },
    ],
  });
  t.teardown(() => cluster.stop());

  // The first scheduler, a process of its own, sees its task running, never acknowledges
  // that update, and is killed with SIGKILL.
  const taskId = "long-2";
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", FIRST_SCHEDULER],
    {
      env: {
        ...process.env,
        AGORA_NATS_URL: url,
        AGORA_SUBJECT_PREFIX: subjects.prefix,
        TASK_ID: taskId,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  t.teardown(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  const running = await new Promise<{ frameworkId: string; uuid: string }>((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      out += c;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line !== undefined) resolve(JSON.parse(line) as { frameworkId: string; uuid: string });
    });
    child.once("exit", (code) =>
      reject(new Error(`the first scheduler exited ${code}: ${stderr}`)),
    );
  });
  t.truthy(running.uuid);
  const frameworkId = running.frameworkId;
  child.kill("SIGKILL");
  await once(child, "exit");

  // Another process (here: this one) takes over.
  const two = await startFramework({
    servers: url,
    subjects,
    framework: { name: "failover", frameworkId, failoverTimeoutSeconds: 60 },
  });
  t.teardown(() => two.driver.stop());
  t.is(two.driver.frameworkId, frameworkId);
  // the update the first driver never acknowledged comes again, to the new driver
  await two.events.waitFor(
    isEvent("update", (e) => e.status.uuid === running.uuid),
    { timeoutMs: WAIT_MS, what: "the unacknowledged update" },
  );
  // its implicit reconciliation told it about the task too
  await two.events.waitFor(
    isEvent("update", (e) => e.status.taskId === taskId && e.status.uuid === undefined),
    { timeoutMs: WAIT_MS, what: "the reconciliation answer" },
  );
  t.is(two.driver.taskState(taskId), TaskState.Running);
  await two.driver.kill(taskId);
  await two.events.waitFor(
    isEvent("update", (e) => e.status.taskId === taskId && e.status.state === TaskState.Killed),
    { timeoutMs: WAIT_MS, what: "the task killed" },
  );
  await two.driver.teardown("test over");
});

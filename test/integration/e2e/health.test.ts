/**
 * Health checks and kill policies end to end, through a real master, agent
 * and command executor on a real nats-server: command, HTTP and TCP checks
 * reported as TASK_RUNNING updates with `healthy`, a task killed after its
 * consecutive failures, the kill policy's grace period, TASK_KILLING only for
 * frameworks that declare TASK_KILLING_STATE, and an unusable check refused.
 */
import { access } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import anyTest, { type TestFn } from "ava";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import { requestState } from "../../../infra/request.ts";
import {
  isTerminalState,
  type Offer,
  type TaskInfo,
  TaskReason,
  TaskState,
  type TaskStatus,
} from "../../../protocol/common.ts";
import { FrameworkCapability } from "../../../protocol/frameworks.ts";
import type { HealthCheck } from "../../../protocol/health.ts";
import type { ClusterContext } from "../../helpers/cluster.ts";
import {
  eventually,
  frameworkWithOffer,
  type TestFramework,
  tempDir,
  useCluster,
  WAIT_MS,
} from "./helpers.ts";

interface Context extends ClusterContext {
  nc: NatsConnection;
  scratch: { dir: string; remove(): Promise<void> };
}
const test = anyTest as TestFn<Context>;

let seq = 0;

test.after.always(async (t) => {
  await t.context.nc?.close();
});
useCluster(test, {
  prefix: "health",
  agents: [{ hostname: "agent-1", resources: "cpus:4;mem:4096" }],
});
test.before(async (t) => {
  t.context.nc = await connect({ servers: t.context.server.url });
  t.context.scratch = await tempDir("agora-health-");
});
test.after.always(async (t) => {
  await t.context.scratch?.remove();
});

function task(offer: Offer, command: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    ...commandTask({
      name: `t${++seq}`,
      agentId: offer.agentId,
      resources: { cpus: 0.1, mem: 32 },
      command,
    }),
    ...extra,
  };
}

/** Quick timing for tests: first check at once, then every 50 ms. */
const QUICK = {
  delaySeconds: 0,
  intervalSeconds: 0.05,
  timeoutSeconds: 5,
  gracePeriodSeconds: 0,
} satisfies Partial<HealthCheck>;

/** A free loopback port (the task listens on it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const node = JSON.stringify(process.execPath);

function updates(fw: TestFramework, taskId: string): TaskStatus[] {
  return fw.events
    .filter(isEvent("update", (e) => e.status.taskId === taskId))
    .map((e) => e.status);
}

function waitForStatus(
  fw: TestFramework,
  taskId: string,
  what: string,
  match: (status: TaskStatus) => boolean,
): Promise<TaskStatus> {
  return fw.events
    .waitFor(
      isEvent("update", (e) => e.status.taskId === taskId && match(e.status)),
      { timeoutMs: WAIT_MS, what: `${what} of ${taskId}` },
    )
    .then((e) => e.status);
}

const terminal = (fw: TestFramework, taskId: string) =>
  waitForStatus(fw, taskId, "the end", (s) => isTerminalState(s.state));

const healthUpdate = (fw: TestFramework, taskId: string, healthy: boolean) =>
  waitForStatus(
    fw,
    taskId,
    healthy ? "a healthy update" : "an unhealthy update",
    (s) => s.state === TaskState.Running && s.healthy === healthy,
  );

// One agent: one test at a time.
test.serial(
  "health - a passing command check reports TASK_RUNNING healthy, shown in the state",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `health-${++seq}` });
    const info = task(fw.offer, "touch started; sleep 60", {
      healthCheck: {
        type: "COMMAND",
        command: { value: "test -f started" },
        ...QUICK,
        gracePeriodSeconds: 30,
      },
    });
    await fw.driver.accept([fw.offer.offerId], [info]);
    const healthy = await healthUpdate(fw, info.taskId, true);
    t.is(healthy.reason, TaskReason.TaskHealthCheckStatusUpdated);
    const state = await eventually(async () => {
      const reply = await requestState(t.context.nc, t.context.subjects.masterOperator(), 5000);
      const found = reply.state.frameworks
        .flatMap((f) => f.tasks)
        .find((x) => x.id === info.taskId);
      return found?.healthy === true ? found : undefined;
    }, "the task healthy in the master's state");
    t.is(state.state, TaskState.Running);
    // healthy is reported on changes only: one health update for a steadily passing check
    await fw.driver.kill(info.taskId, fw.offer.agentId);
    const end = await terminal(fw, info.taskId);
    t.is(end.state, TaskState.Killed);
    t.is(
      updates(fw, info.taskId).filter((s) => s.reason === TaskReason.TaskHealthCheckStatusUpdated)
        .length,
      1,
    );
  },
);

test.serial(
  "health - an HTTP check that stops being served kills the task after its consecutive failures",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `health-${++seq}` });
    const port = await freePort();
    // serves three requests, then stops listening (and stays alive)
    const server =
      `let n = 0; const s = require('http').createServer((q, r) => { r.end('ok'); ` +
      `if (++n === 3) s.close(); }).listen(${port}, '127.0.0.1'); setInterval(() => {}, 1e9);`;
    const info = task(fw.offer, `exec ${node} -e ${JSON.stringify(server)}`, {
      healthCheck: {
        type: "HTTP",
        http: { port, path: "/health" },
        consecutiveFailures: 2,
        ...QUICK,
        // failures until the server listens are ignored (the grace period ends at the first pass)
        gracePeriodSeconds: 30,
      },
    });
    await fw.driver.accept([fw.offer.offerId], [info]);
    await healthUpdate(fw, info.taskId, true);
    const unhealthy = await healthUpdate(fw, info.taskId, false);
    t.is(unhealthy.reason, TaskReason.TaskHealthCheckStatusUpdated);
    t.regex(unhealthy.message ?? "", /HTTP/);
    const end = await terminal(fw, info.taskId);
    t.is(end.state, TaskState.Killed, end.message);
    t.false(end.healthy);
    t.regex(end.message ?? "", /failed 2 health check\(s\) in a row/);
    const states = updates(fw, info.taskId).map((s) => s.state);
    t.false(states.includes(TaskState.Killing), "no TASK_KILLING without the capability");
  },
);

test.serial("health - a TCP check against the task's port reports healthy", async (t) => {
  const fw = await frameworkWithOffer(t, { name: `health-${++seq}` });
  const port = await freePort();
  const server = `require('net').createServer((c) => c.end()).listen(${port}, '127.0.0.1');`;
  const info = task(fw.offer, `exec ${node} -e ${JSON.stringify(server)}`, {
    healthCheck: { type: "TCP", tcp: { port }, ...QUICK, gracePeriodSeconds: 30 },
  });
  await fw.driver.accept([fw.offer.offerId], [info]);
  const healthy = await healthUpdate(fw, info.taskId, true);
  t.is(healthy.reason, TaskReason.TaskHealthCheckStatusUpdated);
  await fw.driver.kill(info.taskId, fw.offer.agentId);
  const end = await terminal(fw, info.taskId);
  t.is(end.state, TaskState.Killed);
  t.true(end.healthy, "the terminal update carries the last known health");
});

test.serial(
  "health - a TCP check on a port nobody listens on fails the task's health",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `health-${++seq}` });
    const port = await freePort();
    const info = task(fw.offer, "sleep 60", {
      healthCheck: { type: "TCP", tcp: { port }, consecutiveFailures: 1, ...QUICK },
    });
    await fw.driver.accept([fw.offer.offerId], [info]);
    const end = await terminal(fw, info.taskId);
    t.is(end.state, TaskState.Killed);
    t.false(end.healthy);
  },
);

test.serial(
  "kill policy - its grace period wins over killGracePeriodSeconds: SIGKILL after it",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `health-${++seq}` });
    const ready = path.join(t.context.scratch.dir, `ready-${++seq}`);
    // 600 s of legacy grace would outlast the wait: only the policy's 0.2 s ends the task in time
    const info = task(fw.offer, `trap '' TERM; touch '${ready}'; sleep 60`, {
      killGracePeriodSeconds: 600,
      killPolicy: { gracePeriodSeconds: 0.2 },
    });
    await fw.driver.accept([fw.offer.offerId], [info]);
    await waitForStatus(fw, info.taskId, "TASK_RUNNING", (s) => s.state === TaskState.Running);
    await eventually(
      () =>
        access(ready).then(
          () => true,
          () => false,
        ),
      "the trap set",
    );
    await fw.driver.kill(info.taskId, fw.offer.agentId);
    const end = await terminal(fw, info.taskId);
    t.is(end.state, TaskState.Killed);
    t.is(end.signal, "SIGKILL");
  },
);

test.serial(
  "kill policy - TASK_KILLING comes before TASK_KILLED only for a framework with TASK_KILLING_STATE",
  async (t) => {
    const withCapability = await frameworkWithOffer(t, {
      name: `health-${++seq}`,
      capabilities: [FrameworkCapability.TaskKillingState],
    });
    const a = task(withCapability.offer, "sleep 60", {
      resources: { cpus: 0.1, mem: 32 },
    });
    await withCapability.driver.accept([withCapability.offer.offerId], [a]);
    await waitForStatus(
      withCapability,
      a.taskId,
      "TASK_RUNNING",
      (s) => s.state === TaskState.Running,
    );
    await withCapability.driver.kill(a.taskId, withCapability.offer.agentId);
    t.is((await terminal(withCapability, a.taskId)).state, TaskState.Killed);
    const statesA = updates(withCapability, a.taskId).map((s) => s.state);
    t.deepEqual(statesA.slice(-2), [TaskState.Killing, TaskState.Killed]);
    await withCapability.driver.teardown();

    const without = await frameworkWithOffer(t, { name: `health-${++seq}` });
    const b = task(without.offer, "sleep 60");
    await without.driver.accept([without.offer.offerId], [b]);
    await waitForStatus(without, b.taskId, "TASK_RUNNING", (s) => s.state === TaskState.Running);
    await without.driver.kill(b.taskId, without.offer.agentId);
    t.is((await terminal(without, b.taskId)).state, TaskState.Killed);
    t.false(updates(without, b.taskId).some((s) => s.state === TaskState.Killing));
  },
);

test.serial(
  "health - an unusable health check is refused TASK_ERROR with a clear message",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `health-${++seq}` });
    const info = task(fw.offer, "sleep 60", { healthCheck: { type: "HTTP", http: { path: "/" } } });
    await fw.driver.accept([fw.offer.offerId], [info]);
    const end = await terminal(fw, info.taskId);
    t.is(end.state, TaskState.Error);
    t.is(end.reason, TaskReason.TaskInvalid);
    t.is(
      end.message,
      "invalid health check: an HTTP health check needs 'http.port' (the port the task listens on)",
    );
  },
);

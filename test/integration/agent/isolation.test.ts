/**
 * Isolation end to end with real cgroups (v1 here, v2 where the host has
 * it): a master, an agent with `--cgroups-enable-cfs` and
 * `--cgroups-max-pids`, `agora run` and a framework. A task past its memory
 * is OOM-killed and reported as a memory limitation, a CPU hog is
 * throttled, a fork bomb is held, statistics reach the master's state, and
 * every container's cgroups are gone after its task. Skipped, with the
 * reason, where no cgroups are writable.
 */
import { existsSync, readdirSync } from "node:fs";
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import { isolatorFor } from "../../../actors/agent/isolation/index.ts";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import { connect } from "../../../infra/connect.ts";
import { requestState } from "../../../infra/request.ts";
import type { ResourceStatistics } from "../../../protocol/agents.ts";
import {
  isTerminalState,
  type Offer,
  type ResourcesJson,
  TaskReason,
  TaskState,
  type TaskStatus,
} from "../../../protocol/common.ts";
import type { ClusterContext } from "../../helpers/cluster.ts";
import { eventually } from "../../helpers/wait.ts";
import { runAgora } from "../cli/helpers.ts";
import { frameworkWithOffer, type TestFramework, useCluster, WAIT_MS } from "../e2e/helpers.ts";
import {
  cgroupTest,
  containerDirs,
  detectForTests,
  testClock,
  testRoot,
} from "../isolation/helpers.ts";
import { processesWithEnv } from "./helpers.ts";

type Context = ClusterContext;
const test = anyTest as TestFn<Context>;

const MAX_PIDS = 64;
const detection = await detectForTests(testRoot());
const cgtest = cgroupTest(test, detection);
let seq = 0;

useCluster(test, () => {
  if (detection.kind === "none") return undefined;
  return {
    prefix: "isolation",
    agents: [
      {
        hostname: "agent-1",
        resources: "cpus:4;mem:4096;disk:10000",
        overrides: {
          isolation: "cgroups",
          cgroupsRoot: detection.root,
          cgroupsEnableCfs: true,
          cgroupsMaxPids: MAX_PIDS,
          usageInterval: 200,
          enforceContainerDiskQuota: true,
          containerDiskWatchInterval: 200,
        },
      },
    ],
  };
});

test.after.always(async () => {
  // After the cluster: the file's cgroup root, and anything left in it.
  await isolatorFor(detection, { clock: testClock }).removeRoot();
});

/** Launches a command task and returns its id. */
async function launch(
  fw: TestFramework & { offer: Offer },
  command: string,
  resources: ResourcesJson,
): Promise<string> {
  const task = commandTask({ name: `t${++seq}`, agentId: fw.offer.agentId, resources, command });
  await fw.driver.accept([fw.offer.offerId], [task]);
  return task.taskId;
}

function terminal(fw: TestFramework, taskId: string): Promise<TaskStatus> {
  return fw.events
    .waitFor(
      isEvent("update", (e) => e.status.taskId === taskId && isTerminalState(e.status.state)),
      { timeoutMs: WAIT_MS, what: `the end of ${taskId}` },
    )
    .then((e) => e.status);
}

function terminalCount(fw: TestFramework, taskId: string): number {
  return fw.events.filter(
    (e) => e.type === "update" && e.status.taskId === taskId && isTerminalState(e.status.state),
  ).length;
}

/** The latest statistics of a task in the master's state. */
async function statisticsOf(
  t: ExecutionContext<Context>,
  taskId: string,
): Promise<ResourceStatistics | undefined> {
  const nc = await connect({ servers: t.context.server.url, name: "isolation-state" });
  try {
    const { state } = await requestState(nc, t.context.subjects.masterOperator(), 5000);
    for (const f of state.frameworks) {
      const task = f.tasks.find((x) => x.id === taskId);
      if (task !== undefined) return task.statistics;
    }
    return undefined;
  } finally {
    await nc.close();
  }
}

/** Container ids start with the executor id (= the task id of a command task). */
function containersOf(t: ExecutionContext<Context>, taskId: string): string[] {
  const agentId = t.context.cluster.agents[0]!.agent.agentId()!;
  return containerDirs(detection, agentId).flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((n) => n.startsWith(`${taskId}-`))
          .map((n) => `${dir}/${n}`)
      : [],
  );
}

/** Waits until the container of the executor of `taskId` has no cgroup directory left. */
async function containerGone(t: ExecutionContext<Context>, taskId: string): Promise<void> {
  await eventually(() => containersOf(t, taskId).length === 0, `the cgroups of ${taskId} to go`);
  t.deepEqual(containersOf(t, taskId), []);
}

cgtest(
  "agent isolation - agora run of a task allocating 400 MB with mem:32 fails as a memory limitation, exits 137",
  async (t) => {
    t.log(detection.reason);
    const r = await runAgora([
      "run",
      ...t.context.args,
      "--resources",
      "cpus:0.5;mem:32",
      "--",
      "python3",
      "-c",
      "x = bytearray(400 * 1024 * 1024)",
    ]);
    t.is(r.code, 137, r.stderr);
    t.regex(r.stderr, /^agora: task \S+ TASK_FAILED: Memory limit of 32 MB exceeded/m);
  },
);

cgtest(
  "agent isolation - an OOM-killed task: one TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY, its cgroups gone",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `isolation-${++seq}` });
    const taskId = await launch(fw, "head -c 400m /dev/zero | tail > /dev/null", {
      cpus: 0.5,
      mem: 32,
    });
    t.true(
      await eventually(() => containersOf(t, taskId).length > 0, "its container").then(() => true),
    );
    const end = await terminal(fw, taskId);
    t.is(end.state, TaskState.Failed);
    t.is(end.reason, TaskReason.ContainerLimitationMemory);
    t.regex(end.message ?? "", /32 MB/);
    await containerGone(t, taskId);
    t.is(terminalCount(fw, taskId), 1, "the framework sees one terminal update");
  },
);

cgtest(
  "agent isolation - a CPU hog under CFS is throttled, its statistics reach the master's state",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `isolation-${++seq}` });
    const taskId = await launch(fw, "while :; do :; done", { cpus: 0.1, mem: 64 });
    await fw.events.waitFor(
      isEvent("update", (e) => e.status.taskId === taskId && e.status.state === TaskState.Running),
      { timeoutMs: WAIT_MS },
    );
    // Statistics of the running hog (the executor and the shell in the container)...
    let first: ResourceStatistics | undefined;
    await eventually(async () => {
      first = await statisticsOf(t, taskId);
      return (first?.processes ?? 0) >= 2;
    }, "statistics of the running task");
    // ...then throttled time growing while it spins.
    let later: ResourceStatistics | undefined;
    await eventually(async () => {
      later = await statisticsOf(t, taskId);
      return (later?.cpusThrottledTimeSecs ?? 0) > (first?.cpusThrottledTimeSecs ?? 0);
    }, "more throttled time");
    t.log(JSON.stringify(later));
    t.true((later?.cpusThrottledTimeSecs ?? 0) > 0);
    t.true((later?.cpusNrThrottled ?? 0) > 0);
    t.true((later?.cpusUserTimeSecs ?? 0) + (later?.cpusSystemTimeSecs ?? 0) > 0);
    t.true((later?.memTotalBytes ?? 0) > 0);
    t.is(later?.processesLimit, MAX_PIDS);
    t.true(Math.abs((later?.cpusLimit ?? 0) - 0.2) < 1e-9, "cpus 0.1 + 0.1 for the executor");
    await fw.driver.kill(taskId, fw.offer.agentId);
    t.is((await terminal(fw, taskId)).state, TaskState.Killed);
    await containerGone(t, taskId);
  },
);

cgtest("agent isolation - a fork bomb is held by --cgroups-max-pids", async (t) => {
  const fw = await frameworkWithOffer(t, { name: `isolation-${++seq}` });
  const bomb = `i=0; while [ $i -lt ${MAX_PIDS * 4} ]; do sleep 60 & i=$((i+1)); done 2>&1; echo spawned`;
  const taskId = await launch(fw, `(${bomb}) 2>&1`, { cpus: 0.5, mem: 128 });
  const end = await terminal(fw, taskId);
  const output = Buffer.from(end.data ?? new Uint8Array()).toString();
  t.regex(output, /fork|resource temporarily unavailable/i, output);
  await containerGone(t, taskId);
});

cgtest(
  "agent isolation - a sandbox over its disk with --enforce-container-disk-quota fails the task as a disk limitation",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `isolation-${++seq}` });
    const taskId = await launch(fw, "head -c 8388608 /dev/urandom > big && sleep 60", {
      cpus: 0.5,
      mem: 64,
      disk: 2,
    });
    const end = await terminal(fw, taskId);
    t.is(end.state, TaskState.Failed);
    t.is(end.reason, TaskReason.ContainerLimitationDisk);
    t.regex(end.message ?? "", /disk limit of 2 MB/);
    await containerGone(t, taskId);
    t.is(terminalCount(fw, taskId), 1);
  },
);

cgtest(
  "agent isolation - a process that escaped its task's session with setsid ends with the container",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `isolation-${++seq}` });
    const taskId = await launch(fw, "setsid sleep 300 & sleep 0.2; exit 0", { cpus: 0.1, mem: 64 });
    const end = await terminal(fw, taskId);
    t.is(end.state, TaskState.Finished);
    await containerGone(t, taskId);
    // The escaped sleep inherited the executor's environment: nothing of the task is left.
    t.deepEqual(await processesWithEnv("AGORA_EXECUTOR_ID", taskId), []);
  },
);

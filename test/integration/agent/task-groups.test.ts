/**
 * Task groups end to end: a real master, a real agent (with cgroups where
 * the machine has them writable), a framework launching groups through the
 * scheduler driver's `acceptGroups`, and the built-in default executor.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import { containerIdFor, isolatorFor } from "../../../actors/agent/isolation/index.ts";
import type { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import type { SchedulerEvent } from "../../../actors/scheduler/events.ts";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent, type Recorder } from "../../../actors/scheduler/recorder.ts";
import { connect } from "../../../infra/connect.ts";
import { requestState } from "../../../infra/request.ts";
import type { ResourceStatistics } from "../../../protocol/agents.ts";
import {
  type ExecutorInfo,
  isTerminalState,
  type Offer,
  type TaskInfo,
  TaskReason,
  TaskState,
  type TaskStatus,
} from "../../../protocol/common.ts";
import type { ClusterContext } from "../../helpers/cluster.ts";
import { eventually } from "../../helpers/wait.ts";
import { runAgora } from "../cli/helpers.ts";
import { startFramework, useCluster, WAIT_MS } from "../e2e/helpers.ts";
import { startServer } from "../fetcher/server.ts";
import {
  cgroupTest,
  containerDirs,
  detectForTests,
  testClock,
  testRoot,
} from "../isolation/helpers.ts";

type Context = ClusterContext;
const test = anyTest as TestFn<Context>;

// Long enough that the next group of a test reaches a warm executor on a loaded CI machine
// (an offer and an accept between two groups took more than 1.5 s there once).
const IDLE_MS = 5000;
const detection = await detectForTests(testRoot());
const isolated = detection.kind !== "none";
const cgtest = cgroupTest(test, detection);
let seq = 0;

useCluster(test, {
  prefix: "groups",
  agents: [
    {
      hostname: "agent-1",
      resources: "cpus:4;mem:4096;disk:10000",
      overrides: {
        isolation: isolated ? "cgroups" : "none",
        ...(isolated ? { cgroupsRoot: detection.root, usageInterval: 200 } : {}),
        defaultExecutorIdleTimeout: IDLE_MS,
      },
    },
  ],
});

test.after.always(async () => {
  if (isolated) await isolatorFor(detection, { clock: testClock }).removeRoot();
});

type Framework = { driver: SchedulerDriver; events: Recorder<SchedulerEvent> };

async function framework(t: ExecutionContext<Context>): Promise<Framework> {
  const fw = await startFramework({
    servers: t.context.server.url,
    subjects: t.context.subjects,
    framework: { name: `groups-${++seq}` },
  });
  t.teardown(() => fw.driver.teardown().catch(() => fw.driver.stop()));
  return fw;
}

/** The first offer recorded from `from` on. */
/**
 * The next offer after `from` holding at least `need`: a small one may come
 * first (the remainder of an accept, or an idle executor's own resources
 * returned when its last task ended).
 */
async function nextOffer(
  fw: Framework,
  from = 0,
  need: Record<string, number> = { cpus: 1, mem: 256 },
): Promise<Offer> {
  const fits = (o: Offer) =>
    Object.entries(need).every(([name, amount]) => {
      const have = o.resources[name];
      return typeof have === "number" && have >= amount;
    });
  const { offers } = await fw.events.waitFor(
    isEvent("offers", (e) => e.offers.some(fits)),
    { timeoutMs: WAIT_MS, from },
  );
  return offers.find(fits)!;
}

function task(offer: Offer, command: string, mem = 32): TaskInfo {
  return commandTask({
    name: `t${++seq}`,
    agentId: offer.agentId,
    resources: { cpus: 0.1, mem },
    command,
  });
}

const defaultExecutor = (executorId: string): ExecutorInfo => ({
  executorId,
  type: "DEFAULT",
  resources: { cpus: 0.1, mem: 32 },
});

function terminal(fw: Framework, taskId: string): Promise<TaskStatus> {
  return fw.events
    .waitFor(
      isEvent("update", (e) => e.status.taskId === taskId && isTerminalState(e.status.state)),
      { timeoutMs: WAIT_MS, what: `the end of ${taskId}` },
    )
    .then((e) => e.status);
}

function running(fw: Framework, taskId: string): Promise<TaskStatus> {
  return fw.events
    .waitFor(
      isEvent("update", (e) => e.status.taskId === taskId && e.status.state === TaskState.Running),
      { timeoutMs: WAIT_MS, what: `${taskId} running` },
    )
    .then((e) => e.status);
}

const text = (data: Uint8Array | undefined) => new TextDecoder().decode(data ?? new Uint8Array());

test("task groups - when one task of a group fails the others are killed with the group reason", async (t) => {
  const fw = await framework(t);
  const offer = await nextOffer(fw);
  const failing = task(offer, "exit 3");
  const sleepers = [task(offer, "sleep 60"), task(offer, "sleep 60")];
  await fw.driver.acceptGroups(
    [offer.offerId],
    [{ executor: defaultExecutor("fail-group"), taskGroup: { tasks: [failing, ...sleepers] } }],
  );
  const failed = await terminal(fw, failing.taskId);
  t.is(failed.state, TaskState.Failed);
  t.is(failed.exitCode, 3);
  for (const s of sleepers) {
    const end = await terminal(fw, s.taskId);
    t.is(end.state, TaskState.Killed);
    t.is(end.reason, TaskReason.TaskGroupKilled);
    t.regex(end.message ?? "", new RegExp(failing.taskId));
  }
});

test("task groups - a group with failurePolicy CONTINUE keeps its other tasks running", async (t) => {
  const fw = await framework(t);
  const offer = await nextOffer(fw);
  const failing = task(offer, "exit 1");
  const sleeper = task(offer, "sleep 60");
  await fw.driver.acceptGroups(
    [offer.offerId],
    [
      {
        executor: defaultExecutor("continue-group"),
        taskGroup: { tasks: [failing, sleeper], failurePolicy: "CONTINUE" },
      },
    ],
  );
  await running(fw, sleeper.taskId);
  t.is((await terminal(fw, failing.taskId)).state, TaskState.Failed);
  await fw.driver.kill(sleeper.taskId);
  const end = await terminal(fw, sleeper.taskId);
  t.is(end.state, TaskState.Killed);
  t.not(end.reason, TaskReason.TaskGroupKilled);
});

test("task groups - one invalid task makes the whole group TASK_ERROR, none starts", async (t) => {
  const fw = await framework(t);
  const offer = await nextOffer(fw);
  const good = task(offer, "sleep 60");
  const bad = { ...task(offer, "true"), resources: { cpus: 1000, mem: 32 } };
  await fw.driver.acceptGroups(
    [offer.offerId],
    [{ executor: defaultExecutor("invalid-group"), taskGroup: { tasks: [good, bad] } }],
  );
  for (const id of [good.taskId, bad.taskId]) {
    const end = await terminal(fw, id);
    t.is(end.state, TaskState.Error);
    t.is(end.reason, TaskReason.TaskGroupInvalid);
  }
  t.deepEqual(
    fw.events.filter(
      (e) =>
        e.type === "update" &&
        e.status.taskId === good.taskId &&
        e.status.state === TaskState.Running,
    ),
    [],
  );
});

test("task groups - one default executor (same pid) runs groups in sequence and exits after its idle timeout", async (t) => {
  const fw = await framework(t);
  const pids: number[] = [];
  let from = 0;
  for (let i = 0; i < 3; i++) {
    const offer = await nextOffer(fw, from);
    // the task's parent is the executor's task spawner, whose parent is the executor
    // (a cgroup join runs in the task's own shell)
    const probe = task(offer, "cut -d' ' -f4 /proc/$PPID/stat");
    from = fw.events.mark();
    await fw.driver.acceptGroups(
      [offer.offerId],
      [{ executor: defaultExecutor("reused"), taskGroup: { tasks: [probe] } }],
      { refuseSeconds: 0 },
    );
    const end = await terminal(fw, probe.taskId);
    t.is(end.state, TaskState.Finished, end.message);
    pids.push(Number.parseInt(text(end.data).trim(), 10));
  }
  t.true(Number.isInteger(pids[0]) && pids[0]! > 1, `pids: ${pids}`);
  t.deepEqual(new Set(pids).size, 1, `pids: ${pids}`);
  const alive = () => {
    try {
      process.kill(pids[0]!, 0);
      return true;
    } catch {
      return false;
    }
  };
  await eventually(() => !alive(), "the idle default executor to exit", WAIT_MS);
  t.false(alive());
});

/** The pid and parent pid of the process whose command line holds `marker`, if one runs. */
function processWith(marker: string): { pid: number; ppid: number } | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      return { pid: Number(entry), ppid };
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

test("task groups - a task whose spawner died fails; the executor's next task gets a new spawner", async (t) => {
  const fw = await framework(t);
  const offer = await nextOffer(fw);
  const marker = `agora-spawner-probe-${process.pid}-${++seq}`;
  const victim = task(offer, `: ${marker}; sleep 60`);
  let from = fw.events.mark();
  await fw.driver.acceptGroups(
    [offer.offerId],
    [{ executor: defaultExecutor("spawner-lost"), taskGroup: { tasks: [victim] } }],
    { refuseSeconds: 0 },
  );
  await running(fw, victim.taskId);
  const shell = processWith(marker);
  t.truthy(shell, "the task's shell runs");
  process.kill(shell!.ppid, "SIGKILL");
  const end = await terminal(fw, victim.taskId);
  t.is(end.state, TaskState.Failed);
  t.is(end.reason, TaskReason.CommandExecutorFailed);
  t.regex(end.message ?? "", /task spawner/);
  await eventually(() => processWith(marker) === undefined, "the lost task's processes to go");
  const next = await nextOffer(fw, from);
  from = fw.events.mark();
  const probe = task(next, "true");
  await fw.driver.acceptGroups(
    [next.offerId],
    [{ executor: defaultExecutor("spawner-lost"), taskGroup: { tasks: [probe] } }],
    { refuseSeconds: 0 },
  );
  t.is((await terminal(fw, probe.taskId)).state, TaskState.Finished);
});

/** The latest statistics of a task in the master's state. */
async function statisticsOf(
  t: ExecutionContext<Context>,
  taskId: string,
): Promise<ResourceStatistics | undefined> {
  const nc = await connect({ servers: t.context.server.url, name: "groups-state" });
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

/** The nested cgroup directories of a task of a default executor. */
function taskCgroups(t: ExecutionContext<Context>, frameworkId: string, taskId: string): string[] {
  const agentId = t.context.cluster.agents[0]!.agent.agentId()!;
  const id = containerIdFor(frameworkId, taskId);
  return containerDirs(detection, agentId).flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .map((executor) => `${dir}/${executor}/${id}`)
          .filter((p) => existsSync(p))
      : [],
  );
}

cgtest(
  "task groups - each task runs in its own nested cgroup, removed when the task ends",
  async (t) => {
    const fw = await framework(t);
    const offer = await nextOffer(fw);
    const a = task(offer, "cat /proc/self/cgroup; sleep 60");
    const b = task(offer, "sleep 60");
    await fw.driver.acceptGroups(
      [offer.offerId],
      [{ executor: defaultExecutor("nested"), taskGroup: { tasks: [a, b] } }],
    );
    await running(fw, a.taskId);
    await running(fw, b.taskId);
    const frameworkId = fw.driver.frameworkId;
    await eventually(() => taskCgroups(t, frameworkId, a.taskId).length > 0, "the nested cgroups");
    t.true(taskCgroups(t, frameworkId, b.taskId).length > 0);
    // the master's state shows the task's own statistics: its cgroup's limit (its mem, 32 MB),
    // its processes (sh and sleep, not the executor's threads)
    let stats: ResourceStatistics | undefined;
    await eventually(async () => {
      stats = await statisticsOf(t, a.taskId);
      return stats?.memLimitBytes === 32 * 1024 * 1024;
    }, "the task's own statistics");
    t.true((stats?.processes ?? 99) <= 3, JSON.stringify(stats));
    await fw.driver.kill(a.taskId);
    const end = await terminal(fw, a.taskId);
    t.regex(text(end.data), new RegExp(containerIdFor(frameworkId, a.taskId)));
    await terminal(fw, b.taskId);
    await eventually(
      () => [a, b].every((x) => taskCgroups(t, frameworkId, x.taskId).length === 0),
      "the nested cgroups to go",
    );
    t.deepEqual(taskCgroups(t, frameworkId, a.taskId), []);
  },
);

cgtest(
  "task groups - a task allocating past its memory is OOM-killed and reported, its group killed",
  async (t) => {
    const fw = await framework(t);
    const offer = await nextOffer(fw);
    const hog = task(offer, "head -c 400m /dev/zero | tail > /dev/null", 32);
    const sleeper = task(offer, "sleep 60");
    await fw.driver.acceptGroups(
      [offer.offerId],
      [{ executor: defaultExecutor("oom"), taskGroup: { tasks: [hog, sleeper] } }],
    );
    const end = await terminal(fw, hog.taskId);
    t.is(end.state, TaskState.Failed);
    t.is(end.reason, TaskReason.ContainerLimitationMemory);
    t.regex(end.message ?? "", /32 MB/);
    t.is((await terminal(fw, sleeper.taskId)).reason, TaskReason.TaskGroupKilled);
  },
);

test("task groups - agora run --group runs several commands as one group and exits with the failing code", async (t) => {
  const ok = await runAgora([
    "run",
    ...t.context.args,
    "--group",
    "echo one",
    "--group",
    "echo two",
  ]);
  t.is(ok.code, 0, ok.stderr);
  // each task's output, streamed from its own sandbox, prefixed by its name
  t.regex(ok.stdout, /^\[agora-run-1\] one$/m);
  t.regex(ok.stdout, /^\[agora-run-2\] two$/m);
  const bad = await runAgora([
    "run",
    ...t.context.args,
    "--group",
    "sleep 30",
    "--group",
    "exit 4",
  ]);
  t.is(bad.code, 4, bad.stderr);
});

test("task groups - each task's URIs are fetched into its own sandbox; a 404 fails the whole group", async (t) => {
  const server = await startServer({ "/hello.sh": "#!/bin/sh\necho fetched-$1\n" });
  t.teardown(() => server.close());
  const fw = await framework(t);
  let offer = await nextOffer(fw);
  const fetched = task(offer, "./hello.sh one");
  fetched.command!.uris = [{ value: `${server.base}/hello.sh`, executable: true }];
  let from = fw.events.mark();
  await fw.driver.acceptGroups(
    [offer.offerId],
    [{ executor: defaultExecutor("fetching"), taskGroup: { tasks: [fetched] } }],
    { refuseSeconds: 0 },
  );
  const done = await terminal(fw, fetched.taskId);
  t.is(done.state, TaskState.Finished, done.message);
  t.regex(text(done.data), /fetched-one/);

  offer = await nextOffer(fw, from);
  const broken = task(offer, "true");
  broken.command!.uris = [{ value: `${server.base}/missing.tar.gz` }];
  const sibling = task(offer, "sleep 60");
  from = fw.events.mark();
  await fw.driver.acceptGroups(
    [offer.offerId],
    [{ executor: defaultExecutor("fetching"), taskGroup: { tasks: [broken, sibling] } }],
  );
  for (const id of [broken.taskId, sibling.taskId]) {
    const end = await terminal(fw, id);
    t.is(end.state, TaskState.Failed, end.message);
    t.is(end.reason, TaskReason.ContainerLaunchFailed);
    t.regex(end.message ?? "", /missing\.tar\.gz/);
  }
});

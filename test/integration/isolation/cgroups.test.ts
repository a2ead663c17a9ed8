/**
 * Real cgroups (v1 here, v2 on hosts that have its controllers): limits hold,
 * the kernel's counters are read back, and every cgroup made is removed.
 * Skipped, with the reason in the title, where no cgroups are writable.
 */
import { existsSync, readFileSync } from "node:fs";
import test from "ava";
import type { Container } from "../../../actors/agent/isolation/types.ts";
import { JOIN_CGROUP_FAILED_EXIT } from "../../../actors/shared/join-cgroups.ts";
import { eventually } from "../../helpers/wait.ts";
import {
  cgroupTest,
  containerDirs,
  detectForTests,
  spawnArgv,
  testClock,
  testRoot,
  useIsolator,
} from "./helpers.ts";

const MB = 1024 * 1024;
const detection = await detectForTests(testRoot());
const isolator = useIsolator(test, detection);
const cgtest = cgroupTest(test, detection);

/** Destroys the container even when the test failed half-way. */
async function withContainer(
  container: Container,
  fn: (c: Container) => Promise<void>,
): Promise<void> {
  try {
    await fn(container);
  } finally {
    await container.destroy();
  }
}

cgtest("cgroups - a wrapped process is inside the container before its program runs", async (t) => {
  t.log(detection.reason);
  await withContainer(
    await isolator.prepare("join", { cpus: 0.5, memBytes: 64 * MB }),
    async (c) => {
      const cat = spawnArgv(c.wrap(["/bin/cat", "/proc/self/cgroup"]));
      const end = await cat.exited;
      t.is(end.code, 0, cat.stderr());
      const lines = cat.stdout().trim().split("\n");
      const wanted =
        detection.kind === "cgroups-v2" ? ["0::"] : ["cpu", "cpuacct", "memory", "pids", "freezer"];
      for (const controller of wanted) {
        const line = lines.find(
          (l) => l.split(":")[1]?.split(",").includes(controller) || l.startsWith(controller),
        );
        t.truthy(line, `no line for ${controller} in ${cat.stdout()}`);
        t.true(line?.includes(`/${detection.root}/join`), `${controller}: ${line}`);
      }
    },
  );
});

cgtest("cgroups - a process that cannot join a removed cgroup does not run", async (t) => {
  const c = await isolator.prepare("gone", {});
  const argv = c.wrap(["/bin/echo", "ran"]);
  await c.destroy();
  const echo = spawnArgv(argv);
  const end = await echo.exited;
  t.is(end.code, JOIN_CGROUP_FAILED_EXIT);
  t.is(echo.stdout(), "");
  t.regex(echo.stderr(), /cannot join cgroup/);
});

cgtest(
  "cgroups - a process allocating 200 MB in a 64 MB container is OOM-killed and reported",
  async (t) => {
    await withContainer(await isolator.prepare("oom", { memBytes: 64 * MB }), async (c) => {
      t.false((await c.oom()).killed);
      const dd = spawnArgv(c.wrap(["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]));
      const end = await dd.exited;
      t.is(end.signal, "SIGKILL", `dd ended ${JSON.stringify(end)}: ${dd.stderr()}`);
      const oom = await c.oom();
      t.true(oom.killed);
      t.true(oom.oomKills >= 1);
      t.true(oom.limitHits >= 1);
      t.is(oom.limitBytes, 64 * MB);
      t.is(oom.limitation?.reason, "REASON_CONTAINER_LIMITATION_MEMORY");
      t.regex(oom.limitation?.message ?? "", /64 MB/);
      const stats = await c.stats();
      t.is(stats.memLimitBytes, 64 * MB);
      // memory.peak is Linux 5.19+ on v2; v1's max_usage_in_bytes is always there.
      if (detection.kind === "cgroups-v1" || stats.memPeakBytes !== undefined) {
        t.true((stats.memPeakBytes ?? 0) > 32 * MB, `peak ${stats.memPeakBytes}`);
      }
    });
  },
);

cgtest(
  "cgroups - a CPU hog under a CFS quota of 0.2 cpus is throttled and its cpu time moves",
  async (t) => {
    await withContainer(await isolator.prepare("hog", { cpus: 0.2, cpusQuota: 0.2 }), async (c) => {
      const before = await c.stats();
      t.is(before.cpusLimit, 0.2);
      t.is(before.cpusThrottledTimeSecs ?? 0, 0);
      const hog = spawnArgv(c.wrap(["/bin/sh", "-c", "while :; do :; done"]));
      await eventually(async () => {
        const s = await c.stats();
        return (
          (s.cpusThrottledTimeSecs ?? 0) > 0 &&
          (s.cpusNrThrottled ?? 0) > 0 &&
          (s.cpusUserTimeSecs ?? 0) + (s.cpusSystemTimeSecs ?? 0) > 0
        );
      }, "throttling and cpu time");
      const after = await c.stats();
      t.true((after.cpusNrPeriods ?? 0) >= (after.cpusNrThrottled ?? 0));
      t.true((after.processes ?? 0) >= 1);
      await c.killAll();
      t.is((await hog.exited).signal, "SIGKILL");
      t.deepEqual(await c.pids(), []);
    });
  },
);

cgtest(
  "cgroups - a fork bomb is held by pids.max, killAll ends it and destroy removes every cgroup",
  async (t) => {
    const limit = 16;
    const c = await isolator.prepare("forkbomb", { maxPids: limit });
    try {
      const bomb = spawnArgv(
        c.wrap([
          "/bin/sh",
          "-c",
          "i=0; while [ $i -lt 200 ]; do sleep 600 & i=$((i+1)); done; wait",
        ]),
      );
      // The shell cannot fork past the limit: it says so (dash then exits).
      await eventually(() => /fork/i.test(bomb.stderr()), "a failed fork");
      const stats = await c.stats();
      t.is(stats.processesLimit, limit);
      t.true((stats.processes ?? 0) <= limit, `processes ${stats.processes}`);
      if (stats.processesPeak !== undefined) t.true(stats.processesPeak <= limit);
      const pids = await c.pids();
      t.true(pids.length > 1 && pids.length <= limit, `pids ${pids.length}`);
      await c.killAll();
      t.deepEqual(await c.pids(), []);
      await bomb.exited;
      for (const pid of pids) t.false(running(pid), `pid ${pid} still running`);
    } finally {
      await c.destroy();
    }
    for (const dir of containerDirs(detection, "forkbomb")) t.false(existsSync(dir), dir);
  },
);

cgtest("cgroups - nested task cgroups live under the container and go with it", async (t) => {
  const c = await isolator.prepare("group", { cpus: 1, memBytes: 128 * MB });
  const task = await c.child("task-a", { memBytes: 64 * MB });
  const sleeper = spawnArgv(task.wrap(["sleep", "600"]));
  await eventually(async () => (await task.pids()).includes(sleeper.pid), "the task in its cgroup");
  t.true((await c.pids()).includes(sleeper.pid));
  t.deepEqual(
    (await c.children()).map((k) => k.id),
    ["task-a"],
  );
  t.deepEqual(task.path, ["group", "task-a"]);
  t.is((await task.stats()).memLimitBytes, 64 * MB);
  await c.destroy();
  t.is((await sleeper.exited).signal, "SIGKILL");
  for (const dir of containerDirs(detection, "group")) t.false(existsSync(dir), dir);
});

cgtest(
  "cgroups - v1: a task's nested cgroup is in cpu, cpuacct and memory only, and its destroy kills what runs in it",
  async (t) => {
    if (detection.kind !== "cgroups-v1") {
      t.pass(`not v1 (${detection.kind})`);
      return;
    }
    const c = await isolator.prepare("nested1", { cpus: 1, memBytes: 128 * MB, maxPids: 64 });
    try {
      // the executor stands in the container; its task process is spawned from inside it
      const task = await c.child("task-b", { cpus: 0.1, memBytes: 32 * MB, maxPids: 64 });
      const sleeper = spawnArgv(
        c.wrap(task.wrap(["/bin/sh", "-c", "cat /proc/self/cgroup; exec sleep 600"])),
      );
      await eventually(() => sleeper.stdout().includes("freezer"), "the task in its cgroup");
      const lines = sleeper.stdout().trim().split("\n");
      const of = (controller: string) =>
        lines.find((l) => l.split(":")[1]?.split(",").includes(controller)) ?? "";
      for (const controller of ["cpu", "cpuacct", "memory"]) {
        t.true(of(controller).endsWith("/nested1/task-b"), `${controller}: ${of(controller)}`);
      }
      for (const controller of ["pids", "freezer"]) {
        t.true(of(controller).endsWith("/nested1"), `${controller}: ${of(controller)}`);
      }
      const dirs = detection.v1!;
      t.false(existsSync(`${dirs.pids}/${detection.root}/nested1/task-b`));
      t.false(existsSync(`${dirs.freezer}/${detection.root}/nested1/task-b`));
      const stats = await task.stats();
      t.is(stats.memLimitBytes, 32 * MB);
      t.true((stats.processes ?? 0) >= 1, JSON.stringify(stats));
      t.deepEqual(
        (await c.children()).map((k) => k.id),
        ["task-b"],
      );
      await task.destroy();
      t.is((await sleeper.exited).signal, "SIGKILL");
      for (const controller of ["cpu", "cpuacct", "memory"]) {
        t.false(
          existsSync(
            `${dirs[controller as "cpu" | "cpuacct" | "memory"]}/${detection.root}/nested1/task-b`,
          ),
        );
      }
    } finally {
      await c.destroy();
    }
  },
);

cgtest("cgroups - a restarted agent finds its containers again and can destroy them", async (t) => {
  const c = await isolator.prepare("survivor", { cpus: 0.1 });
  const sleeper = spawnArgv(c.wrap(["sleep", "600"]));
  await eventually(async () => (await c.pids()).includes(sleeper.pid), "the process in its cgroup");
  // A second isolator over the same root stands for the agent after a crash.
  const { isolatorFor } = await import("../../../actors/agent/isolation/index.ts");
  const again = isolatorFor(detection, { clock: testClock });
  const found = await again.recover();
  const survivor = found.find((k) => k.id === "survivor");
  t.truthy(survivor);
  t.true((await survivor?.pids())?.includes(sleeper.pid));
  await survivor?.destroy();
  t.is((await sleeper.exited).signal, "SIGKILL");
  t.false((await again.recover()).some((k) => k.id === "survivor"));
  for (const dir of containerDirs(detection, "survivor")) t.false(existsSync(dir), dir);
});

/** Whether a process exists and is not a zombie (an orphan's zombie waits for its reaper). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

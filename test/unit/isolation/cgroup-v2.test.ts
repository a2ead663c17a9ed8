import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { detectIsolation } from "../../../actors/agent/isolation/detect.ts";
import { isolatorFor } from "../../../actors/agent/isolation/index.ts";
import { sharesToWeight } from "../../../actors/agent/isolation/limits.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { isAgoraError } from "../../../protocol/errors.ts";
import { FakeCgroup2, type FakeCgroup2Options } from "./fake-cgroup2.ts";

const MB = 1024 * 1024;
const ROOT = "agora/agent-1";

const children: ChildProcess[] = [];
test.after.always(() => {
  for (const c of children) c.kill("SIGKILL");
});

async function fakeHost(options: FakeCgroup2Options = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-cgroup2-"));
  const fake = new FakeCgroup2(path.join(dir, "sys/fs/cgroup"), options);
  const hierarchy = fake.mount;
  const cleanup = () => rm(dir, { recursive: true, force: true });
  return { fake, hierarchy, cleanup };
}

async function v2Isolator(options: FakeCgroup2Options = {}) {
  const host = await fakeHost(options);
  const detection = await detectIsolation({
    root: ROOT,
    hierarchy: host.hierarchy,
    mounts: host.fake.mountsLine(),
    fs: host.fake,
  });
  const isolator = isolatorFor(detection, { fs: host.fake });
  const cdir = (...ids: string[]) => path.join(host.fake.mount, ROOT, ...ids);
  return { ...host, detection, isolator, cdir };
}

function sleeper(): number {
  const child = spawn("sleep", ["600"], { stdio: "ignore" });
  children.push(child);
  if (child.pid === undefined) throw new Error("no sleep");
  return child.pid;
}

const read = (file: string) => readFileSync(file, "utf8").trim();

test("cgroups v2 - detection enables cpu, memory and pids from the mount down to the agent's root", async (t) => {
  const { detection, fake, cleanup } = await v2Isolator();
  t.teardown(cleanup);
  t.is(detection.kind, "cgroups-v2");
  t.is(detection.v2, fake.mount);
  t.regex(
    detection.reason,
    /cgroups v2 at .* \(cpu, memory, pids\), containers under agora\/agent-1/,
  );
  for (const level of ["", "agora", ROOT]) {
    t.is(read(path.join(fake.mount, level, "cgroup.subtree_control")), "cpu memory pids", level);
  }
});

test("cgroups v2 - a hierarchy without the controllers is not used, and says why", async (t) => {
  const host = await fakeHost({ controllers: ["hugetlb", "io"] });
  t.teardown(host.cleanup);
  const options = {
    root: ROOT,
    hierarchy: host.hierarchy,
    mounts: host.fake.mountsLine(),
    fs: host.fake,
  };
  const auto = await detectIsolation(options);
  t.is(auto.kind, "none");
  t.regex(auto.reason, /lacks cpu, memory, pids/);
  t.regex(auto.reason, /cgroup v1 lacks cpu, cpuacct, memory, pids, freezer/);
  const err = await t.throwsAsync(detectIsolation({ ...options, mode: "cgroups" }));
  t.true(isAgoraError(err, "INVALID_CONFIG"));
  t.is(
    (await detectIsolation({ ...options, mode: "none" })).reason,
    "isolation: none (--isolation=none)",
  );
});

test("cgroups v2 - prepare writes cpu.weight, cpu.max, memory.max, memory.high and pids.max", async (t) => {
  const { isolator, cdir, cleanup } = await v2Isolator();
  t.teardown(cleanup);
  const c = await isolator.prepare("exec-1", {
    cpus: 2,
    cpusQuota: 0.5,
    memBytes: 64 * MB,
    memHighBytes: 60 * MB,
    maxPids: 32,
  });
  t.is(read(path.join(cdir("exec-1"), "cpu.weight")), String(sharesToWeight(2048)));
  t.is(read(path.join(cdir("exec-1"), "cpu.weight")), "79");
  t.is(read(path.join(cdir("exec-1"), "cpu.max")), "50000 100000");
  t.is(read(path.join(cdir("exec-1"), "memory.max")), String(64 * MB));
  t.is(read(path.join(cdir("exec-1"), "memory.high")), String(60 * MB));
  t.is(read(path.join(cdir("exec-1"), "pids.max")), "32");
  // The container hands its controllers to its leaf and to nested task cgroups.
  t.is(read(path.join(cdir("exec-1"), "cgroup.subtree_control")), "cpu memory pids");
  t.true(existsSync(path.join(cdir("exec-1"), "leaf", "cgroup.procs")));
  const argv = c.wrap(["/bin/echo", "hi"]);
  t.is(argv[0], "/bin/sh");
  // the joining shell names the leaf's cgroup.procs, then execs the program
  t.true(argv[2]?.includes(`>'${path.join(cdir("exec-1"), "leaf", "cgroup.procs")}'`));
  t.deepEqual(argv.slice(3), ["sh", "/bin/echo", "hi"]);
});

test("cgroups v2 - statistics come from cpu.stat, memory.current/peak and pids.current, in seconds", async (t) => {
  const { isolator, cdir, fake, cleanup } = await v2Isolator();
  t.teardown(cleanup);
  const clock = new VirtualClock(5000);
  const iso = isolatorFor(
    await detectIsolation({
      root: ROOT,
      hierarchy: fake.mount,
      mounts: fake.mountsLine(),
      fs: fake,
    }),
    { fs: fake, clock },
  );
  await isolator.prepare("s", { cpusQuota: 1.5, memBytes: 64 * MB, maxPids: 10 });
  const c = (await iso.recover())[0]!;
  const d = cdir("s");
  fake.set(
    path.join(d, "cpu.stat"),
    "usage_usec 3500000\nuser_usec 2500000\nsystem_usec 1000000\nnr_periods 40\nnr_throttled 12\nthrottled_usec 750000\nnr_bursts 0\nburst_usec 0\n",
  );
  fake.set(path.join(d, "memory.current"), String(10 * MB));
  fake.set(path.join(d, "memory.peak"), String(20 * MB));
  fake.set(path.join(d, "pids.current"), "3");
  fake.set(path.join(d, "pids.peak"), "5");
  t.deepEqual(await c.stats(), {
    timestamp: 5000,
    cpusUserTimeSecs: 2.5,
    cpusSystemTimeSecs: 1,
    cpusLimit: 1.5,
    cpusNrPeriods: 40,
    cpusNrThrottled: 12,
    cpusThrottledTimeSecs: 0.75,
    memTotalBytes: 10 * MB,
    memPeakBytes: 20 * MB,
    memLimitBytes: 64 * MB,
    processes: 3,
    processesPeak: 5,
    processesLimit: 10,
  });
});

test("cgroups v2 - an oom_kill in memory.events is an OOM kill naming the limit", async (t) => {
  const { isolator, cdir, fake, cleanup } = await v2Isolator();
  t.teardown(cleanup);
  const c = await isolator.prepare("o", { memBytes: 64 * MB });
  t.deepEqual(await c.oom(), { killed: false, oomKills: 0, limitHits: 0, limitBytes: 64 * MB });
  fake.set(
    path.join(cdir("o"), "memory.events"),
    "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n",
  );
  fake.set(path.join(cdir("o"), "memory.peak"), String(64 * MB));
  const oom = await c.oom();
  t.true(oom.killed);
  t.is(oom.oomKills, 1);
  t.is(oom.limitHits, 7);
  t.is(oom.limitation?.reason, "REASON_CONTAINER_LIMITATION_MEMORY");
  t.regex(oom.limitation?.message ?? "", /limit of 64 MB; peak use 64\.0 MB/);
});

test("cgroups v2 - killAll writes cgroup.kill once for the whole tree; destroy removes leaves first", async (t) => {
  const { isolator, cdir, fake, cleanup } = await v2Isolator();
  t.teardown(cleanup);
  const c = await isolator.prepare("k", { memBytes: 64 * MB });
  const task = await c.child("task-1", { memBytes: 32 * MB });
  const a = sleeper();
  const b = sleeper();
  await fake.write(path.join(cdir("k"), "leaf", "cgroup.procs"), String(a));
  await fake.write(path.join(cdir("k", "task-1"), "leaf", "cgroup.procs"), String(b));
  t.deepEqual((await c.pids()).sort(), [a, b].sort());
  t.deepEqual(await task.pids(), [b]);
  t.deepEqual(
    (await c.children()).map((k) => k.id),
    ["task-1"],
  );
  await c.destroy();
  t.is(fake.writes.filter((w) => w.endsWith("cgroup.kill=1")).length, 1);
  t.false(existsSync(cdir("k")));
  t.deepEqual(await isolator.recover(), []);
});

test("cgroups v2 - without cgroup.kill the tree is frozen, SIGKILLed and thawed", async (t) => {
  const { isolator, cdir, fake, cleanup } = await v2Isolator({ cgroupKill: false });
  t.teardown(cleanup);
  const c = await isolator.prepare("f", {});
  const pid = sleeper();
  await fake.write(path.join(cdir("f"), "leaf", "cgroup.procs"), String(pid));
  await c.killAll();
  t.deepEqual(await c.pids(), []);
  const freezes = fake.writes.filter((w) => w.includes("cgroup.freeze"));
  t.deepEqual(freezes, [`${ROOT}/f/cgroup.freeze=1`, `${ROOT}/f/cgroup.freeze=0`]);
  await c.destroy();
  t.false(existsSync(cdir("f")));
});

test("cgroups v2 - processes never go into a cgroup that hands controllers down", async (t) => {
  const { isolator, cdir, fake, cleanup } = await v2Isolator();
  t.teardown(cleanup);
  const c = await isolator.prepare("n", {});
  const pid = sleeper();
  // The kernel refuses a process in the container's own cgroup; wrap() uses the leaf.
  await t.throwsAsync(fake.write(path.join(cdir("n"), "cgroup.procs"), String(pid)), {
    message: /EBUSY/,
  });
  await fake.write(path.join(cdir("n"), "leaf", "cgroup.procs"), String(pid));
  // A task cgroup can still be added while the executor runs in the leaf.
  const task = await c.child("late", { maxPids: 4 });
  t.is(read(path.join(cdir("n", "late"), "pids.max")), "4");
  t.deepEqual(task.path, ["n", "late"]);
  const err = await t.throwsAsync(c.child("leaf"));
  t.true(isAgoraError(err, "INVALID_ID"));
  await isolator.removeRoot();
  t.false(existsSync(path.join(fake.mount, "agora")));
});

test("cgroups v2 - recover lists the containers under the agent's root only", async (t) => {
  const { isolator, fake, cleanup } = await v2Isolator();
  t.teardown(cleanup);
  await isolator.prepare("b", {});
  await isolator.prepare("a", {});
  await fake.mkdir(path.join(fake.mount, "agora", "agent-2"));
  const again = isolatorFor(
    await detectIsolation({
      root: ROOT,
      hierarchy: fake.mount,
      mounts: fake.mountsLine(),
      fs: fake,
    }),
    { fs: fake },
  );
  t.deepEqual(
    (await again.recover()).map((c) => c.id),
    ["a", "b"],
  );
  await again.removeRoot();
  // The other agent's root keeps the shared parent.
  t.true(existsSync(path.join(fake.mount, "agora", "agent-2")));
  t.false(existsSync(path.join(fake.mount, ROOT)));
});

test("cgroups v2 - a limit the kernel refuses fails prepare and leaves no cgroup behind", async (t) => {
  const { isolator, cdir, cleanup } = await v2Isolator();
  t.teardown(cleanup);
  const err = await t.throwsAsync(isolator.prepare("bad", { maxPids: -1 }));
  t.true(isAgoraError(err, "INTERNAL"));
  t.regex(err?.message ?? "", /cannot write -1 to .*pids\.max/);
  t.false(existsSync(cdir("bad")));
});

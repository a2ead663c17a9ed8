import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { kernelCgroupFs } from "../../../actors/agent/isolation/cgroup-fs.ts";
import { detectIsolation, parseMounts } from "../../../actors/agent/isolation/detect.ts";
import { isolatorFor } from "../../../actors/agent/isolation/index.ts";
import { isAgoraError } from "../../../protocol/errors.ts";

/** A v1 layout of plain directories (mkdir works as on cgroupfs) and its mount table. */
async function v1Host(mounts: Record<string, string>) {
  const base = await mkdtemp(path.join(os.tmpdir(), "agora-cgroup1-"));
  const lines: string[] = [];
  for (const [dir, options] of Object.entries(mounts)) {
    await mkdir(path.join(base, dir), { recursive: true });
    lines.push(
      `cgroup ${path.join(base, dir)} cgroup rw,nosuid,nodev,noexec,relatime,${options} 0 0`,
    );
  }
  lines.push(`tmpfs ${base} tmpfs rw 0 0`);
  return {
    base,
    mounts: lines.join("\n"),
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}

const SEPARATE = {
  cpu: "cpu",
  cpuacct: "cpuacct",
  memory: "memory",
  pids: "pids",
  freezer: "freezer",
};

test("detect - mount table entries are parsed, octal escapes decoded", (t) => {
  const m = parseMounts(
    "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\ncgroup2 /a\\040b cgroup2 rw 0 0\n",
  );
  t.deepEqual(m, [
    { dir: "/sys/fs/cgroup/cpu,cpuacct", type: "cgroup", options: ["rw", "cpu", "cpuacct"] },
    { dir: "/a b", type: "cgroup2", options: ["rw"] },
  ]);
});

test("detect - v1 controllers found in separate hierarchies; the root is made in each", async (t) => {
  const host = await v1Host(SEPARATE);
  t.teardown(host.cleanup);
  const d = await detectIsolation({ root: "agora/a1", hierarchy: host.base, mounts: host.mounts });
  t.is(d.kind, "cgroups-v1");
  t.regex(
    d.reason,
    /cgroups v1 under .* \(cpu, cpuacct, memory, pids, freezer\), containers under agora\/a1; no cgroup v2/,
  );
  for (const c of Object.keys(SEPARATE)) {
    t.is(d.v1?.[c as keyof typeof SEPARATE], path.join(host.base, c));
    t.true(existsSync(path.join(host.base, c, "agora", "a1")));
  }
});

test("detect - co-mounted v1 controllers share one directory per container", async (t) => {
  const host = await v1Host({
    "cpu,cpuacct": "cpu,cpuacct",
    memory: "memory",
    pids: "pids",
    freezer: "freezer",
  });
  t.teardown(host.cleanup);
  const d = await detectIsolation({ root: "r", hierarchy: host.base, mounts: host.mounts });
  t.is(d.v1?.cpu, d.v1?.cpuacct);
  const c = await isolatorFor(d).prepare("c1", {});
  // One cgroup.procs per distinct hierarchy: four, not five.
  t.is(c.wrap(["/bin/true"])[2]?.match(/^echo \$\$ /gm)?.length, 4);
});

test("detect - a missing v1 controller or an unwritable hierarchy falls back to none with the reason", async (t) => {
  const host = await v1Host({
    cpu: "cpu",
    cpuacct: "cpuacct",
    memory: "memory",
    freezer: "freezer",
  });
  t.teardown(host.cleanup);
  const d = await detectIsolation({ root: "r", hierarchy: host.base, mounts: host.mounts });
  t.is(d.kind, "none");
  t.regex(d.reason, /^isolation: none, tasks run unisolated \(.*cgroup v1 lacks pids\)$/);

  const full = await v1Host(SEPARATE);
  t.teardown(full.cleanup);
  const readOnly = {
    ...kernelCgroupFs,
    async mkdir(dir: string) {
      const err: NodeJS.ErrnoException = new Error(`EACCES ${dir}`);
      err.code = "EACCES";
      throw err;
    },
  };
  const ro = await detectIsolation({
    root: "r",
    hierarchy: full.base,
    mounts: full.mounts,
    fs: readOnly,
  });
  t.is(ro.kind, "none");
  t.regex(ro.reason, /not writable \(EACCES\)/);
  const err = await t.throwsAsync(
    detectIsolation({
      mode: "cgroups",
      root: "r",
      hierarchy: full.base,
      mounts: full.mounts,
      fs: readOnly,
    }),
  );
  t.true(isAgoraError(err, "INVALID_CONFIG"));
  t.regex(err?.message ?? "", /--isolation=cgroups: no usable cgroups/);
});

test("detect - mounts outside the configured hierarchy are ignored; the root must be relative", async (t) => {
  const host = await v1Host(SEPARATE);
  t.teardown(host.cleanup);
  const d = await detectIsolation({
    root: "r",
    hierarchy: path.join(host.base, "elsewhere"),
    mounts: host.mounts,
  });
  t.is(d.kind, "none");
  for (const root of ["", "/abs", "a/../b"]) {
    const err = await t.throwsAsync(
      detectIsolation({ root, hierarchy: host.base, mounts: host.mounts }),
    );
    t.true(isAgoraError(err, "INVALID_CONFIG"), root);
  }
});

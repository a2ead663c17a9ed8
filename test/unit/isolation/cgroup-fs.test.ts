import { existsSync, writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import {
  checkContainerId,
  containerIdFor,
  kernelCgroupFs,
  parseKeyed,
} from "../../../actors/agent/isolation/cgroup-fs.ts";
import { isAgoraError } from "../../../protocol/errors.ts";

test("cgroup fs - an executor's container id is a valid cgroup name, stable and unique", (t) => {
  const id = containerIdFor("fw-1", "web/server 1");
  t.regex(id, /^web_server_1-[0-9a-f]{12}$/);
  t.notThrows(() => checkContainerId(id));
  t.is(containerIdFor("fw-1", "web/server 1"), id);
  t.not(containerIdFor("fw-2", "web/server 1"), id);
  t.not(containerIdFor("fw-1", "web_server 1"), id);
  t.true(containerIdFor("f", "x".repeat(500)).length <= 77);
});

test("cgroup fs - names that would leave their cgroup or clash with the leaf are refused", (t) => {
  for (const bad of ["", "a/b", "..", ".hidden", "leaf", "a b"]) {
    const err = t.throws(() => checkContainerId(bad));
    t.true(isAgoraError(err, "INVALID_ID"), bad);
  }
});

test("cgroup fs - keyed files parse as the kernel writes them", (t) => {
  const m = parseKeyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n\ngarbage\n");
  t.deepEqual(
    [...m],
    [
      ["oom_kill_disable", 0],
      ["under_oom", 0],
      ["oom_kill", 3],
    ],
  );
  t.is(parseKeyed(undefined).size, 0);
});

test("cgroup fs - the kernel's operations: mkdir and rmdir are idempotent, a write never creates a file", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-cgroupfs-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cg = path.join(dir, "task");
  await kernelCgroupFs.mkdir(cg);
  await kernelCgroupFs.mkdir(cg); // exists: no error
  t.true(existsSync(cg));
  // a missing interface file is an error, not a new regular file
  await t.throwsAsync(kernelCgroupFs.write(path.join(cg, "cpu.shares"), "10"), { code: "ENOENT" });
  t.false(existsSync(path.join(cg, "cpu.shares")));
  writeFileSync(path.join(cg, "cpu.shares"), "55");
  await kernelCgroupFs.write(path.join(cg, "cpu.shares"), "10");
  t.is(await readFile(path.join(cg, "cpu.shares"), "utf8"), "10");
  // a cgroup with something in it is refused; a missing one is not an error
  await t.throwsAsync(kernelCgroupFs.rmdir(cg), { code: "ENOTEMPTY" });
  await rm(path.join(cg, "cpu.shares"));
  await kernelCgroupFs.rmdir(cg);
  await kernelCgroupFs.rmdir(cg);
  t.false(existsSync(cg));
  t.deepEqual(await kernelCgroupFs.subdirs(cg), []);
});

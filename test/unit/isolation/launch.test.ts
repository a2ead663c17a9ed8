import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { JOIN_CGROUP_FAILED_EXIT, joinCgroupsArgv } from "../../../actors/shared/join-cgroups.ts";

function run(argv: string[]) {
  const [file, ...args] = argv;
  return spawnSync(file!, args, { encoding: "utf8" });
}

test("launch - the pid written to every cgroup.procs is the pid the program runs as", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-join-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // Regular files stand for the hierarchies' cgroup.procs: the kernel moves the writer.
  const files = ["memory", "cpu", "pids"].map((h) => path.join(dir, `${h}.procs`));
  for (const f of files) await writeFile(f, "");
  // The program prints its own pid: the same as the one written before exec.
  const out = run(joinCgroupsArgv(files, ["/bin/sh", "-c", 'echo "$$" "$0" "$1"', "a b", "c"]));
  t.is(out.status, 0, out.stderr);
  const [pid, ...rest] = out.stdout.trim().split(" ");
  t.deepEqual(rest, ["a", "b", "c"]);
  t.regex(pid ?? "", /^\d+$/);
  for (const f of files) t.is((await readFile(f, "utf8")).trim(), pid ?? "");
});

test("launch - a cgroup that cannot be joined stops the program from running", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-join-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ok = path.join(dir, "ok.procs");
  await writeFile(ok, "");
  const out = run(
    joinCgroupsArgv([ok, path.join(dir, "missing", "cgroup.procs")], ["/bin/echo", "ran"]),
  );
  t.is(out.status, JOIN_CGROUP_FAILED_EXIT);
  t.is(out.stdout, "");
  t.regex(out.stderr, /agora: cannot join cgroup .*missing\/cgroup\.procs/);
});

test("launch - no cgroups, the argv itself; an empty argv is refused", (t) => {
  t.deepEqual(joinCgroupsArgv([], ["/bin/true"]), ["/bin/true"]);
  t.throws(() => joinCgroupsArgv(["/x"], []));
});

test("launch - a shell command joins in its own shell, quotes in paths kept", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-join-it's-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, "cgroup.procs");
  await writeFile(file, "");
  const argv = joinCgroupsArgv([file], ["/bin/sh", "-c", 'echo "$$"; exit 3']);
  t.is(argv.length, 3);
  const out = run(argv);
  t.is(out.status, 3, out.stderr);
  t.is((await readFile(file, "utf8")).trim(), out.stdout.trim());
});

import { link, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import {
  checkSandboxDisk,
  diskLimitation,
  diskUsage,
  watchSandboxDisk,
} from "../../../actors/agent/isolation/disk.ts";
import type { Limitation } from "../../../actors/agent/isolation/types.ts";
import { VirtualClock } from "../../../infra/clock.ts";

const MB = 1024 * 1024;

async function sandbox() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-disk-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

test("disk - usage counts allocated blocks under the sandbox, hard links once", async (t) => {
  const { dir, cleanup } = await sandbox();
  t.teardown(cleanup);
  t.deepEqual(await diskUsage(path.join(dir, "missing")), { bytes: 0, entries: 0, complete: true });
  await mkdir(path.join(dir, "a", "b"), { recursive: true });
  await writeFile(path.join(dir, "a", "b", "big"), Buffer.alloc(2 * MB, 1));
  const one = await diskUsage(dir);
  t.true(one.complete);
  t.true(one.bytes >= 2 * MB, `${one.bytes}`);
  await link(path.join(dir, "a", "b", "big"), path.join(dir, "again"));
  const two = await diskUsage(dir);
  t.is(two.entries, one.entries + 1);
  t.true(two.bytes - one.bytes < MB, "the hard link is not counted twice");
});

test("disk - a walk stops at its entry budget and says it is a lower bound", async (t) => {
  const { dir, cleanup } = await sandbox();
  t.teardown(cleanup);
  for (let i = 0; i < 10; i++) await writeFile(path.join(dir, `f${i}`), "x");
  const cut = await diskUsage(dir, 4);
  t.false(cut.complete);
  t.is(cut.entries, 4);
});

test("disk - over the disk resource is REASON_CONTAINER_LIMITATION_DISK, at or under is fine", (t) => {
  t.is(diskLimitation({ bytes: 10 * MB, entries: 1, complete: true }, 10), undefined);
  const over = diskLimitation({ bytes: 10.5 * MB, entries: 1, complete: true }, 10);
  t.is(over?.reason, "REASON_CONTAINER_LIMITATION_DISK");
  t.is(over?.resource, "disk");
  t.is(
    over?.message,
    "Disk usage of the sandbox (10.5 MB) exceeds the container's disk limit of 10 MB",
  );
});

test("disk - the watcher checks on the clock and reports the first excess once", async (t) => {
  const { dir, cleanup } = await sandbox();
  t.teardown(cleanup);
  const clock = new VirtualClock();
  const usages: number[] = [];
  let limitation: Limitation | undefined;
  let checked: () => void = () => {};
  const next = () =>
    new Promise<void>((resolve) => {
      checked = resolve;
    });
  const timer = watchSandboxDisk({
    clock,
    sandbox: dir,
    diskMB: 1,
    intervalMs: 1000,
    onUsage: (u) => {
      usages.push(u.bytes);
      checked();
    },
    onLimitation: (l) => {
      limitation = l;
    },
  });
  t.teardown(() => timer.cancel());
  let done = next();
  clock.advance(1000);
  await done;
  t.is(limitation, undefined);
  await writeFile(path.join(dir, "fill"), Buffer.alloc(2 * MB, 1));
  done = next();
  clock.advance(1000);
  await done;
  t.regex(limitation?.message ?? "", /exceeds the container's disk limit of 1 MB/);
  t.is(clock.nextAt(), undefined, "the watcher stopped after the limitation");
  const { usage } = await checkSandboxDisk(dir, 1);
  t.true(usage.bytes >= 2 * MB);
  t.is(usages.length, 2);
});

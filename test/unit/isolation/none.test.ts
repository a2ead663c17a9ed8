import test from "ava";
import { createIsolator } from "../../../actors/agent/isolation/index.ts";
import { VirtualClock } from "../../../infra/clock.ts";

test("isolation none - same calls, no effects: argv unchanged, no OOM, stats with a timestamp", async (t) => {
  const clock = new VirtualClock(42);
  const iso = await createIsolator({ mode: "none", root: "agora/a1", clock });
  t.is(iso.kind, "none");
  t.is(iso.reason, "isolation: none (--isolation=none)");
  const c = await iso.prepare("e1", { cpus: 1, memBytes: 64 * 1024 * 1024 });
  t.deepEqual(c.wrap(["/bin/echo", "hi"]), ["/bin/echo", "hi"]);
  t.deepEqual(await c.stats(), { timestamp: 42 });
  t.deepEqual(await c.oom(), { killed: false, oomKills: 0, limitHits: 0 });
  t.deepEqual(await c.pids(), []);
  const task = await c.child("t1");
  t.deepEqual(task.path, ["e1", "t1"]);
  t.deepEqual(
    (await c.children()).map((k) => k.id),
    ["t1"],
  );
  await c.killAll();
  t.deepEqual(
    (await iso.recover()).map((k) => k.id),
    ["e1"],
  );
  await c.destroy();
  t.deepEqual(await iso.recover(), []);
  await t.throwsAsync(iso.prepare("bad/id", {}), { message: /invalid container id/ });
});

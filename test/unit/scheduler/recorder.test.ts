import test from "ava";
import { Recorder } from "../../../actors/scheduler/recorder.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

test("recorder - waitFor finds an item recorded before the wait", async (t) => {
  const r = new Recorder<number>();
  r.push(1);
  r.push(2);
  t.is(await r.waitFor((n) => n > 1), 2);
});

test("recorder - waitFor resolves with a later item", async (t) => {
  const r = new Recorder<number>();
  const waiting = r.waitFor((n) => n === 3);
  r.push(1);
  r.push(3);
  t.is(await waiting, 3);
});

test("recorder - from skips items before a mark", async (t) => {
  const r = new Recorder<string>();
  r.push("x");
  const mark = r.mark();
  const waiting = r.waitFor((s) => s === "x", { from: mark });
  r.push("y");
  r.push("x");
  t.is(await waiting, "x");
  t.is(r.mark(), 3);
  t.deepEqual(
    r.filter((s) => s === "x", mark),
    ["x"],
  );
});

test("recorder - waitFor times out with a TIMEOUT error naming what it waited for", async (t) => {
  const r = new Recorder<number>();
  const err = await t.throwsAsync(
    r.waitFor((n) => n > 100, { timeoutMs: 10, what: "a big number" }),
  );
  t.true(err instanceof AgoraError);
  t.is((err as AgoraError).code, ErrorCode.Timeout);
  t.regex(err!.message, /a big number/);
});

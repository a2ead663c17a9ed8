import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { FetcherCache, type Fill } from "../../../actors/agent/fetcher/cache.ts";
import { Metrics } from "../../../infra/metrics.ts";

async function cacheDir(t: { teardown(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-cache-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A fill that writes `content` and counts its calls; `gate` holds it until resolved. */
function filler(content: string, gate?: Promise<void>) {
  const calls = { n: 0 };
  const fill: Fill = async (file, reserve) => {
    calls.n += 1;
    await gate;
    if (!(await reserve(content.length))) return { kind: "bypass", reason: "no room" };
    await writeFile(file, content);
    return { kind: "cached", bytes: content.length };
  };
  return { fill, calls };
}

test("fetcher cache - concurrent fetches of one URI share one download", async (t) => {
  const cache = await FetcherCache.open({ dir: await cacheDir(t), sizeBytes: 100 });
  let open!: () => void;
  const { fill, calls } = filler("shared", new Promise<void>((r) => (open = r)));
  const all = Promise.all([1, 2, 3].map(() => cache.acquire("k", "f", fill)));
  open();
  const got = await all;
  t.is(calls.n, 1);
  t.deepEqual(
    got.map((g) => (g.kind === "lease" ? g.lease.downloaded : "bypass")),
    [true, false, false],
  );
  for (const g of got) {
    if (g.kind !== "lease") continue;
    t.is(await readFile(g.lease.file, "utf8"), "shared");
    g.lease.release();
  }
  const again = await cache.acquire("k", "f", fill);
  t.is(again.kind === "lease" && again.lease.downloaded, false, "served from the cache");
  t.is(calls.n, 1);
  t.is(cache.usedBytes, 6);
});

test("fetcher cache - the least recently used unreferenced entry is evicted for room", async (t) => {
  const metrics = new Metrics();
  const dir = await cacheDir(t);
  const cache = await FetcherCache.open({ dir, sizeBytes: 10, metrics });
  const use = async (key: string) => {
    const got = await cache.acquire(key, key, filler("1234").fill);
    if (got.kind === "lease") got.lease.release();
    return got;
  };
  await use("a");
  await use("b");
  await use("a"); // a is now more recent than b
  await use("c"); // 12 > 10: b goes
  t.deepEqual(cache.keys(), ["a", "c"]);
  t.is(cache.usedBytes, 8);
  t.is(metrics.get("fetcher/cache_evictions"), 1);
  t.is((await readdir(dir)).length, 2, "the evicted file is deleted");
});

test("fetcher cache - an entry in use is never evicted; without room the fetch bypasses", async (t) => {
  const cache = await FetcherCache.open({ dir: await cacheDir(t), sizeBytes: 10 });
  const held = await cache.acquire("a", "a", filler("12345678").fill);
  t.is(held.kind, "lease");
  const other = await cache.acquire("b", "b", filler("1234").fill);
  t.deepEqual(other, { kind: "bypass", reason: "no room" });
  t.deepEqual(cache.keys(), ["a"]);
  if (held.kind === "lease") held.lease.release();
  const now = await cache.acquire("b", "b", filler("1234").fill);
  t.is(now.kind, "lease", "a is evictable once released");
  t.deepEqual(cache.keys(), ["b"]);
  const huge = await cache.acquire("h", "h", filler("x".repeat(11)).fill);
  t.is(huge.kind, "bypass", "larger than the whole cache");
});

test("fetcher cache - a failed download is shared by its waiters and not cached", async (t) => {
  const cache = await FetcherCache.open({ dir: await cacheDir(t), sizeBytes: 100 });
  let calls = 0;
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const failing: Fill = async () => {
    calls += 1;
    await gate;
    throw new Error("GET http://h/x: 404 Not Found");
  };
  const both = Promise.allSettled([
    cache.acquire("k", "x", failing),
    cache.acquire("k", "x", failing),
  ]);
  open();
  const results = await both;
  t.is(calls, 1);
  for (const r of results) {
    t.is(r.status, "rejected");
    if (r.status === "rejected") t.regex(String(r.reason), /404 Not Found/);
  }
  t.deepEqual(cache.keys(), []);
  t.is(cache.usedBytes, 0);
  const ok = await cache.acquire("k", "x", filler("fine").fill);
  t.is(ok.kind, "lease", "the next fetch downloads again");
});

test("fetcher cache - size 0 disables it; open() empties only the cache's own files", async (t) => {
  const dir = await cacheDir(t);
  const off = await FetcherCache.open({ dir, sizeBytes: 0 });
  t.is((await off.acquire("k", "k", filler("x").fill)).kind, "bypass");
  const first = await FetcherCache.open({ dir, sizeBytes: 100 });
  const got = await first.acquire("k", "k", filler("x").fill);
  t.is(got.kind, "lease");
  await writeFile(path.join(dir, "not-ours"), "keep");
  await FetcherCache.open({ dir, sizeBytes: 100 });
  t.deepEqual(await readdir(dir), ["not-ours"]);
});

test("fetcher cache - a download aborted by its own fetch is not a failure for the waiters", async (t) => {
  const cache = await FetcherCache.open({ dir: await cacheDir(t), sizeBytes: 100 });
  const abort = new AbortController();
  let fail!: (err: Error) => void;
  const aborting: Fill = () => new Promise((_, reject) => (fail = reject));
  const first = cache.acquire("k", "x", aborting, abort.signal);
  const waiter = cache.acquire("k", "x", aborting);
  abort.abort();
  fail(new Error("aborted"));
  await t.throwsAsync(first, { message: "aborted" });
  t.like(await waiter, { kind: "bypass", reason: "the download was aborted" });
  const own = new AbortController();
  let hold!: () => void;
  const slow: Fill = async (file, reserve) => {
    await new Promise<void>((r) => (hold = r));
    await reserve(1);
    await writeFile(file, "1");
    return { kind: "cached", bytes: 1 };
  };
  const filling = cache.acquire("s", "s", slow);
  const waiting = cache.acquire("s", "s", slow, own.signal);
  own.abort();
  await t.throwsAsync(waiting, { message: "aborted" }, "an aborted waiter stops waiting");
  hold();
  t.is((await filling).kind, "lease");
});

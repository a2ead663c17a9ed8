import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { Fetcher } from "../../../actors/agent/fetcher/index.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { makeTarballs, run, sandbox, tempDir } from "./helpers.ts";
import { startServer, type TestServer } from "./server.ts";

const test = anyTest as TestFn<{ server: TestServer; dir: string }>;

const KB = 1024;

test.before(async (t) => {
  const dir = await tempDir({ teardown: () => {} }, "agora-fetch-cache-fixtures-");
  const tarballs = await makeTarballs(dir);
  const server = await startServer({
    "/a.bin": Buffer.alloc(4 * KB, 0xa),
    "/b.bin": Buffer.alloc(4 * KB, 0xb),
    "/c.bin": Buffer.alloc(4 * KB, 0xc),
    "/big.bin": Buffer.alloc(4 * KB, 0xd),
    "/per-user.bin": Buffer.alloc(KB, 0xe),
    "/shared.bin": Buffer.alloc(4 * KB, 0x5),
    "/tool.sh": '#!/bin/sh\necho "cached tool"\n',
    "/app.tar.gz": tarballs.gz,
    "/chunked.txt": (_req, res) => {
      res.writeHead(200); // no content-length: chunked
      res.end("chunked body\n");
    },
  });
  t.context = { server, dir };
});

test.after.always(async (t) => {
  await t.context.server?.close();
  await run("rm", ["-rf", t.context.dir]);
});

async function fetcher(t: Parameters<typeof tempDir>[0], sizeBytes: number, metrics?: Metrics) {
  const dir = await tempDir(t);
  return Fetcher.create({
    settings: {
      cacheDir: path.join(dir, "cache", "agent-1"),
      cacheSizeBytes: sizeBytes,
      stallTimeoutMs: 10_000,
    },
    ...(metrics === undefined ? {} : { metrics }),
  });
}

test("fetcher cache - a second fetch of a cached URI is served without a download", async (t) => {
  const { server } = t.context;
  const metrics = new Metrics();
  const f = await fetcher(t, 64 * KB, metrics);
  const uri = { value: `${server.base}/tool.sh`, cache: true, executable: true };
  const one = await sandbox(t);
  const two = await sandbox(t);
  const first = await f.fetch([uri], one);
  const second = await f.fetch([uri], two);
  t.is(server.hits("/tool.sh"), 1);
  t.is(first[0]?.cache, "downloaded");
  t.is(second[0]?.cache, "hit");
  for (const box of [one, two]) {
    t.is((await stat(path.join(box, "tool.sh"))).mode & 0o777, 0o755);
    t.is((await run(path.join(box, "tool.sh"))).stdout, "cached tool\n");
  }
  const cached = await readdir(f.cache.dir);
  t.is(cached.length, 1);
  t.is(
    (await stat(path.join(f.cache.dir, cached[0]!))).mode & 0o111,
    0,
    "the cache file is not made executable",
  );
  t.is(metrics.get("fetcher/cache_hits"), 1);
});

test("fetcher cache - concurrent fetches of one URI share one download", async (t) => {
  const { server } = t.context;
  const f = await fetcher(t, 64 * KB);
  const boxes = await Promise.all([1, 2, 3, 4].map(() => sandbox(t)));
  await Promise.all(
    boxes.map((b) => f.fetch([{ value: `${server.base}/shared.bin`, cache: true }], b)),
  );
  t.is(server.hits("/shared.bin"), 1);
  for (const b of boxes) t.is((await readFile(path.join(b, "shared.bin"))).length, 4 * KB);
});

test("fetcher cache - the least recently used file is evicted under a small cache size", async (t) => {
  const { server } = t.context;
  const f = await fetcher(t, 10 * KB); // room for two 4 KB files
  const get = async (name: string) =>
    f.fetch([{ value: `${server.base}/${name}`, cache: true }], await sandbox(t));
  const base = { a: server.hits("/a.bin"), b: server.hits("/b.bin"), c: server.hits("/c.bin") };
  await get("a.bin");
  await get("b.bin");
  await get("a.bin"); // hit: a is now the most recent
  await get("c.bin"); // evicts b
  t.is(server.hits("/a.bin") - base.a, 1);
  t.is(f.cache.usedBytes, 8 * KB);
  await get("a.bin");
  t.is(server.hits("/a.bin") - base.a, 1, "a stayed");
  await get("b.bin");
  t.is(server.hits("/b.bin") - base.b, 2, "b was evicted and downloaded again");
  t.is(server.hits("/c.bin") - base.c, 1);
  t.is((await readdir(f.cache.dir)).length, 2);
});

test("fetcher cache - a cached archive is extracted from the cache: only its content is in the sandbox", async (t) => {
  const { server } = t.context;
  const f = await fetcher(t, 64 * KB);
  for (let i = 0; i < 2; i++) {
    const box = await sandbox(t);
    const got = await f.fetch([{ value: `${server.base}/app.tar.gz`, cache: true }], box);
    t.like(got[0], { extracted: true, file: undefined, cache: i === 0 ? "downloaded" : "hit" });
    t.deepEqual(await readdir(box), ["app"]);
    t.is((await run(path.join(box, "app/run.sh"))).stdout, "hello from tarball\n");
  }
  t.is(server.hits("/app.tar.gz"), 1);
});

test("fetcher cache - a URI whose size is not known up front, or too big, bypasses the cache", async (t) => {
  const { server } = t.context;
  const f = await fetcher(t, 64 * KB);
  const box = await sandbox(t);
  const got = await f.fetch([{ value: `${server.base}/chunked.txt`, cache: true }], box);
  t.is(got[0]?.cache, "bypass");
  t.is(await readFile(path.join(box, "chunked.txt"), "utf8"), "chunked body\n");
  t.deepEqual(f.cache.keys(), []);
  const tiny = await fetcher(t, KB);
  const big = await tiny.fetch(
    [{ value: `${server.base}/big.bin`, cache: true }],
    await sandbox(t),
  );
  t.is(big[0]?.cache, "bypass");
  t.is(big[0]?.bytes, 4 * KB);
});

test("fetcher cache - entries are per user: one URI for two users is downloaded twice", async (t) => {
  const { server } = t.context;
  const f = await fetcher(t, 64 * KB);
  const uri = { value: `${server.base}/per-user.bin`, cache: true };
  await f.fetch([uri], await sandbox(t), { user: "alice" });
  await f.fetch([uri], await sandbox(t), { user: "bob" });
  await f.fetch([uri], await sandbox(t), { user: "alice" });
  t.is(server.hits("/per-user.bin"), 2);
});

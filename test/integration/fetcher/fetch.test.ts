import { lstat, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { isFetchFailed } from "../../../actors/agent/fetcher/errors.ts";
import { fetch } from "../../../actors/agent/fetcher/fetch.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { ErrorCode } from "../../../protocol/errors.ts";
import { tarBytes, zipBytes } from "../../unit/fetcher/archive-bytes.ts";
import { makeTarballs, run, sandbox, tempDir } from "./helpers.ts";
import { startServer, type TestServer } from "./server.ts";

const test = anyTest as TestFn<{ server: TestServer; dir: string }>;

test.before(async (t) => {
  const dir = await tempDir({ teardown: () => {} }, "agora-fetch-fixtures-");
  const tarballs = await makeTarballs(dir);
  const server = await startServer({
    "/files/hello.txt": "hello\n",
    "/files/tool.sh": '#!/bin/sh\necho "tool ran"\n',
    "/files/app.tar.gz": tarballs.gz,
    "/files/app.tar.bz2": tarballs.bz2,
    "/files/app.tar.xz": tarballs.xz,
    "/files/app.zip": zipBytes([
      { name: "zapp/", mode: 0o040755 },
      { name: "zapp/run.sh", data: '#!/bin/sh\necho "hello from zip"\n', mode: 0o100755 },
    ]),
    "/files/evil.tar": tarBytes([
      { name: "fine.txt", data: "ok" },
      { name: "../evil", data: "pwned" },
    ]),
    "/redirect": (_req, res) => res.writeHead(302, { location: "/files/hello.txt" }).end(),
    "/loop": (_req, res) => res.writeHead(302, { location: "/loop" }).end(),
    "/broken": (_req, res) => res.writeHead(500, { "content-type": "text/plain" }).end("boom"),
    "/stall.bin": (_req, res) => {
      res.writeHead(200, { "content-length": 100 });
      res.write(Buffer.alloc(10)); // and nothing more
    },
  });
  t.context = { server, dir };
});

test.after.always(async (t) => {
  await t.context.server?.close();
  await run("rm", ["-rf", t.context.dir]);
});

test("fetch - an http file lands under its name, whole, with no temporary file left", async (t) => {
  const box = await sandbox(t);
  const metrics = new Metrics();
  const got = await fetch([{ value: `${t.context.server.base}/files/hello.txt` }], box, {
    metrics,
  });
  t.is(await readFile(path.join(box, "hello.txt"), "utf8"), "hello\n");
  t.deepEqual(await readdir(box), ["hello.txt"]);
  t.like(got[0], { file: "hello.txt", extracted: false, cache: "off", bytes: 6 });
  t.is(metrics.get("containerizer/fetcher/task_fetches_succeeded"), 1);
});

test("fetch - outputFile names the copy, directories included; redirects are followed", async (t) => {
  const box = await sandbox(t);
  await fetch([{ value: `${t.context.server.base}/redirect`, outputFile: "conf/greeting" }], box);
  t.is(await readFile(path.join(box, "conf/greeting"), "utf8"), "hello\n");
});

test("fetch - executable makes the file runnable (0755) and is not extracted", async (t) => {
  const box = await sandbox(t);
  await fetch([{ value: `${t.context.server.base}/files/tool.sh`, executable: true }], box);
  t.is((await stat(path.join(box, "tool.sh"))).mode & 0o777, 0o755);
  const { stdout } = await run(path.join(box, "tool.sh"));
  t.is(stdout, "tool ran\n");
});

test("fetch - a tarball made by tar (gz, bz2, xz) is extracted and its script runs", async (t) => {
  for (const kind of ["gz", "bz2", "xz"]) {
    const box = await sandbox(t);
    const got = await fetch([{ value: `${t.context.server.base}/files/app.tar.${kind}` }], box);
    t.true(got[0]?.extracted, kind);
    t.deepEqual((await readdir(box)).sort(), ["app", `app.tar.${kind}`], "archive and content");
    t.is((await stat(path.join(box, "app/run.sh"))).mode & 0o777, 0o755);
    const { stdout } = await run(path.join(box, "app/run.sh"));
    t.is(stdout, "hello from tarball\n");
  }
});

test("fetch - a zip is extracted by agora's own reader", async (t) => {
  const box = await sandbox(t);
  await fetch([{ value: `${t.context.server.base}/files/app.zip` }], box);
  const { stdout } = await run(path.join(box, "zapp/run.sh"));
  t.is(stdout, "hello from zip\n");
});

test("fetch - extract: false keeps an archive as it is", async (t) => {
  const box = await sandbox(t);
  await fetch([{ value: `${t.context.server.base}/files/app.tar.gz`, extract: false }], box);
  t.deepEqual(await readdir(box), ["app.tar.gz"]);
});

test("fetch - a 404 fails with FETCH_FAILED naming the URI and the status, leaving no file", async (t) => {
  const box = await sandbox(t);
  const metrics = new Metrics();
  const uri = `${t.context.server.base}/files/missing.tar.gz`;
  const err = await t.throwsAsync(fetch([{ value: uri }], box, { metrics }));
  t.true(isFetchFailed(err));
  t.is((err as { code?: string }).code, ErrorCode.FetchFailed);
  t.is(err?.message, `GET ${uri}: 404 Not Found`);
  t.deepEqual(await readdir(box), []);
  t.is(metrics.get("containerizer/fetcher/task_fetches_failed"), 1);
  const five = await t.throwsAsync(fetch([{ value: `${t.context.server.base}/broken` }], box));
  t.is(five?.message, `GET ${t.context.server.base}/broken: 500 Internal Server Error`);
  t.true((five as { retryable?: boolean }).retryable, "a 5xx may pass later");
});

test("fetch - the first failing URI stops the fetch; the ones before it are in place", async (t) => {
  const box = await sandbox(t);
  const base = t.context.server.base;
  const err = await t.throwsAsync(
    fetch(
      [
        { value: `${base}/files/hello.txt` },
        { value: `${base}/nope` },
        { value: `${base}/files/tool.sh` },
      ],
      box,
    ),
  );
  t.is(err?.message, `GET ${base}/nope: 404 Not Found`);
  t.deepEqual(await readdir(box), ["hello.txt"]);
});

test("fetch - redirects are bounded", async (t) => {
  const box = await sandbox(t);
  const err = await t.throwsAsync(
    fetch([{ value: `${t.context.server.base}/loop`, outputFile: "x" }], box, { maxRedirects: 3 }),
  );
  t.is(err?.message, `GET ${t.context.server.base}/loop: more than 3 redirects`);
});

test("fetch - a download that stalls is aborted after the stall timeout, on the injected clock", async (t) => {
  const box = await sandbox(t);
  const clock = new VirtualClock(0);
  const uri = `${t.context.server.base}/stall.bin`;
  const before = t.context.server.hits("/stall.bin");
  const pending = fetch([{ value: uri }], box, { clock, stallTimeoutMs: 5000 });
  await t.context.server.waitForHits("/stall.bin", before + 1);
  clock.advance(5000);
  const err = await t.throwsAsync(pending);
  t.regex(err?.message ?? "", new RegExp(`^GET ${uri}: stalled, nothing received for 5s`));
  t.deepEqual(await readdir(box), [], "no half file");
});

test("fetch - outputFile and archive entries can never write outside the sandbox", async (t) => {
  const box = await sandbox(t);
  const parent = path.dirname(box);
  const out = await t.throwsAsync(
    fetch([{ value: `${t.context.server.base}/files/hello.txt`, outputFile: "../x" }], box),
  );
  t.is(
    out?.message,
    `fetch ${t.context.server.base}/files/hello.txt: outputFile '../x' escapes the sandbox`,
  );
  const evil = await t.throwsAsync(
    fetch([{ value: `${t.context.server.base}/files/evil.tar` }], box),
  );
  t.true(isFetchFailed(evil));
  t.is(
    evil?.message,
    `extract ${t.context.server.base}/files/evil.tar: entry '../evil' escapes the sandbox`,
  );
  t.deepEqual((await readdir(parent)).sort(), ["sandbox"]);
  await t.throwsAsync(lstat(path.join(parent, "evil")));
});

test("fetch - file:// URIs and absolute paths are copied; a missing one says so", async (t) => {
  const dir = await tempDir(t);
  const src = path.join(dir, "pkg");
  await mkdir(src);
  await writeFile(path.join(src, "local.txt"), "local\n");
  const box = await sandbox(t);
  await fetch(
    [
      { value: path.join(src, "local.txt") },
      { value: `file://${src}/local.txt`, outputFile: "copy.txt" },
    ],
    box,
  );
  t.is(await readFile(path.join(box, "local.txt"), "utf8"), "local\n");
  t.is(await readFile(path.join(box, "copy.txt"), "utf8"), "local\n");
  const missing = path.join(src, "nope.txt");
  const err = await t.throwsAsync(fetch([{ value: missing }], box));
  t.is(err?.message, `read ${missing}: no such file or directory`);
  const outside = await t.throwsAsync(
    fetch([{ value: path.join(src, "local.txt") }], box, { localRoots: [box] }),
  );
  t.regex(outside?.message ?? "", /not under a directory this agent serves local files from/);
});

test("fetch - an aborted fetch fails and leaves no file", async (t) => {
  const box = await sandbox(t);
  const abort = new AbortController();
  const before = t.context.server.hits("/stall.bin");
  const pending = fetch([{ value: `${t.context.server.base}/stall.bin` }], box, {
    signal: abort.signal,
  });
  await t.context.server.waitForHits("/stall.bin", before + 1);
  abort.abort();
  const err = await t.throwsAsync(pending);
  t.true(isFetchFailed(err));
  t.regex(err?.message ?? "", /aborted/);
  t.deepEqual(await readdir(box), []);
});

test("fetch - a download larger than the bound fails and leaves nothing", async (t) => {
  const box = await sandbox(t);
  const uri = `${t.context.server.base}/files/app.tar.gz`;
  const err = await t.throwsAsync(fetch([{ value: uri }], box, { maxDownloadBytes: 100 }));
  t.is(err?.message, `GET ${uri}: the download is larger than 100 bytes`);
  t.deepEqual(await readdir(box), []);
});

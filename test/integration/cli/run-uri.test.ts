/**
 * `agora run --uri` as a user types it: the agent fetches the URIs from a
 * local HTTP server into the sandbox before the command runs.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { type FetchClusterContext, useFetchCluster } from "../fetcher/cluster.ts";
import { run } from "../fetcher/helpers.ts";
import { runAgora } from "./helpers.ts";

const test = anyTest as TestFn<FetchClusterContext>;

useFetchCluster(test, {
  prefix: "clirunuri",
  resources: "cpus:4;mem:4096",
  async routes(dir) {
    const src = path.join(dir, "src");
    await mkdir(src);
    await writeFile(path.join(src, "x.sh"), '#!/bin/sh\necho "x.sh ran in $(basename "$PWD")"\n');
    await chmod(path.join(src, "x.sh"), 0o755);
    const tarball = path.join(dir, "x.tar.gz");
    await run("tar", ["-czf", tarball, "-C", src, "x.sh"]);
    return {
      "/x.tar.gz": await readFile(tarball),
      "/tool": '#!/bin/sh\necho "tool says $1"\n',
    };
  },
});

// One agent: one run at a time.
test.serial(
  "agora run - --uri fetches and extracts a tarball whose script the command runs",
  async (t) => {
    const uri = `${t.context.http.base}/x.tar.gz`;
    const r = await runAgora(["run", ...t.context.args, "--uri", uri, "--", "./x.sh"]);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /^x\.sh ran in \S+$/m, "the script's output is printed");
    t.regex(r.stderr, /TASK_FINISHED/);
  },
);

test.serial("agora run - --uri-executable and --uri-cache: a fetched program runs", async (t) => {
  const uri = `${t.context.http.base}/tool`;
  const args = ["run", ...t.context.args, "--uri-executable", uri, "--uri-cache"];
  const r = await runAgora([...args, "--", "./tool", "hi"]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^tool says hi$/m);
  const again = await runAgora([...args, "--", "./tool", "again"]);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /^tool says again$/m);
  t.is(t.context.http.hits("/tool"), 1, "the second run was served by the agent's cache");
});

test.serial("agora run - a --uri that 404s fails the run with the fetcher's message", async (t) => {
  const uri = `${t.context.http.base}/nothing.tar.gz`;
  const r = await runAgora(["run", ...t.context.args, "--uri", uri, "--", "./x.sh"]);
  t.is(r.code, 1, r.stderr);
  t.true(r.stderr.includes(`TASK_FAILED: GET ${uri}: 404 Not Found`), r.stderr);
});

test("agora run - a relative --uri is a usage error", async (t) => {
  const r = await runAgora(["run", ...t.context.args, "--uri", "x.tar.gz", "--", "true"]);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /--uri: .*relative path/);
});

import os from "node:os";
import path from "node:path";
import test from "ava";
import { resolveFetcherSettings } from "../../../actors/agent/fetcher/config.ts";
import {
  DEFAULT_FETCHER_CACHE_SIZE_BYTES,
  DEFAULT_FETCHER_STALL_TIMEOUT_MS,
} from "../../../infra/defaults.ts";
import { parseByteSize as parseBytes } from "../../../infra/durations.ts";

test("fetcher config - sizes parse as Mesos Bytes", (t) => {
  t.is(parseBytes("2GB"), 2 * 1024 ** 3);
  t.is(parseBytes("512MB"), 512 * 1024 ** 2);
  t.is(parseBytes("10kb"), 10 * 1024);
  t.is(parseBytes("0B"), 0);
  t.is(parseBytes("123"), 123);
  t.throws(() => parseBytes("lots", "--fetcher-cache-size"), { message: /--fetcher-cache-size/ });
});

test("fetcher config - defaults are Mesos's: 2 GB, <tmp>/…/fetch/<agentId>, 1 min stall", (t) => {
  const s = resolveFetcherSettings({}, "agent-1");
  t.is(s.cacheSizeBytes, DEFAULT_FETCHER_CACHE_SIZE_BYTES);
  t.is(DEFAULT_FETCHER_CACHE_SIZE_BYTES, 2 * 1024 ** 3);
  t.is(s.stallTimeoutMs, DEFAULT_FETCHER_STALL_TIMEOUT_MS);
  t.is(s.cacheDir, path.join(os.tmpdir(), "agora", "fetch", "agent-1"));
  const set = resolveFetcherSettings(
    { fetcherCacheDir: "/var/cache/agora", fetcherCacheSize: "1GB", fetcherStallTimeout: "5s" },
    "a/b",
  );
  t.deepEqual(set, {
    cacheDir: "/var/cache/agora/a%2Fb",
    cacheSizeBytes: 1024 ** 3,
    stallTimeoutMs: 5000,
  });
});

/**
 * The fetcher's agent flags, resolved: `--fetcher-cache-size` (Mesos `Bytes`:
 * `2GB`, `512MB`, `0B`), `--fetcher-cache-dir` (one subdirectory per agent),
 * `--fetcher-stall-timeout` (a duration).
 */
import os from "node:os";
import path from "node:path";
import {
  DEFAULT_FETCHER_CACHE_DIR,
  DEFAULT_FETCHER_CACHE_SIZE_BYTES,
  DEFAULT_FETCHER_STALL_TIMEOUT_MS,
} from "../../../infra/defaults.ts";
import { parseByteSize, parseDuration } from "../../../infra/durations.ts";

/** Resolved fetcher settings of an agent. */
export interface FetcherSettings {
  /** The agent's own cache directory: `<fetcher-cache-dir>/<agentId>`. */
  cacheDir: string;
  cacheSizeBytes: number;
  stallTimeoutMs: number;
}

/** Flags as given (strings from the command line or the environment). */
export interface FetcherFlags {
  fetcherCacheDir?: string;
  fetcherCacheSize?: string | number;
  fetcherStallTimeout?: string | number;
}

/** Resolves the flags for the agent `agentId`. */
export function resolveFetcherSettings(flags: FetcherFlags, agentId: string): FetcherSettings {
  const parent = flags.fetcherCacheDir ?? path.join(os.tmpdir(), DEFAULT_FETCHER_CACHE_DIR);
  return {
    cacheDir: path.join(path.resolve(parent), encodeURIComponent(agentId)),
    cacheSizeBytes:
      flags.fetcherCacheSize === undefined
        ? DEFAULT_FETCHER_CACHE_SIZE_BYTES
        : parseByteSize(flags.fetcherCacheSize, "--fetcher-cache-size"),
    stallTimeoutMs:
      flags.fetcherStallTimeout === undefined
        ? DEFAULT_FETCHER_STALL_TIMEOUT_MS
        : parseDuration(flags.fetcherStallTimeout, "--fetcher-stall-timeout"),
  };
}

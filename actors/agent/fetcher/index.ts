/**
 * The agent's fetcher (Mesos docs/fetcher.md, fetcher-cache-internals.md):
 * the `CommandInfo.uris` of a task (protocol/uris.ts `CommandUri`) into its
 * sandbox before the task starts.
 *
 * Files
 * - `fetch.ts`: {@link fetch}, one task's URIs in order; results and options.
 * - `uri.ts`: what a URI is, its sandbox name (`outputFile` or the last path
 *   segment), credentials redacted for messages.
 * - `source.ts`, `http.ts`: local files and HTTP(S) GETs (bounded redirects,
 *   stall timeout on the injected clock, non-2xx = failure).
 * - `paths.ts`: writes that never leave the sandbox; temp file + rename.
 * - `archive.ts`, `extractor.ts`, `tar.ts`, `zip.ts`, `crc32.ts`: archives by
 *   extension, unpacked by agora's own tar and zip readers through one safe
 *   writer (no absolute or `..` entries, no links out, bounded sizes).
 * - `cache.ts`: the per-agent fetcher cache (LRU under `--fetcher-cache-size`,
 *   shared concurrent downloads, reference-counted entries).
 * - `config.ts`: the agent flags `--fetcher-cache-dir|size`, `--fetcher-stall-timeout`.
 *
 * Wiring (the agent, actors/agent/fetch-step.ts): `Fetcher.create({settings,
 * clock, logger, metrics})` once per agent id, at its first fetch (empties the
 * agent's cache directory). At launch, after the sandbox is
 * created and before the executor is spawned (or, for a running default
 * executor, before the task is handed to it): `await fetcher.fetch(task.command.uris,
 * sandbox, {user, signal})`. On FETCH_FAILED: TASK_FAILED, reason
 * REASON_CONTAINER_LAUNCH_FAILED, message = the error's message; on a kill
 * during the fetch abort the signal and report TASK_KILLED
 * (REASON_TASK_KILLED_DURING_LAUNCH). Nothing needs checkpointing: a fetch
 * cut by an agent restart is redone or the task failed by recovery; the
 * cache holds no state across restarts.
 */
import type { Clock } from "../../../infra/clock.ts";
import type { Logger } from "../../../infra/logger.ts";
import type { Metrics } from "../../../infra/metrics.ts";
import type { CommandUri } from "../../../protocol/uris.ts";
import { FetcherCache } from "./cache.ts";
import type { FetcherSettings } from "./config.ts";
import { type FetchedUri, type FetchOptions, fetch } from "./fetch.ts";

/** Dependencies of an agent's {@link Fetcher}. */
export interface FetcherDeps {
  settings: FetcherSettings;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
  /** Extra options for every fetch (limits, local roots). */
  defaults?: Omit<FetchOptions, "cache" | "clock" | "logger" | "metrics" | "user" | "signal">;
}

/** One agent's fetcher: the cache plus the agent's clock, logger and metrics. */
export class Fetcher {
  readonly cache: FetcherCache;
  readonly #deps: FetcherDeps;

  private constructor(cache: FetcherCache, deps: FetcherDeps) {
    this.cache = cache;
    this.#deps = deps;
  }

  /** Opens (and empties) the agent's cache directory. */
  static async create(deps: FetcherDeps): Promise<Fetcher> {
    const cache = await FetcherCache.open({
      dir: deps.settings.cacheDir,
      sizeBytes: deps.settings.cacheSizeBytes,
      ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }),
    });
    return new Fetcher(cache, deps);
  }

  /** Fetches a task's URIs into its sandbox; see {@link fetch}. */
  fetch(
    uris: readonly CommandUri[],
    sandbox: string,
    call: { user?: string; signal?: AbortSignal; limits?: FetchOptions["limits"] } = {},
  ): Promise<FetchedUri[]> {
    const d = this.#deps;
    return fetch(uris, sandbox, {
      ...d.defaults,
      ...call,
      cache: this.cache,
      stallTimeoutMs: d.settings.stallTimeoutMs,
      ...(d.clock === undefined ? {} : { clock: d.clock }),
      ...(d.logger === undefined ? {} : { logger: d.logger }),
      ...(d.metrics === undefined ? {} : { metrics: d.metrics }),
    });
  }
}

export { FetcherCache } from "./cache.ts";
export {
  type FetcherFlags,
  type FetcherSettings,
  resolveFetcherSettings,
} from "./config.ts";
export { fetchFailed, isFetchFailed } from "./errors.ts";
export type { FetchedUri, FetchOptions } from "./fetch.ts";

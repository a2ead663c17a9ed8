/**
 * `fetch(uris, sandbox, options)`: the URIs of one task, one after the other
 * (as Mesos's fetcher), into its sandbox before the task starts. Each URI is
 * downloaded (or copied from a local file) under its name, made executable,
 * or extracted when it is an archive; `cache: true` URIs go through the
 * agent's {@link FetcherCache}. The first failure stops the fetch with a
 * FETCH_FAILED error naming the URI and the cause.
 */
import { constants } from "node:fs";
import { chmod, copyFile, realpath, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Clock } from "../../../infra/clock.ts";
import { systemClock } from "../../../infra/clock.ts";
import {
  DEFAULT_FETCHER_STALL_TIMEOUT_MS,
  FETCHER_MAX_ARCHIVE_ENTRIES,
  FETCHER_MAX_DOWNLOAD_BYTES,
  FETCHER_MAX_EXTRACTED_BYTES,
  FETCHER_MAX_REDIRECTS,
} from "../../../infra/defaults.ts";
import type { Logger } from "../../../infra/logger.ts";
import type { Metrics } from "../../../infra/metrics.ts";
import type { CommandUri } from "../../../protocol/uris.ts";
import { archiveKind, extractArchive } from "./archive.ts";
import { FetcherCache } from "./cache.ts";
import { fetchFailed, isFetchFailed, reason } from "./errors.ts";
import type { ExtractLimits } from "./extractor.ts";
import { mkdirInside, tempBeside, writeAtomically } from "./paths.ts";
import { openSource, type Source, type SourceOptions } from "./source.ts";
import { outputName, type ParsedUri, parseUri } from "./uri.ts";

/** Options of {@link fetch}; all optional. */
export interface FetchOptions {
  /** The agent's fetcher cache; without it `cache: true` is ignored. */
  cache?: FetcherCache;
  /** The task's user: part of the cache key (Mesos keys the cache by user and URI). */
  user?: string;
  /** @default systemClock */
  clock?: Clock;
  logger?: Logger;
  /** Counts `containerizer/fetcher/task_fetches_succeeded|failed` and the cache's counters. */
  metrics?: Metrics;
  /** @default DEFAULT_FETCHER_STALL_TIMEOUT_MS (`--fetcher-stall-timeout`, 1 min) */
  stallTimeoutMs?: number;
  /** @default FETCHER_MAX_REDIRECTS */
  maxRedirects?: number;
  /** Bytes one download may hold. @default FETCHER_MAX_DOWNLOAD_BYTES */
  maxDownloadBytes?: number;
  /** Bounds of each extraction. @default FETCHER_MAX_EXTRACTED_BYTES, FETCHER_MAX_ARCHIVE_ENTRIES */
  limits?: Partial<ExtractLimits>;
  /** When set, local files (paths, file://) must lie under one of these directories. */
  localRoots?: readonly string[];
  /** Aborts the fetch (the task was killed during its launch). */
  signal?: AbortSignal;
}

/** What one URI became in the sandbox. */
export interface FetchedUri {
  /** The URI as given, credentials redacted. */
  uri: string;
  /** Sandbox-relative name of the copy (absent when a cached archive was only extracted). */
  file: string | undefined;
  /** True when the file was an archive and was extracted into the sandbox. */
  extracted: boolean;
  executable: boolean;
  /** `hit`: served by the cache; `downloaded`: into the cache now; `bypass`: the cache could not hold it; `off`: not cached. */
  cache: "hit" | "downloaded" | "bypass" | "off";
  /** Bytes fetched (of the file, before extraction). */
  bytes: number;
}

interface Resolved {
  source: SourceOptions;
  maxDownloadBytes: number;
  limits: ExtractLimits;
  options: FetchOptions;
}

function resolve(options: FetchOptions): Resolved {
  return {
    source: {
      clock: options.clock ?? systemClock,
      stallTimeoutMs: options.stallTimeoutMs ?? DEFAULT_FETCHER_STALL_TIMEOUT_MS,
      maxRedirects: options.maxRedirects ?? FETCHER_MAX_REDIRECTS,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.localRoots === undefined ? {} : { localRoots: options.localRoots }),
    },
    maxDownloadBytes: options.maxDownloadBytes ?? FETCHER_MAX_DOWNLOAD_BYTES,
    limits: {
      maxBytes: options.limits?.maxBytes ?? FETCHER_MAX_EXTRACTED_BYTES,
      maxEntries: options.limits?.maxEntries ?? FETCHER_MAX_ARCHIVE_ENTRIES,
    },
    options,
  };
}

/** Turns anything thrown while `doing` into a FETCH_FAILED error. */
function wrap(doing: string, err: unknown, signal: AbortSignal | undefined) {
  if (isFetchFailed(err)) return err;
  if (signal?.aborted === true) return fetchFailed(`${doing}: aborted`, { cause: err });
  return fetchFailed(`${doing}: ${reason(err)}`, { cause: err });
}

async function download(src: Source, dest: string, r: Resolved, max: number): Promise<number> {
  try {
    return await writeAtomically(src.stream, dest, {
      maxBytes: max,
      what: () => "the download",
      ...(r.options.signal === undefined ? {} : { signal: r.options.signal }),
    });
  } catch (err) {
    throw wrap(src.what, err, r.options.signal);
  }
}

/** Copies a cache file into the sandbox (a reflink where the file system has them). */
async function copyIn(file: string, dest: string): Promise<void> {
  const temp = tempBeside(dest);
  try {
    await copyFile(file, temp, constants.COPYFILE_FICLONE);
    await chmod(temp, 0o644);
    await rename(temp, dest);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

async function fetchOne(uri: CommandUri, root: string, r: Resolved): Promise<FetchedUri> {
  const parsed: ParsedUri = parseUri(uri.value);
  const name = outputName(parsed, uri.outputFile);
  const executable = uri.executable === true;
  const kind = !executable && (uri.extract ?? true) ? archiveKind(name) : undefined;
  const dest = path.join(root, name);
  const signal = r.options.signal;
  const log = r.options.logger;
  try {
    const dir = path.posix.dirname(name);
    await mkdirInside(root, dir === "." ? "" : dir);
  } catch (err) {
    throw wrap(`fetch ${parsed.display}`, err, signal);
  }
  const extract = async (file: string) => {
    try {
      await extractArchive(file, kind!, root, name, r.limits, signal);
    } catch (err) {
      throw wrap(`extract ${parsed.display}`, err, signal);
    }
  };

  let pending: Source | undefined;
  let cacheUse: FetchedUri["cache"] = "off";
  const cache = r.options.cache;
  if (uri.cache === true && cache !== undefined) {
    const got = await cache
      .acquire(
        FetcherCache.key(uri.value, r.options.user),
        name,
        async (file, reserve) => {
          const src = await openSource(parsed, r.source);
          if (src.size === undefined || src.size > r.maxDownloadBytes) {
            pending = src;
            return { kind: "bypass", reason: "its size is not known before the download" };
          }
          if (!(await reserve(src.size))) {
            pending = src;
            return { kind: "bypass", reason: "the cache cannot make room for it" };
          }
          return { kind: "cached", bytes: await download(src, file, r, src.size) };
        },
        signal,
      )
      .catch((err: unknown) => {
        throw wrap(`fetch ${parsed.display}`, err, signal);
      });
    if (got.kind === "lease") {
      const { lease } = got;
      cacheUse = lease.downloaded ? "downloaded" : "hit";
      try {
        if (kind !== undefined) {
          // Mesos: from the cache only the extraction lands in the sandbox.
          await extract(lease.file);
          return {
            uri: parsed.display,
            file: undefined,
            extracted: true,
            executable,
            cache: cacheUse,
            bytes: lease.bytes,
          };
        }
        try {
          await copyIn(lease.file, dest);
          if (executable) await chmod(dest, 0o755);
        } catch (err) {
          throw wrap(`fetch ${parsed.display}`, err, signal);
        }
        return {
          uri: parsed.display,
          file: name,
          extracted: false,
          executable,
          cache: cacheUse,
          bytes: lease.bytes,
        };
      } finally {
        lease.release();
      }
    }
    cacheUse = "bypass";
    log?.warn({ uri: parsed.display, reason: got.reason }, "fetching around the cache");
  }

  const src = pending ?? (await openSource(parsed, r.source));
  const bytes = await download(src, dest, r, r.maxDownloadBytes);
  if (executable) {
    try {
      await chmod(dest, 0o755);
    } catch (err) {
      throw wrap(`fetch ${parsed.display}`, err, signal);
    }
  } else if (kind !== undefined) await extract(dest);
  return {
    uri: parsed.display,
    file: name,
    extracted: kind !== undefined,
    executable,
    cache: cacheUse,
    bytes,
  };
}

/**
 * Fetches `uris` into the existing directory `sandbox`, in order. Resolves
 * with what each became; rejects with a FETCH_FAILED {@link AgoraError} at
 * the first URI that fails (the agent reports it as TASK_FAILED,
 * REASON_CONTAINER_LAUNCH_FAILED, with the error's message).
 */
export async function fetch(
  uris: readonly CommandUri[],
  sandbox: string,
  options: FetchOptions = {},
): Promise<FetchedUri[]> {
  const r = resolve(options);
  const metrics = options.metrics;
  try {
    let root: string;
    try {
      root = await realpath(sandbox);
      if (!(await stat(root)).isDirectory()) throw new Error("not a directory");
    } catch (err) {
      throw fetchFailed(`fetch into the sandbox: ${reason(err)}`, { cause: err });
    }
    const done: FetchedUri[] = [];
    for (const uri of uris) {
      if (options.signal?.aborted === true) {
        throw fetchFailed(`fetch ${parseUri(uri.value).display}: aborted`);
      }
      const one = await fetchOne(uri, root, r);
      options.logger?.info(one, "fetched uri");
      done.push(one);
    }
    metrics?.inc("containerizer/fetcher/task_fetches_succeeded");
    return done;
  } catch (err) {
    metrics?.inc("containerizer/fetcher/task_fetches_failed");
    throw isFetchFailed(err) ? err : wrap("fetch", err, options.signal);
  }
}

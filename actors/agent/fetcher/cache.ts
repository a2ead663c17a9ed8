/**
 * Mesos's fetcher cache (docs/fetcher-cache-internals.md): one per agent, in
 * its own directory, emptied when it opens (it keeps no state across agent
 * restarts). Entries are keyed by (user, URI); an entry is referenced while a
 * fetch downloads, waits for or reads it, and only unreferenced entries are
 * evicted, least recently used first, to keep the cache within its size.
 * Concurrent fetches of one key share one download. Space is reserved before
 * the download from the size known up front; when it is unknown, or the
 * cache cannot make room, the fill says "bypass" and the fetch goes straight
 * to the sandbox (Mesos's fallback).
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import type { Metrics } from "../../../infra/metrics.ts";

/** What a fill function reports. */
export type FillResult = { kind: "cached"; bytes: number } | { kind: "bypass"; reason: string };

/**
 * Downloads into `file` (a path in the cache; write it atomically) after
 * asking `reserve(bytes)` for room; returns "bypass" instead when it cannot.
 */
export type Fill = (
  file: string,
  reserve: (bytes: number) => Promise<boolean>,
) => Promise<FillResult>;

/** A resident cache file, held until released. */
export interface CacheLease {
  file: string;
  bytes: number;
  /** True when this call downloaded it; false when it was resident or downloaded by another. */
  downloaded: boolean;
  release(): void;
}

/** What {@link FetcherCache.acquire} gives. */
export type Acquired = { kind: "lease"; lease: CacheLease } | { kind: "bypass"; reason: string };

interface Entry {
  key: string;
  file: string;
  /** Bytes reserved or, once resident, held. */
  bytes: number;
  refs: number;
  resident: boolean;
  ready: Promise<FillResult>;
}

/** `promise`, or a rejection as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(new Error("aborted"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** Files this cache names: `<serial>-<name>` and the temporaries beside them. */
const OWN_FILE = /^(c\d+-|\.c\d+-)/;

/** Options of {@link FetcherCache.open}. */
export interface FetcherCacheOptions {
  /** The agent's cache directory (e.g. `<fetcher-cache-dir>/<agentId>`). */
  dir: string;
  /** Capacity in bytes (`--fetcher-cache-size`); 0 disables caching. */
  sizeBytes: number;
  metrics?: Metrics;
}

/** The fetcher cache of one agent. */
export class FetcherCache {
  readonly dir: string;
  readonly totalBytes: number;
  readonly #metrics: Metrics | undefined;
  /** Insertion order is recency: a used entry is moved to the end. */
  readonly #entries = new Map<string, Entry>();
  #used = 0;
  #serial = 0;

  private constructor(options: FetcherCacheOptions) {
    this.dir = options.dir;
    this.totalBytes = options.sizeBytes;
    this.#metrics = options.metrics;
  }

  /** Creates the directory and removes the cache files a previous run left. */
  static async open(options: FetcherCacheOptions): Promise<FetcherCache> {
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(options.dir)) {
      if (OWN_FILE.test(name)) await rm(path.join(options.dir, name), { force: true });
    }
    return new FetcherCache(options);
  }

  /** The cache key of a URI for a user (none: its own user, as Mesos). */
  static key(uri: string, user: string | undefined): string {
    return `${user ?? ""}\u0000${uri}`;
  }

  /** Bytes held or reserved (Mesos `cache_size_used_bytes`). */
  get usedBytes(): number {
    return this.#used;
  }

  /** Keys of the entries, least recently used first (for tests and the agent's state). */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  #touch(entry: Entry): void {
    this.#entries.delete(entry.key);
    this.#entries.set(entry.key, entry);
  }

  #drop(entry: Entry): void {
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
    this.#used -= entry.bytes;
    entry.bytes = 0;
  }

  /** Makes room for `bytes` more by evicting unreferenced resident entries, oldest first. */
  async #reserve(entry: Entry, bytes: number): Promise<boolean> {
    if (bytes > this.totalBytes) return false;
    const victims: Entry[] = [];
    let free = this.totalBytes - this.#used;
    for (const other of this.#entries.values()) {
      if (free >= bytes) break;
      if (other === entry || other.refs > 0 || !other.resident) continue;
      victims.push(other);
      free += other.bytes;
    }
    if (free < bytes) return false;
    for (const victim of victims) {
      this.#drop(victim);
      this.#metrics?.inc("fetcher/cache_evictions");
    }
    this.#used += bytes;
    entry.bytes += bytes;
    await Promise.all(victims.map((v) => rm(v.file, { force: true })));
    return true;
  }

  #lease(entry: Entry, downloaded: boolean): CacheLease {
    let released = false;
    return {
      file: entry.file,
      bytes: entry.bytes,
      downloaded,
      release: () => {
        if (released) return;
        released = true;
        entry.refs -= 1;
      },
    };
  }

  /**
   * A lease on the cache file of `key`, downloading it with `fill` when no
   * entry exists; concurrent calls for one key wait for the same fill and
   * share its failure (unless `signal`, the filling fetch's, aborted it).
   * "bypass" when the file cannot be cached.
   */
  async acquire(key: string, name: string, fill: Fill, signal?: AbortSignal): Promise<Acquired> {
    if (this.totalBytes <= 0) return { kind: "bypass", reason: "the fetcher cache is disabled" };
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      existing.refs += 1;
      this.#touch(existing);
      let result: FillResult;
      try {
        result = await untilAborted(existing.ready, signal);
      } catch (err) {
        existing.refs -= 1;
        throw err;
      }
      if (result.kind === "bypass") {
        existing.refs -= 1;
        return result;
      }
      this.#metrics?.inc("fetcher/cache_hits");
      return { kind: "lease", lease: this.#lease(existing, false) };
    }
    this.#metrics?.inc("fetcher/cache_misses");
    const safe = name.replace(/[^A-Za-z0-9._-]/g, "_").slice(-100);
    const serial = ++this.#serial;
    const entry: Entry = {
      key,
      file: path.join(this.dir, `c${serial}-${safe}`),
      bytes: 0,
      refs: 1,
      resident: false,
      ready: Promise.resolve({ kind: "bypass", reason: "" }),
    };
    let settle!: (r: FillResult) => void;
    let failed!: (err: unknown) => void;
    entry.ready = new Promise<FillResult>((resolve, reject) => {
      settle = resolve;
      failed = reject;
    });
    entry.ready.catch(() => {}); // waiters handle it; nobody may be waiting
    this.#entries.set(key, entry);
    try {
      const result = await fill(entry.file, (bytes) => this.#reserve(entry, bytes));
      if (result.kind === "bypass") {
        this.#drop(entry);
        entry.refs -= 1;
        this.#metrics?.inc("fetcher/cache_bypasses");
        settle(result);
        return result;
      }
      // The download may be smaller than announced: hold what it really is.
      this.#used += result.bytes - entry.bytes;
      entry.bytes = result.bytes;
      entry.resident = true;
      settle(result);
      return { kind: "lease", lease: this.#lease(entry, true) };
    } catch (err) {
      this.#drop(entry);
      entry.refs -= 1;
      await rm(entry.file, { force: true });
      // A fill aborted by its own fetch is no failure of the URI: its waiters fetch it themselves.
      if (signal?.aborted === true) settle({ kind: "bypass", reason: "the download was aborted" });
      else failed(err);
      throw err;
    }
  }
}

/**
 * The registry and the leader lease in JetStream KV (`@nats-io/kv`), one
 * bucket per subject prefix (`protocol/store.ts`). Registry puts are
 * pipelined across keys (each resolves on its own stream acknowledgement)
 * and each is a compare-and-swap on the revision this master last read or
 * wrote for its key, one at a time per key: a write from a master that lost
 * the lead (paused between its lease check and the write) can never replace
 * what the new leader wrote. The lease is taken and renewed by
 * compare-and-swap on its revision (`create`/`update`), as the server (2.9)
 * has no per-key TTL.
 */
import type { KV } from "@nats-io/kv";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { type Clock, systemClock } from "../../infra/clock.ts";
import { REGISTRY_MIRROR_CATCH_UP_MS } from "../../infra/defaults.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import {
  decodeRecord,
  encodeRecord,
  type LeaderRecord,
  type MasterRecord,
  registryBucket,
  StoreChecks,
  StoreKeys,
} from "../../protocol/store.ts";
import type { Registry } from "./registry.ts";
import { openRegistryMirror, type RegistryMirror } from "./registry-mirror.ts";

/** The lease as read: its record (undefined when it does not decode) and revision. */
export interface LeaseEntry {
  record: LeaderRecord | undefined;
  revision: number;
}

/** The lease and presence operations the leadership needs. */
export interface LeaseStore {
  /** The lease, or undefined when there is none (never taken, or released). */
  read(): Promise<LeaseEntry | undefined>;
  /**
   * Takes the lease: creates it when `revision` is undefined (none seen),
   * else replaces the revision seen. Rejects when another master wrote first.
   * @returns the new revision
   */
  acquire(record: LeaderRecord, revision: number | undefined): Promise<number>;
  /** Renews a lease held at `revision`; rejects when someone else wrote it. */
  renew(record: LeaderRecord, revision: number): Promise<number>;
  /** Gives the lease up (a clean stop), only if still at `revision`. */
  release(revision: number): Promise<void>;
  /** Writes this master's presence key. */
  present(record: MasterRecord): Promise<void>;
  /** Removes this master's presence key. */
  absent(masterId: string): Promise<void>;
  /** Every master's presence record. */
  masters(): Promise<MasterRecord[]>;
}

/** Options of {@link openKvRegistry}. */
export interface KvRegistryOptions {
  nc: NatsConnection;
  prefix: string;
  replicas: number;
  logger: Logger;
  metrics: Metrics;
  /**
   * Whether this master leads now: a registry write that finds its key
   * written by another master is then retried over that write (the other was
   * a master that lost the lead); otherwise it fails. @default never
   */
  isLeading?: () => boolean;
  /** @default systemClock */
  clock?: Clock;
}

/** Whether a KV write failed its compare-and-swap (another writer came first). */
export function isWrongRevision(err: unknown): boolean {
  return /wrong last sequence/i.test(String((err as Error)?.message ?? err));
}

/** Opens (creating when needed) the prefix's bucket. */
export async function openKvRegistry(
  options: KvRegistryOptions,
): Promise<{ registry: Registry; lease: LeaseStore }> {
  const kvm = new Kvm(options.nc);
  const create = () =>
    kvm.create(registryBucket(options.prefix), {
      replicas: options.replicas,
      history: 1,
      // reads through the stream leader: a replica never answers the lease with an old revision
      allow_direct: false,
    });
  let kv = await create();
  let reopening: Promise<KV> | undefined;
  // a standby keeps the registry warm (registry-mirror.ts); without it a takeover reads it all
  let mirror: RegistryMirror | undefined;
  try {
    mirror = await openRegistryMirror(
      kv,
      isRegistryKey,
      options.logger,
      options.clock ?? systemClock,
    );
  } catch (err) {
    options.logger.warn({ err }, "registry mirror not opened; a takeover reads the registry whole");
  }
  // a nats-server restarted without its store lost the bucket: create it again and retry once
  const withBucket = async <T>(op: (bucket: KV) => Promise<T>): Promise<T> => {
    try {
      return await op(kv);
    } catch (err) {
      if (!/stream not found|no responders/i.test(String((err as Error)?.message))) throw err;
      options.metrics.inc("registry_bucket_recreated");
      options.logger.warn("registry bucket missing: creating it again");
      mirror?.stop();
      mirror = undefined;
      reopening ??= create().finally(() => {
        reopening = undefined;
      });
      kv = await reopening;
      return op(kv);
    }
  };
  return {
    registry: kvRegistry(withBucket, options, () => mirror),
    lease: kvLease(withBucket, options),
  };
}

type WithBucket = <T>(op: (bucket: KV) => Promise<T>) => Promise<T>;

function isRegistryKey(key: string): boolean {
  return key !== StoreKeys.leader && !key.startsWith("masters.");
}

function kvRegistry(
  withBucket: WithBucket,
  options: KvRegistryOptions,
  mirrorOf: () => RegistryMirror | undefined,
): Registry {
  const { logger, metrics } = options;
  const isLeading = options.isLeading ?? (() => false);
  /** The revision of each registry key as this master last read or wrote it. */
  const revisions = new Map<string, number>();
  /** Per key, the write in flight: writes of one key go one after another. */
  const inFlight = new Map<string, Promise<void>>();

  const swap = (kv: KV, key: string, value: Uint8Array, revision: number | undefined) =>
    revision === undefined ? kv.create(key, value) : kv.update(key, value, revision);

  const write = async (key: string, value: Uint8Array): Promise<void> => {
    let revision: number;
    try {
      revision = await withBucket((kv) => swap(kv, key, value, revisions.get(key)));
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      metrics.inc("registry_write_conflicts");
      if (!isLeading()) {
        logger.warn({ key }, "registry entry changed by another master; write dropped");
        throw err;
      }
      // this master leads: what changed it was a master that had lost the lead
      logger.warn({ key }, "registry entry changed by another master; written over");
      const current = await withBucket((kv) => kv.get(key));
      revision = await withBucket((kv) => swap(kv, key, value, current?.revision || undefined));
    }
    revisions.set(key, revision);
  };

  return {
    kind: "kv",
    put(key, value) {
      const previous = inFlight.get(key);
      const pending =
        previous === undefined
          ? write(key, value)
          : previous.then(
              () => write(key, value),
              () => write(key, value),
            );
      inFlight.set(key, pending);
      const forget = () => {
        if (inFlight.get(key) === pending) inFlight.delete(key);
      };
      pending.then(forget, forget);
      return pending;
    },
    entries: () =>
      withBucket(async (kv) => {
        const mirror = mirrorOf();
        if (mirror !== undefined) {
          const last = (await kv.status()).streamInfo.state.last_seq;
          const copy = await mirror.snapshot(last, REGISTRY_MIRROR_CATCH_UP_MS);
          if (copy !== undefined) {
            revisions.clear();
            for (const [key, revision] of copy.revisions) revisions.set(key, revision);
            metrics.inc("registry_mirror_reads");
            return copy.entries;
          }
          metrics.inc("registry_mirror_misses");
          logger.warn("registry mirror behind the stream; reading the registry whole");
        }
        const out = new Map<string, Uint8Array>();
        revisions.clear();
        // one watch over every key is far faster than a get per key
        const watch = await kv.watch({ key: ">" });
        for await (const entry of watch) {
          if (isRegistryKey(entry.key)) {
            if (entry.operation === "PUT") {
              out.set(entry.key, entry.value);
              revisions.set(entry.key, entry.revision);
            } else {
              out.delete(entry.key);
              revisions.delete(entry.key);
            }
          }
          if (entry.isUpdate || entry.delta === 0) break;
        }
        watch.stop();
        return Array.from(out);
      }),
  };
}

function kvLease(withBucket: WithBucket, options: KvRegistryOptions): LeaseStore {
  const { logger, metrics } = options;
  return {
    async read() {
      const entry = await withBucket((kv) => kv.get(StoreKeys.leader));
      // none, or released (a delete marker): free to take with create()
      if (entry === null || entry.operation !== "PUT") return undefined;
      let record: LeaderRecord | undefined;
      try {
        record = decodeRecord(entry.value, StoreChecks.leader);
      } catch (err) {
        metrics.inc("registry_entries_invalid");
        logger.warn({ reason: (err as Error).message }, "leader lease does not decode");
      }
      return { record, revision: entry.revision };
    },
    async acquire(record, revision) {
      const value = encodeRecord(record);
      return withBucket((kv) =>
        revision === undefined
          ? kv.create(StoreKeys.leader, value)
          : kv.update(StoreKeys.leader, value, revision),
      );
    },
    renew: (record, revision) =>
      withBucket((kv) => kv.update(StoreKeys.leader, encodeRecord(record), revision)),
    release: (revision) =>
      withBucket((kv) => kv.delete(StoreKeys.leader, { previousSeq: revision })),
    async present(record) {
      await withBucket((kv) => kv.put(StoreKeys.master(record.masterId), encodeRecord(record)));
    },
    absent: (masterId) => withBucket((kv) => kv.delete(StoreKeys.master(masterId))),
    masters: () =>
      withBucket(async (kv) => {
        const out: MasterRecord[] = [];
        const watch = await kv.watch({ key: StoreKeys.mastersAll });
        // never empty when asked: this master's own presence key is written first
        for await (const entry of watch) {
          if (entry.operation === "PUT") {
            try {
              out.push(decodeRecord(entry.value, StoreChecks.master));
            } catch {
              metrics.inc("registry_entries_invalid");
            }
          }
          if (entry.isUpdate || entry.delta === 0) break;
        }
        watch.stop();
        return out;
      }),
  };
}

/**
 * Who leads, as the registry's `leader` lease says (one KV watch on one key):
 * the UI's sign of a master failover. A new leader's state differs from what
 * the events told (the old leader's offers are gone, recovering agents), so
 * the UI takes a new snapshot when the lease changes hands or term. Without a
 * KV registry (`--registry memory`) there is no lease to watch, and nothing
 * to fail over to.
 */
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { decodeRecord, registryBucket, StoreChecks, StoreKeys } from "../../protocol/store.ts";

/** A running watch. */
export interface LeaderWatch {
  stop(): void;
}

/**
 * Watches the lease; `onChange` runs when its holder or term differs from the
 * one seen before (not for the first one seen, nor for renewals).
 */
export async function watchLeader(
  nc: NatsConnection,
  prefix: string,
  logger: Logger,
  metrics: Metrics,
  onChange: (leader: { masterId: string; term: number }) => void,
): Promise<LeaderWatch | undefined> {
  let watch: Awaited<ReturnType<Awaited<ReturnType<Kvm["open"]>>["watch"]>>;
  try {
    const kv = await new Kvm(nc).open(registryBucket(prefix));
    watch = await kv.watch({ key: StoreKeys.leader });
  } catch (err) {
    logger.info(
      { reason: String(err) },
      "no registry lease to watch: failovers are seen by their events only",
    );
    return undefined;
  }
  let last: string | undefined;
  void (async () => {
    for await (const entry of watch) {
      if (entry.operation !== "PUT") continue;
      let record: { masterId: string; term: number };
      try {
        record = decodeRecord(entry.value, StoreChecks.leader);
      } catch {
        metrics.inc("ui_leader_records_invalid");
        continue;
      }
      const id = `${record.masterId}#${record.term}`;
      if (last !== undefined && id !== last) onChange(record);
      last = id;
    }
  })();
  return { stop: () => watch.stop() };
}

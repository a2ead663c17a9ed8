/**
 * A standby's copy of the registry, kept warm: one KV watch over every key,
 * opened with the registry, applies every put and delete the leader makes.
 * When this master is elected it reads the registry from here once the copy
 * has caught up with the stream's last sequence, instead of reading 50,000
 * entries after the election (Mesos's standbys hold the replicated log too).
 * Any doubt (the watch ended, the bucket was recreated, catching up takes too
 * long) and the caller reads the registry in full, as without a mirror.
 */
import type { KV } from "@nats-io/kv";
import type { Clock } from "../../infra/clock.ts";
import type { Logger } from "../../infra/logger.ts";

/** Where a mirror stands. */
export interface RegistryMirror {
  /**
   * Every key and value (registry keys only, as `accept` says) and their
   * revisions, once the copy holds the stream up to `lastSequence`; undefined
   * when it cannot tell within `timeoutMs`.
   */
  snapshot(
    lastSequence: number,
    timeoutMs: number,
  ): Promise<{ entries: Array<[string, Uint8Array]>; revisions: Map<string, number> } | undefined>;
  stop(): void;
}

/** Opens the watch; `accept` says which keys belong to the registry. */
export async function openRegistryMirror(
  kv: KV,
  accept: (key: string) => boolean,
  logger: Logger,
  clock: Clock,
): Promise<RegistryMirror> {
  const values = new Map<string, Uint8Array>();
  const revisions = new Map<string, number>();
  let seen = 0;
  let alive = true;
  let waiters: Array<() => void> = [];
  const wake = () => {
    const ready = waiters;
    waiters = [];
    for (const fn of ready) fn();
  };
  const watch = await kv.watch({ key: ">" });
  void (async () => {
    try {
      for await (const entry of watch) {
        seen = Math.max(seen, entry.revision);
        if (accept(entry.key)) {
          if (entry.operation === "PUT") {
            values.set(entry.key, entry.value);
            revisions.set(entry.key, entry.revision);
          } else {
            values.delete(entry.key);
            revisions.delete(entry.key);
          }
        }
        wake();
      }
    } catch (err) {
      logger.debug({ err }, "registry mirror watch ended");
    } finally {
      alive = false;
      wake();
    }
  })();
  return {
    async snapshot(lastSequence, timeoutMs) {
      const deadline = clock.now() + timeoutMs;
      while (alive && seen < lastSequence && clock.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = clock.after(Math.max(1, deadline - clock.now()), resolve);
          waiters.push(() => {
            timer.cancel();
            resolve();
          });
        });
      }
      if (!alive || seen < lastSequence) return undefined;
      return { entries: Array.from(values), revisions: new Map(revisions) };
    },
    stop() {
      alive = false;
      watch.stop();
      wake();
    },
  };
}

/**
 * The cluster's event history: a JetStream stream (`<prefix>_events`) that
 * captures what the master publishes on `<prefix>.v1.events.<kind>` with a
 * core publish — each event is published once, live observers and the
 * stream both get it. The leading master creates the stream or brings its
 * configuration up to date when it starts leading; a standby leaves it alone.
 */

import type { StreamConfig } from "@nats-io/jetstream";
import { DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { millis, type NatsConnection, nanos } from "@nats-io/nats-core";
import { AgoraError, ErrorCode } from "../protocol/errors.ts";
import { eventStreamName } from "../protocol/store.ts";
import type { Subjects } from "../protocol/subjects.ts";

/** How the history stream is configured (the master's `--events-*` flags). */
export interface EventStreamOptions {
  /** Kind patterns kept (`task.>`, `allocation`...), or `["all"]` / empty for every kind. */
  kinds: readonly string[];
  /** Events older than this are removed; 0 keeps them until `maxBytes`. */
  maxAgeMs: number;
  /** The stream's byte limit; the oldest events go first. */
  maxBytes: number;
  replicas: number;
}

/** The stream's subjects for the kinds kept. */
export function eventStreamSubjects(subjects: Subjects, kinds: readonly string[]): string[] {
  if (kinds.length === 0 || kinds.includes("all")) return [subjects.eventsAll()];
  return [...new Set(kinds)].map((kind) => subjects.eventsMatching(kind));
}

/** The configuration of the history stream (file storage, limits, discard old). */
export function eventStreamConfig(
  subjects: Subjects,
  options: EventStreamOptions,
): Partial<StreamConfig> & { name: string; subjects: string[] } {
  return {
    name: eventStreamName(subjects.prefix),
    description: `agora cluster event history of prefix ${subjects.prefix}`,
    subjects: eventStreamSubjects(subjects, options.kinds),
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(options.maxAgeMs),
    max_bytes: options.maxBytes,
    max_msgs: -1,
    num_replicas: options.replicas,
  };
}

/** What {@link ensureEventStream} did. */
export type EventStreamSetup = "created" | "updated" | "unchanged";

/** The fields of the configuration the master owns (compared to decide on an update). */
function differs(current: Partial<StreamConfig>, wanted: Partial<StreamConfig>): boolean {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return (
    !same([...(current.subjects ?? [])].sort(), [...(wanted.subjects ?? [])].sort()) ||
    millis(current.max_age ?? 0) !== millis(wanted.max_age ?? 0) ||
    current.max_bytes !== wanted.max_bytes ||
    current.num_replicas !== wanted.num_replicas ||
    current.discard !== wanted.discard
  );
}

/**
 * Creates the history stream, or updates its subjects and limits when they
 * differ from `options` (idempotent: a second call changes nothing).
 * @throws AgoraError UNAVAILABLE when the server has no JetStream or refuses the configuration
 */
export async function ensureEventStream(
  nc: NatsConnection,
  subjects: Subjects,
  options: EventStreamOptions,
  timeoutMs: number,
): Promise<EventStreamSetup> {
  const wanted = eventStreamConfig(subjects, options);
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    let current: Partial<StreamConfig> | undefined;
    try {
      current = (await jsm.streams.info(wanted.name)).config;
    } catch (err) {
      if (!/stream not found/i.test((err as Error).message)) throw err;
    }
    if (current === undefined) {
      await jsm.streams.add(wanted);
      return "created";
    }
    if (!differs(current, wanted)) return "unchanged";
    await jsm.streams.update(wanted.name, { ...current, ...wanted });
    return "updated";
  } catch (err) {
    throw new AgoraError(
      ErrorCode.Unavailable,
      `the event history stream ${wanted.name} cannot be set up (${(err as Error).message})`,
      { cause: err },
    );
  }
}

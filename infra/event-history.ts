/**
 * Following the cluster's event history (`infra/event-stream.ts`): an ordered
 * JetStream consumer on the history stream, started at a time or a stream
 * sequence, replays what is stored and then goes on with what is published —
 * one consumer, so there is no seam between history and live, no gap, no
 * duplicate. When it falls behind, misses heartbeats or loses its consumer
 * (a NATS restart), the client recreates it from the last sequence it
 * delivered. A stopped follower is resumed with `fromSeq: lastSeq() + 1`.
 *
 * ```ts
 * const follower = await followClusterEvents({ nc, subjects, since: Date.now() - 600_000,
 *   onEvent: (e) => console.log(e.seq, e.event.type) });
 * await follower.stop();
 * ```
 */
import {
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
  type OrderedConsumerOptions,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { CLUSTER_EVENT_TYPES } from "../protocol/cluster.ts";
import { decodeMessages } from "../protocol/codec.ts";
import { AgoraError, ErrorCode, ProtocolError } from "../protocol/errors.ts";
import type { MessageOf } from "../protocol/registry.ts";
import { eventStreamName } from "../protocol/store.ts";
import type { Subjects } from "../protocol/subjects.ts";
import { EVENTS_CONSUMER_IDLE_HEARTBEAT_MS } from "./defaults.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { Metrics } from "./metrics.ts";

/** One cluster event as the history holds it. */
export type HistoryClusterEvent = MessageOf<(typeof CLUSTER_EVENT_TYPES)[number]>;

/** One event read from the history stream. */
export interface HistoryEvent {
  /** The stream sequence of the message that carried it. */
  seq: number;
  /** When the stream stored it, milliseconds since the epoch. */
  time: number;
  /** Its subject, `<prefix>.v1.events.<kind>`. */
  subject: string;
  /**
   * Its place in the message: a message is one event, or a `batch` of the
   * events the master published together on one subject (then 0, 1, ...).
   */
  index: number;
  /** Events in the stream message (1 unless it is a batch). */
  count: number;
  event: HistoryClusterEvent;
}

/** Options of {@link followClusterEvents}. */
export interface FollowClusterEventsOptions {
  nc: NatsConnection;
  subjects: Subjects;
  /** Start at the first event stored at or after this time (ms since the epoch). */
  since?: number;
  /** Start at this stream sequence (wins over `since`); without both, only new events. */
  fromSeq?: number;
  /** Only events of this subject (a kind's subject, `subjects.event(kind)`). @default every kind */
  subject?: string;
  /** Called for every valid event, in stream order. */
  onEvent: (event: HistoryEvent) => void;
  /** Logs invalid messages and the consumer's interruptions. @default silent */
  logger?: Logger;
  /** Counts `messages_received`, `messages_invalid`, `messages_failed`. @default a fresh one */
  metrics?: Metrics;
  /** JetStream API timeout. @default 5000 */
  timeoutMs?: number;
}

/** A running follower. */
export interface EventFollower {
  /** The stream sequence of the last message delivered (0 before the first). */
  lastSeq(): number;
  /** Stops following; resolves once the consumer is closed. */
  stop(): Promise<void>;
}

const ACCEPTED: ReadonlySet<string> = new Set(CLUSTER_EVENT_TYPES);

/** Where the consumer starts. */
function startAt(options: FollowClusterEventsOptions): Partial<OrderedConsumerOptions> {
  if (options.fromSeq !== undefined) {
    return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.fromSeq };
  }
  if (options.since !== undefined) {
    return {
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(options.since).toISOString(),
    };
  }
  return { deliver_policy: DeliverPolicy.New };
}

/**
 * Follows the history stream from `fromSeq` or `since`, then live.
 * @throws AgoraError UNAVAILABLE when the server has no JetStream or the cluster has no history stream
 */
export async function followClusterEvents(
  options: FollowClusterEventsOptions,
): Promise<EventFollower> {
  const { nc, subjects } = options;
  const logger = options.logger ?? silentLogger();
  const metrics = options.metrics ?? new Metrics();
  const stream = eventStreamName(subjects.prefix);
  const timeout = options.timeoutMs ?? 5000;
  try {
    const jsm = await jetstreamManager(nc, { timeout });
    await jsm.streams.info(stream);
  } catch (err) {
    const reason = (err as Error).message;
    throw new AgoraError(
      ErrorCode.Unavailable,
      /not found/i.test(reason)
        ? `no event history: stream ${stream} does not exist (the master keeps it unless --events-stream=false)`
        : `no event history: JetStream is not available (${reason}); the history needs nats-server -js`,
      { cause: err },
    );
  }
  const consumer = await jetstream(nc, { timeout }).consumers.get(stream, {
    ...startAt(options),
    ...(options.subject === undefined ? {} : { filter_subjects: options.subject }),
  });
  let last = 0;
  const deliver = (m: JsMsg) => {
    last = m.seq;
    let decoded: Array<unknown>;
    try {
      decoded = decodeMessages(m.data);
    } catch (err) {
      metrics.inc("messages_invalid");
      logger.warn({ seq: m.seq, subject: m.subject, reason: String(err) }, "history event invalid");
      return;
    }
    const time = Number(m.timestampNanos / 1_000_000n);
    decoded.forEach((event, index) => {
      if (event instanceof ProtocolError || !ACCEPTED.has((event as { type: string }).type)) {
        metrics.inc("messages_invalid");
        logger.warn({ seq: m.seq, subject: m.subject, index }, "history event invalid");
        return;
      }
      metrics.inc("messages_received");
      options.onEvent({
        seq: m.seq,
        time,
        subject: m.subject,
        index,
        count: decoded.length,
        event: event as HistoryClusterEvent,
      });
    });
  };
  const messages: ConsumerMessages = await consumer.consume({
    idle_heartbeat: EVENTS_CONSUMER_IDLE_HEARTBEAT_MS,
    expires: 4 * EVENTS_CONSUMER_IDLE_HEARTBEAT_MS,
    callback: (m) => {
      try {
        deliver(m);
      } catch (err) {
        metrics.inc("messages_failed");
        logger.error({ err, seq: m.seq }, "history event handler failed");
      }
    },
  });
  void watchStatus(messages, stream, logger, () => last);
  return {
    lastSeq: () => last,
    async stop() {
      await messages.close();
    },
  };
}

/** Logs what the consumer goes through (recreated after a gap or a NATS restart, heartbeats missed...). */
async function watchStatus(
  messages: ConsumerMessages,
  stream: string,
  logger: Logger,
  lastSeq: () => number,
): Promise<void> {
  try {
    for await (const status of messages.status()) {
      switch (status.type) {
        case "ordered_consumer_recreated":
          logger.info({ stream, lastSeq: lastSeq() }, "history consumer recreated");
          break;
        case "heartbeats_missed":
        case "consumer_deleted":
        case "consumer_not_found":
        case "stream_not_found":
        case "no_responders":
          logger.warn(
            { stream, status: status.type, lastSeq: lastSeq() },
            "history consumer interrupted",
          );
          break;
        default:
          logger.debug({ stream, status: status.type }, "history consumer status");
      }
    }
  } catch (err) {
    logger.debug({ err, stream }, "history consumer status ended");
  }
}

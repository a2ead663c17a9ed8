/**
 * `agora events`: prints every cluster event (`<prefix>.v1.events.>`) as one
 * JSON line on stdout until Ctrl-C (or `--count` events). With `--since` or
 * `--from-seq` it first replays the history stream (`<prefix>_events`) and
 * then follows live with the same consumer; each line then carries the
 * event's stream sequence (`seq`, `index` within a batched message) and the
 * time it was stored (`time`).
 */

import { COMMON_OPTIONS, type OptionSpecs } from "../../infra/config.ts";
import { closeGracefully } from "../../infra/connect.ts";
import { serve } from "../../infra/dispatch.ts";
import { formatDuration } from "../../infra/durations.ts";
import { followClusterEvents } from "../../infra/event-history.ts";
import { Metrics } from "../../infra/metrics.ts";
import { isEventKindPattern, type Subjects } from "../../protocol/subjects.ts";
import { CLUSTER_EVENT_TYPES, type ClusterEvent } from "../cluster-events.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { cliLogger, connectCli, subjectsFor, waitForStopSignal } from "../runtime.ts";

const EVENTS_OPTIONS = {
  ...COMMON_OPTIONS,
  count: {
    kind: "integer",
    flag: "count",
    min: 1,
    placeholder: "N",
    help: "exit after N events",
  },
  since: {
    kind: "duration",
    flag: "since",
    placeholder: "DURATION",
    help: "replay the history from this long ago (10m, 2h, 1d), then follow live; needs JetStream",
  },
  fromSeq: {
    kind: "integer",
    flag: "from-seq",
    min: 1,
    placeholder: "N",
    help: "replay the history from stream sequence N (the `seq` of a printed event), then follow live",
  },
  kind: {
    kind: "strings",
    flag: "kind",
    placeholder: "KIND",
    help: "only events of these kinds (task.updated, agent.>, offer.*...), comma-separated or repeated",
  },
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora events [options]",
  summary:
    "Prints the cluster's events (agents added, offers sent, tasks updated, ...) as JSON\n" +
    "lines until Ctrl-C. With --since or --from-seq it replays the event history kept\n" +
    "in JetStream first, then follows live without a gap; each line then has the event's\n" +
    "stream sequence `seq` (resume with --from-seq seq+1) and the time it was stored.",
};

/** Whether `subject` matches the NATS subject pattern (`*` one token, `>` the rest). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/** The kind filter: a predicate on subjects, and the one subject a consumer may filter on. */
function kindFilter(subjects: Subjects, kinds: readonly string[]) {
  const patterns = kinds.map((kind) => {
    if (!isEventKindPattern(kind)) {
      throw usageError(
        `--kind: ${JSON.stringify(kind)} is not an event kind (task.updated, agent.>...)`,
      );
    }
    return subjects.eventsMatching(kind);
  });
  return {
    accepts: (subject: string) =>
      patterns.length === 0 || patterns.some((pattern) => subjectMatches(pattern, subject)),
    single: patterns.length === 1 ? patterns[0] : undefined,
  };
}

export const eventsCommand: Command = {
  name: "events",
  summary: "print the cluster's events as JSON lines",
  async run(argv) {
    const parsed = parseCommand(EVENTS_OPTIONS, argv, HELP);
    if (parsed === undefined) return 0;
    const { values } = parsed;
    if (values.fromSeq !== undefined && values.since !== undefined) {
      throw usageError("give --since or --from-seq, not both");
    }
    const subjects = subjectsFor(values.prefix);
    const filter = kindFilter(subjects, values.kind ?? []);
    const history = values.since !== undefined || values.fromSeq !== undefined;
    const logger = cliLogger("warn");
    const metrics = new Metrics();
    const stopSignal = waitForStopSignal();
    try {
      const nc = await connectCli(values, "agora-events", logger);
      let seen = 0;
      let enough: () => void = () => {};
      const done = new Promise<void>((resolve) => {
        enough = resolve;
      });
      /** Prints one event of the kinds asked for, up to `--count`. */
      const print = (subject: string, event: ClusterEvent, stored?: object): void => {
        if (!filter.accepts(subject)) return;
        if (values.count !== undefined && seen >= values.count) return;
        seen++;
        process.stdout.write(`${JSON.stringify({ ...stored, subject, ...event })}\n`);
        if (values.count !== undefined && seen >= values.count) enough();
      };
      let stop: () => Promise<void> | void;
      if (history) {
        const follower = await followClusterEvents({
          nc,
          subjects,
          since: values.since === undefined ? undefined : Date.now() - values.since,
          fromSeq: values.fromSeq,
          subject: filter.single,
          logger,
          metrics,
          onEvent: (e) =>
            print(e.subject, e.event, {
              seq: e.seq,
              index: e.index,
              time: new Date(e.time).toISOString(),
            }),
        }).catch(async (err: unknown) => {
          await closeGracefully(nc);
          throw err;
        });
        stop = () => follower.stop();
        process.stderr.write(
          `agora: replaying the event history ${values.fromSeq !== undefined ? `from seq ${values.fromSeq}` : `of the last ${formatDuration(values.since ?? 0)}`}, then following live\n`,
        );
      } else {
        const sub = serve(
          nc,
          subjects.eventsAll(),
          { types: CLUSTER_EVENT_TYPES, logger, metrics },
          (event, ctx) => {
            print(ctx.subject, event);
            return undefined;
          },
        );
        await nc.flush();
        stop = () => sub.unsubscribe();
        process.stderr.write(`agora: listening for events on ${subjects.eventsAll()}\n`);
      }
      await Promise.race([stopSignal.signal, done]);
      await stop();
      await closeGracefully(nc);
    } finally {
      stopSignal.cancel();
    }
    return 0;
  },
};

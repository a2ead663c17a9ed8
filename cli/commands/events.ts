/**
 * `agora events`: prints every cluster event (`<prefix>.v1.events.>`) as one
 * JSON line on stdout until Ctrl-C (or `--count` events).
 */

import { COMMON_OPTIONS, type OptionSpecs } from "../../infra/config.ts";
import { closeGracefully } from "../../infra/connect.ts";
import { serve } from "../../infra/dispatch.ts";
import { Metrics } from "../../infra/metrics.ts";
import { CLUSTER_EVENT_TYPES } from "../cluster-events.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { cliLogger, connectCli, subjectsFor, waitForStopSignal } from "../runtime.ts";

const EVENTS_OPTIONS = {
  ...COMMON_OPTIONS,
  count: {
    kind: "integer",
    flag: "count",
    placeholder: "N",
    help: "exit after N events",
  },
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora events [options]",
  summary:
    "Prints the cluster's events (agents added, offers sent, tasks updated, ...) as JSON\n" +
    "lines until Ctrl-C.",
};

export const eventsCommand: Command = {
  name: "events",
  summary: "print the cluster's events as JSON lines",
  async run(argv) {
    const parsed = parseCommand(EVENTS_OPTIONS, argv, HELP);
    if (parsed === undefined) return 0;
    const { values } = parsed;
    if (values.count !== undefined && values.count < 1) throw usageError("--count must be >= 1");
    const subjects = subjectsFor(values.prefix);
    const logger = cliLogger("warn");
    const stopSignal = waitForStopSignal();
    try {
      const nc = await connectCli(values, "agora-events", logger);
      let seen = 0;
      let enough: () => void = () => {};
      const done = new Promise<void>((resolve) => {
        enough = resolve;
      });
      const sub = serve(
        nc,
        subjects.eventsAll(),
        { types: CLUSTER_EVENT_TYPES, logger, metrics: new Metrics() },
        (event, ctx) => {
          if (values.count !== undefined && seen >= values.count) return undefined;
          seen++;
          process.stdout.write(`${JSON.stringify({ subject: ctx.subject, ...event })}\n`);
          if (values.count !== undefined && seen >= values.count) enough();
          return undefined;
        },
      );
      await nc.flush();
      process.stderr.write(`agora: listening for events on ${subjects.eventsAll()}\n`);
      await Promise.race([stopSignal.signal, done]);
      sub.unsubscribe();
      await closeGracefully(nc);
    } finally {
      stopSignal.cancel();
    }
    return 0;
  },
};

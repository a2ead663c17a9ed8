/**
 * `agora ui`: serves the live web UI for a cluster (actors/ui): an observer
 * that takes the master's state, follows the cluster events and streams the
 * changes to browsers. Runs until SIGINT/SIGTERM.
 */
import { createUi } from "../../actors/ui/index.ts";
import { systemClock } from "../../infra/clock.ts";
import { COMMON_OPTIONS, type OptionSpecs } from "../../infra/config.ts";
import { closeGracefully } from "../../infra/connect.ts";
import { DEFAULT_UI_HTTP_HOST, DEFAULT_UI_HTTP_PORT } from "../../infra/defaults.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { cliLogger, connectCli, principalOf, subjectsFor, waitForStopSignal } from "../runtime.ts";

const UI_OPTIONS = {
  ...COMMON_OPTIONS,
  httpPort: {
    kind: "integer",
    flag: "http-port",
    env: "AGORA_UI_HTTP_PORT",
    default: DEFAULT_UI_HTTP_PORT,
    placeholder: "PORT",
    help: "port of the web UI; 0 = a free one",
  },
  httpHost: {
    kind: "string",
    flag: "http-host",
    env: "AGORA_UI_HTTP_HOST",
    default: DEFAULT_UI_HTTP_HOST,
    placeholder: "HOST",
    help: "address the web UI listens on (0.0.0.0 for every interface)",
  },
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora ui [options]",
  summary:
    "Serves the live web UI of a cluster at http://HOST:PORT/ui/: it takes the master's state\n" +
    "once, then follows the cluster events and streams the changes to the browsers.",
};

export const uiCommand: Command = {
  name: "ui",
  summary: "serve the live web UI",
  async run(argv) {
    const parsed = parseCommand(UI_OPTIONS, argv, HELP);
    if (parsed === undefined) return 0;
    const { values } = parsed;
    if (values.httpPort < 0 || values.httpPort > 65535) {
      throw usageError("--http-port must be between 0 and 65535");
    }
    const logger = cliLogger("info");
    const stopSignal = waitForStopSignal();
    const nc = await connectCli(values, "agora-ui", logger).catch((err: unknown) => {
      stopSignal.cancel();
      throw err;
    });
    const ui = createUi({
      nc,
      subjects: subjectsFor(values.prefix),
      logger,
      clock: systemClock,
      port: values.httpPort,
      host: values.httpHost,
      principal: principalOf(values),
    });
    try {
      await ui.start();
      process.stdout.write(`agora ui: serving ${ui.url}\n`);
      await stopSignal.signal;
    } finally {
      stopSignal.cancel();
      await ui.stop();
      await closeGracefully(nc);
    }
    return 0;
  },
};

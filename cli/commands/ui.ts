/**
 * `agora ui`: serves the live web UI for a cluster (actors/ui): an observer
 * that takes the master's state, follows the cluster events and streams the
 * changes to browsers. Runs until SIGINT/SIGTERM.
 */
import { resolveUiConfig, UI_OPTIONS } from "../../actors/ui/config.ts";
import { createUi } from "../../actors/ui/index.ts";
import { systemClock } from "../../infra/clock.ts";
import { closeGracefully } from "../../infra/connect.ts";
import { type Command, parseCommand } from "../command.ts";
import { cliLogger, connectCli, principalOf, subjectsFor, waitForStopSignal } from "../runtime.ts";

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
    const values = resolveUiConfig({ argv });
    const logger = cliLogger("info", "command", values.logLevel);
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

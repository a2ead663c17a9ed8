/**
 * `agora master`: the master daemon. Runs until SIGINT/SIGTERM, then stops
 * cleanly and exits 0.
 */
import { loadAuthorizer } from "../../actors/master/authorizer.ts";
import { createMaster, MASTER_OPTIONS, resolveMasterConfig } from "../../actors/master/index.ts";
import { closeGracefully } from "../../infra/connect.ts";
import { type Command, parseCommand } from "../command.ts";
import { cliLogger, connectCli, subjectsFor, waitForStopSignal } from "../runtime.ts";

const HELP = {
  usage: "agora master [options]",
  summary:
    "Runs the master: the registry of agents, frameworks, tasks and offers, and the allocation\n" +
    "loop. Stops cleanly on Ctrl-C (SIGINT) or SIGTERM.",
};

export const masterCommand: Command = {
  name: "master",
  summary: "run the master daemon",
  async run(argv) {
    const parsed = parseCommand(MASTER_OPTIONS, argv, HELP);
    if (parsed === undefined) return 0;
    const config = resolveMasterConfig({ argv });
    // a bad ACL file stops the master before it connects (one line, non-zero exit)
    const authorizer = config.acls === undefined ? undefined : loadAuthorizer(config.acls);
    const subjects = subjectsFor(config.prefix);
    const logger = cliLogger("info", "daemon", config.logLevel);
    const stopSignal = waitForStopSignal();
    const nc = await connectCli(config, "master", logger).catch((err: unknown) => {
      stopSignal.cancel();
      throw err;
    });
    const master = createMaster({
      nc,
      logger,
      subjects,
      config,
      ...(authorizer === undefined ? {} : { authorizer }),
    });
    const reload = () => {
      try {
        master.reloadAcls();
      } catch (err) {
        logger.error(
          { reason: (err as Error).message },
          "acls not reloaded; the previous ones stay",
        );
      }
    };
    if (config.acls !== undefined) process.on("SIGHUP", reload);
    try {
      await master.start();
      const signal = await stopSignal.signal;
      logger.info({ signal }, "stopping the master");
    } finally {
      process.off("SIGHUP", reload);
      stopSignal.cancel();
      await master.stop();
      await closeGracefully(nc);
    }
    return 0;
  },
};

/**
 * `agora agent`: an agent daemon. Runs until SIGINT/SIGTERM, then stops
 * cleanly (its executors keep running, as Mesos's: a restarted agent
 * recovers them) and exits 0; exits 0 as well when the master shuts it down.
 * A restart whose resources the reconfiguration policy refuses exits
 * non-zero with a one-line message.
 */
import { AGENT_OPTIONS, createAgent, resolveAgentConfig } from "../../actors/agent/index.ts";
import { closeGracefully } from "../../infra/connect.ts";
import { Resources } from "../../protocol/resources.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { cliLogger, connectCli, subjectsFor, waitForStopSignal } from "../runtime.ts";

const HELP = {
  usage: "agora agent [options]",
  summary:
    "Runs an agent: registers this node's resources with the master, runs tasks through\n" +
    "executors and delivers their status updates. Stops cleanly on Ctrl-C or SIGTERM;\n" +
    "executors outlive the agent (up to --recovery-timeout). Restarted with the same\n" +
    "--work-dir, even after kill -9, it reattaches its live executors, reregisters with\n" +
    "their tasks and resends unacknowledged updates (--recover reconnect), or kills them\n" +
    "(--recover cleanup). Changed --resources/--attributes follow --reconfiguration-policy.",
};

export const agentCommand: Command = {
  name: "agent",
  summary: "run an agent daemon (one per node)",
  async run(argv) {
    const parsed = parseCommand(AGENT_OPTIONS, argv, HELP);
    if (parsed === undefined) return 0;
    const config = resolveAgentConfig({ argv });
    if (config.resources !== undefined) {
      try {
        Resources.parse(config.resources);
      } catch (err) {
        throw usageError(`--resources: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const subjects = subjectsFor(config.prefix);
    const logger = cliLogger("info", "daemon", config.logLevel);
    const stopSignal = waitForStopSignal();
    const nc = await connectCli(config, `agent-${config.hostname}`, logger).catch(
      (err: unknown) => {
        stopSignal.cancel();
        throw err;
      },
    );
    let shutDown: (() => void) | undefined;
    const shutdownByMaster = new Promise<"shutdown">((resolve) => {
      shutDown = () => resolve("shutdown");
    });
    const agent = createAgent({
      nc,
      logger,
      subjects,
      config,
      natsUrl: config.nats,
      onShutdown: () => shutDown?.(),
    });
    try {
      await agent.start();
      const why = await Promise.race([stopSignal.signal, shutdownByMaster]);
      logger.info({ why }, "stopping the agent");
    } finally {
      stopSignal.cancel();
      await agent.stop();
      await closeGracefully(nc);
    }
    return 0;
  },
};

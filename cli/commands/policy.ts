/**
 * `agora policy serve --name NAME --module PATH`: runs an allocation policy
 * module as an actor on NATS until SIGINT/SIGTERM.
 * `agora policy use NAME`: switches the running master to a policy, built-in
 * (`drf`, ...) or served by `agora policy serve --name NAME`.
 */

import { POLICY_HOST_OPTIONS, resolvePolicyHostConfig } from "../../actors/policy/config.ts";
import { createPolicyHost } from "../../actors/policy/host.ts";
import { loadPolicyModule } from "../../actors/policy/load.ts";
import { closeGracefully } from "../../infra/connect.ts";
import { isValidId } from "../../protocol/subjects.ts";
import { type Command, ExitCode, parseCommand, printError, usageError } from "../command.ts";
import { cliLogger, connectCli, subjectsFor, waitForStopSignal } from "../runtime.ts";
import { OPERATOR_OPTIONS, operatorCall } from "./operator-call.ts";

const MAIN_HELP = [
  "Usage: agora policy <serve|use> [options]",
  "",
  "Allocation policies as actors on NATS.",
  "",
  "Subcommands:",
  "  serve --name NAME --module PATH   run a policy module as an actor (until Ctrl-C)",
  "  use NAME                          switch the running master to a policy: a built-in",
  "                                    (drf, ...) or one served under NAME",
  "",
  "Each subcommand takes --help.",
  "",
].join("\n");

const SERVE_HELP = {
  usage: "agora policy serve --name NAME --module PATH [options]",
  summary:
    "Loads PATH (a .ts or .js module whose default or `policy` export implements the\n" +
    "AllocationPolicy interface, or is a factory of one) and answers the master's allocation\n" +
    "requests for NAME. Several instances with one NAME share the load. Stops on Ctrl-C.",
};

const USE_HELP = {
  usage: "agora policy use [options] NAME",
  summary:
    "Switches the running master's allocation policy. A built-in name (drf, ...) runs inside\n" +
    "the master; any other name is the actor started with `agora policy serve --name NAME`.\n" +
    "When that actor does not answer in time, the master falls back to drf for that cycle.",
};

async function serveCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(POLICY_HOST_OPTIONS, argv, SERVE_HELP);
  if (parsed === undefined) return ExitCode.Ok;
  const values = resolvePolicyHostConfig({ argv });
  const subjects = subjectsFor(values.prefix);
  const policy = await loadPolicyModule(values.module, { name: values.name });
  const logger = cliLogger("info", "daemon", values.logLevel);
  const stopSignal = waitForStopSignal();
  const nc = await connectCli(values, `policy-${values.name}`, logger).catch((err: unknown) => {
    stopSignal.cancel();
    throw err;
  });
  const host = createPolicyHost({
    nc,
    logger,
    subjects,
    name: values.name,
    policy,
    queue: values.queue,
    httpPort: values.httpPort,
    httpHost: values.httpHost,
  });
  try {
    await host.start();
    const signal = await stopSignal.signal;
    logger.info({ signal }, "stopping the policy actor");
  } finally {
    stopSignal.cancel();
    await host.stop();
    await closeGracefully(nc);
  }
  return ExitCode.Ok;
}

async function useCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(OPERATOR_OPTIONS, argv, USE_HELP, { allowPositionals: true });
  if (parsed === undefined) return ExitCode.Ok;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    throw usageError(
      positionals.length === 0
        ? "use: no NAME given (usage: agora policy use NAME)"
        : `use: expected one NAME, got ${positionals.join(" ")}`,
    );
  }
  const name = positionals[0]!;
  if (!isValidId(name)) throw usageError(`${JSON.stringify(name)} is not a valid policy name`);
  await operatorCall(values, "agora-policy", { type: "operator.usePolicy", name }, ["ok"]);
  process.stderr.write(`the master now allocates with ${name}\n`);
  return ExitCode.Ok;
}

export const policyCommand: Command = {
  name: "policy",
  summary: "run an allocation policy as an actor, or switch the master's policy",
  async run(argv) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case "serve":
        return serveCommand(rest);
      case "use":
        return useCommand(rest);
      case "--help":
      case "-h":
      case "help":
        process.stdout.write(MAIN_HELP);
        return ExitCode.Ok;
      case undefined:
        printError(
          "policy: no subcommand given; subcommands: serve, use (see agora policy --help)",
        );
        return ExitCode.Usage;
      default:
        if (sub.startsWith("-")) {
          throw usageError(
            `no subcommand given before ${sub}; subcommands: serve, use (see agora policy --help)`,
          );
        }
        throw usageError(
          `unknown subcommand ${JSON.stringify(sub)}; subcommands: serve, use (see agora policy --help)`,
        );
    }
  },
};

/**
 * `agora state`: prints the master's state (`operator.getState`) as JSON on
 * stdout: agents (resources, used, offered, attributes, active) and frameworks
 * with their tasks (DESIGN §7).
 */

import { COMMON_OPTIONS, type OptionSpecs } from "../../infra/config.ts";
import { closeGracefully } from "../../infra/connect.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "../../infra/defaults.ts";
import { requestState } from "../../infra/request.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { type Command, parseCommand } from "../command.ts";
import { cliLogger, connectCli, subjectsFor } from "../runtime.ts";

const STATE_OPTIONS = {
  ...COMMON_OPTIONS,
  timeout: {
    kind: "duration",
    flag: "timeout",
    default: DEFAULT_REQUEST_TIMEOUT_MS,
    placeholder: "DURATION",
    help: "how long to wait for the master's answer",
  },
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora state [options]",
  summary: "Prints the master's state as JSON: agents, frameworks and their tasks, roles.",
};

export const stateCommand: Command = {
  name: "state",
  summary: "print the master's state as JSON",
  async run(argv) {
    const parsed = parseCommand(STATE_OPTIONS, argv, HELP);
    if (parsed === undefined) return 0;
    const { values } = parsed;
    const subjects = subjectsFor(values.prefix);
    const logger = cliLogger("warn");
    const nc = await connectCli(values.nats, "agora-state", logger);
    try {
      const reply = await requestState(nc, subjects.masterOperator(), values.timeout).catch(
        (err: unknown) => {
          const error = AgoraError.from(err);
          if (error.code === ErrorCode.Unavailable || error.code === ErrorCode.Timeout) {
            throw new AgoraError(
              error.code,
              `no master answered at ${values.nats} (prefix ${values.prefix}); start one with \`agora dev\` or \`agora master\``,
            );
          }
          throw error;
        },
      );
      process.stdout.write(`${JSON.stringify(reply.state, null, 2)}\n`);
    } finally {
      await closeGracefully(nc);
    }
    return 0;
  },
};

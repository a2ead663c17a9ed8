/**
 * `agora state`: prints the master's state (`operator.getState`) as JSON on
 * stdout: agents (resources, used, offered, attributes, active) and frameworks
 * with their tasks (DESIGN §7).
 */

import { requestState } from "../../infra/request.ts";
import { type Command, parseCommand } from "../command.ts";
import { askMaster, OPERATOR_OPTIONS } from "./operator-call.ts";

const HELP = {
  usage: "agora state [options]",
  summary: "Prints the master's state as JSON: agents, frameworks and their tasks, roles.",
};

export const stateCommand: Command = {
  name: "state",
  summary: "print the master's state as JSON",
  async run(argv) {
    const parsed = parseCommand(OPERATOR_OPTIONS, argv, HELP);
    if (parsed === undefined) return 0;
    const { values } = parsed;
    const reply = await askMaster(values, "agora-state", (nc, subject) =>
      requestState(nc, subject, values.timeout),
    );
    process.stdout.write(`${JSON.stringify(reply.state, null, 2)}\n`);
    return 0;
  },
};

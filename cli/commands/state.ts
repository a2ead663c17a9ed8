/**
 * `agora state`: prints the master's state (`operator.getState`) as JSON on
 * stdout: agents (resources, used, offered, attributes, active) and frameworks
 * with their tasks (DESIGN §7).
 */

import type { OptionSpecs } from "../../infra/config.ts";
import { requestState } from "../../infra/request.ts";
import { type Command, parseCommand } from "../command.ts";
import { subjectsFor } from "../runtime.ts";
import { askMaster, OPERATOR_OPTIONS } from "./operator-call.ts";

const HELP = {
  usage: "agora state [options]",
  summary:
    "Prints the master's state as JSON: agents, frameworks and their tasks, roles. Asks the\n" +
    "leading master, or with --master ID that one master (a standby answers leader: false\n" +
    "and who leads).",
};

const STATE_OPTIONS = {
  ...OPERATOR_OPTIONS,
  master: {
    kind: "string",
    flag: "master",
    placeholder: "ID",
    help: "ask this master (leader or standby) on its instance subject instead of the leader",
  },
} as const satisfies OptionSpecs;

export const stateCommand: Command = {
  name: "state",
  summary: "print the master's state as JSON",
  async run(argv) {
    const parsed = parseCommand(STATE_OPTIONS, argv, HELP);
    if (parsed === undefined) return 0;
    const { values } = parsed;
    const instance =
      values.master === undefined
        ? undefined
        : subjectsFor(values.prefix).masterInstance(values.master);
    const reply = await askMaster(values, "agora-state", (nc, leader) =>
      requestState(nc, instance ?? leader, values.timeout),
    );
    process.stdout.write(`${JSON.stringify(reply.state, null, 2)}\n`);
    return 0;
  },
};

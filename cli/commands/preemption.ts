/**
 * `agora preemption on|off`: switches preemption on the running master
 * (`operator.updatePreemption`, stored in the registry: it survives a
 * failover). Without an argument prints whether it is on. With `--acls` on
 * the master, the caller needs `update_preemption` for `on` or `off`.
 */
import { type Command, parseCommand, usageError } from "../command.ts";
import { OPERATOR_OPTIONS, operatorCall } from "./operator-call.ts";

const HELP = {
  usage: "agora preemption [options] [on|off]",
  summary:
    "Switches preemption on or off on the running master: with it on, a demand\n" +
    "(scheduler.request) of higher priority (policy priority) or below its quota guarantee\n" +
    "that free resources cannot serve kills tasks (REASON_TASK_PREEMPTED) to make room.\n" +
    "Without on|off, prints whether preemption is on.",
};

export const preemptionCommand: Command = {
  name: "preemption",
  summary: "switch preemption on or off on the running master",
  async run(argv) {
    const parsed = parseCommand(OPERATOR_OPTIONS, argv, HELP, { allowPositionals: true });
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    if (positionals.length > 1) throw usageError("expected on or off");
    const word = positionals[0];
    if (word === undefined) {
      const reply = await operatorCall(values, "agora-preemption", { type: "operator.getState" }, [
        "operator.state",
      ]);
      process.stdout.write(`preemption ${reply.state.preemption === true ? "on" : "off"}\n`);
      return 0;
    }
    if (word !== "on" && word !== "off") {
      throw usageError(`expected on or off, got ${JSON.stringify(word)}`);
    }
    await operatorCall(
      values,
      "agora-preemption",
      { type: "operator.updatePreemption", enabled: word === "on" },
      ["ok"],
    );
    process.stdout.write(`preemption ${word}\n`);
    return 0;
  },
};

/**
 * `agora teardown FRAMEWORK_ID`: tears a framework down as the operator
 * (`operator.teardown`, Mesos's `TEARDOWN`): its tasks are killed and it may
 * not resubscribe. With `--acls` on the master, the caller's principal needs
 * `teardown_frameworks` for the framework's principal.
 */
import { assertValidId } from "../../protocol/subjects.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { OPERATOR_OPTIONS, operatorCall } from "./operator-call.ts";

const HELP = {
  usage: "agora teardown [options] FRAMEWORK_ID",
  summary:
    "Tears a framework down on the running master: its tasks are killed, its executors shut\n" +
    "down, and it may not resubscribe (Mesos's TEARDOWN).",
};

export const teardownCommand: Command = {
  name: "teardown",
  summary: "tear a framework down on the running master",
  async run(argv) {
    const parsed = parseCommand(OPERATOR_OPTIONS, argv, HELP, { allowPositionals: true });
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw usageError("expected one FRAMEWORK_ID");
    const frameworkId = assertValidId(positionals[0]!, "framework id");
    await operatorCall(values, "agora-teardown", { type: "operator.teardown", frameworkId }, [
      "ok",
    ]);
    process.stdout.write(`framework ${frameworkId} torn down\n`);
    return 0;
  },
};

/**
 * `agora priority [ROLE=PRIORITY...]`: sets role priorities of the `priority`
 * policy on the running master (`operator.setPriorities`, stored like the
 * weights); without arguments prints the priorities that are set as JSON
 * (`operator.getPriorities`). Under the `priority` policy a role with a higher
 * priority is offered resources first; a role not set inherits its nearest
 * ancestor's priority, else 0. Other policies ignore priorities.
 */
import { isValidRole } from "../../protocol/common.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { OPERATOR_OPTIONS, operatorCall } from "./operator-call.ts";

const HELP = {
  usage: "agora priority [options] [ROLE=PRIORITY...]",
  summary:
    "Sets the priorities of roles on the running master, e.g. `agora priority prod=10 dev=1`.\n" +
    "The `priority` policy (agora policy use priority) offers to higher priorities first;\n" +
    "a role not set inherits its nearest ancestor's, else 0. Without arguments, prints the\n" +
    "priorities that are set as JSON.",
};

/**
 * Parses `ROLE=PRIORITY` arguments.
 * @throws AgoraError INVALID_CONFIG (usage) naming the bad argument
 */
export function parsePriorities(args: readonly string[]): Record<string, number> {
  const priorities: Record<string, number> = {};
  for (const arg of args) {
    const at = arg.lastIndexOf("=");
    if (at <= 0) throw usageError(`expected ROLE=PRIORITY, got ${JSON.stringify(arg)}`);
    const role = arg.slice(0, at);
    const text = arg.slice(at + 1);
    const priority = Number(text);
    if (!isValidRole(role)) throw usageError(`invalid role ${JSON.stringify(role)}`);
    if (text.trim() === "" || !Number.isFinite(priority)) {
      throw usageError(`priority of ${role} must be a number, got ${JSON.stringify(text)}`);
    }
    priorities[role] = priority;
  }
  return priorities;
}

export const priorityCommand: Command = {
  name: "priority",
  summary: "set or show role priorities (the priority policy) on the running master",
  async run(argv) {
    const parsed = parseCommand(OPERATOR_OPTIONS, argv, HELP, { allowPositionals: true });
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    const priorities = parsePriorities(positionals);
    if (positionals.length === 0) {
      const reply = await operatorCall(
        values,
        "agora-priority",
        { type: "operator.getPriorities" },
        ["operator.priorities"],
      );
      process.stdout.write(`${JSON.stringify(reply.priorities, null, 2)}\n`);
      return 0;
    }
    await operatorCall(values, "agora-priority", { type: "operator.setPriorities", priorities }, [
      "ok",
    ]);
    const text = Object.entries(priorities)
      .map(([role, priority]) => `${role}=${priority}`)
      .join(" ");
    process.stderr.write(`priorities set: ${text}\n`);
    return 0;
  },
};

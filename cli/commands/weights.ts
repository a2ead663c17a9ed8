/**
 * `agora weights [ROLE=WEIGHT...]`: sets role weights on the running master
 * (`operator.setWeights`, Mesos's `UPDATE_WEIGHTS`); without arguments prints
 * the weights that are set as JSON (`operator.getWeights`). A role's fair
 * share is proportional to its weight; a role not set has weight 1.
 */
import { isValidRole } from "../../protocol/common.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { OPERATOR_OPTIONS, operatorCall } from "./operator-call.ts";

const HELP = {
  usage: "agora weights [options] [ROLE=WEIGHT...]",
  summary:
    "Sets the weights of roles on the running master, e.g. `agora weights web=2 batch=0.5`.\n" +
    "A role's fair share is proportional to its weight; roles not set have weight 1.\n" +
    "Without arguments, prints the weights that are set as JSON.",
};

/**
 * Parses `ROLE=WEIGHT` arguments.
 * @throws AgoraError INVALID_CONFIG (usage) naming the bad argument
 */
export function parseWeights(args: readonly string[]): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const arg of args) {
    const at = arg.lastIndexOf("=");
    if (at <= 0) throw usageError(`expected ROLE=WEIGHT, got ${JSON.stringify(arg)}`);
    const role = arg.slice(0, at);
    const text = arg.slice(at + 1);
    const weight = Number(text);
    if (!isValidRole(role)) throw usageError(`invalid role ${JSON.stringify(role)}`);
    if (text.trim() === "" || !Number.isFinite(weight) || weight <= 0) {
      throw usageError(`weight of ${role} must be a number > 0, got ${JSON.stringify(text)}`);
    }
    weights[role] = weight;
  }
  return weights;
}

export const weightsCommand: Command = {
  name: "weights",
  summary: "set or show role weights on the running master",
  async run(argv) {
    const parsed = parseCommand(OPERATOR_OPTIONS, argv, HELP, { allowPositionals: true });
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    const weights = parseWeights(positionals);
    if (positionals.length === 0) {
      const reply = await operatorCall(values, "agora-weights", { type: "operator.getWeights" }, [
        "operator.weights",
      ]);
      process.stdout.write(`${JSON.stringify(reply.weights, null, 2)}\n`);
      return 0;
    }
    await operatorCall(values, "agora-weights", { type: "operator.setWeights", weights }, ["ok"]);
    const text = Object.entries(weights)
      .map(([role, weight]) => `${role}=${weight}`)
      .join(" ");
    process.stderr.write(`weights set: ${text}\n`);
    return 0;
  },
};

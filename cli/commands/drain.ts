/**
 * `agora drain AGENT_ID [--deadline D] [--max-grace-period D] [--mark-gone]`
 * (Mesos 1.9 `DRAIN_AGENT`), `agora undrain AGENT_ID` (`REACTIVATE_AGENT`) and
 * `agora deactivate AGENT_ID` (`DEACTIVATE_AGENT`) on the running master.
 * A draining agent gets no offers; its frameworks get inverse offers; its
 * tasks are killed at once or at the deadline, each with its grace period
 * bounded by --max-grace-period; it is DRAINED when no task is left (then
 * removed for good with --mark-gone). With `--acls` on the master, the
 * caller's principal needs `drain_agents` for the agent.
 */
import type { OptionSpecs } from "../../infra/config.ts";
import type { Message } from "../../protocol/registry.ts";
import { assertValidId } from "../../protocol/subjects.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { OPERATOR_OPTIONS, operatorCall } from "./operator-call.ts";

const DRAIN_OPTIONS = {
  ...OPERATOR_OPTIONS,
  deadline: {
    kind: "duration",
    flag: "deadline",
    placeholder: "DURATION",
    min: 0,
    help: "let tasks run this long (their frameworks may move them), then kill what is left (default: kill now)",
  },
  maxGracePeriod: {
    kind: "duration",
    flag: "max-grace-period",
    placeholder: "DURATION",
    min: 0,
    help: "upper bound of each task's kill grace period (default: each task's own)",
  },
  markGone: {
    kind: "boolean",
    flag: "mark-gone",
    help: "remove the agent for good once it is drained (its tasks end TASK_GONE_BY_OPERATOR)",
  },
} as const satisfies OptionSpecs;

function oneAgent(positionals: string[]): string {
  if (positionals.length !== 1) throw usageError("expected one AGENT_ID");
  return assertValidId(positionals[0]!, "agent id");
}

export const drainCommand: Command = {
  name: "drain",
  summary: "drain an agent: no new offers, its tasks killed (now or at a deadline)",
  async run(argv) {
    const parsed = parseCommand(
      DRAIN_OPTIONS,
      argv,
      {
        usage: "agora drain [options] AGENT_ID",
        summary:
          "Drains an agent on the running master (Mesos's DRAIN_AGENT): it gets no new offers, the\n" +
          "frameworks with tasks on it get inverse offers, its tasks are killed (now, or after --deadline)\n" +
          "with their grace period bounded by --max-grace-period, and it is DRAINED once empty.\n" +
          "`agora undrain AGENT_ID` offers it again.",
      },
      { allowPositionals: true },
    );
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    const agentId = oneAgent(positionals);
    const call: Message = {
      type: "operator.drainAgent",
      agentId,
      ...(values.deadline === undefined ? {} : { deadlineSeconds: values.deadline / 1000 }),
      ...(values.maxGracePeriod === undefined
        ? {}
        : { maxGracePeriodSeconds: values.maxGracePeriod / 1000 }),
      ...(values.markGone === true ? { markGone: true } : {}),
    };
    await operatorCall(values, "agora-drain", call, ["ok"]);
    const when =
      values.deadline === undefined || values.deadline === 0
        ? "its tasks are being killed"
        : `its tasks are killed at ${new Date(Date.now() + values.deadline).toISOString()}`;
    const gone = values.markGone === true ? "; it is removed once drained" : "";
    process.stdout.write(`agent ${agentId} draining: no new offers, ${when}${gone}\n`);
    return 0;
  },
};

export const undrainCommand: Command = {
  name: "undrain",
  summary: "reactivate a drained or deactivated agent",
  async run(argv) {
    const parsed = parseCommand(
      OPERATOR_OPTIONS,
      argv,
      {
        usage: "agora undrain [options] AGENT_ID",
        summary:
          "Reactivates an agent (Mesos's REACTIVATE_AGENT): its drain ends and its resources are\n" +
          "offered again. Kills already sent stay sent.",
      },
      { allowPositionals: true },
    );
    if (parsed === undefined) return 0;
    const agentId = oneAgent(parsed.positionals);
    await operatorCall(
      parsed.values,
      "agora-undrain",
      { type: "operator.reactivateAgent", agentId },
      ["ok"],
    );
    process.stdout.write(`agent ${agentId} reactivated\n`);
    return 0;
  },
};

export const deactivateCommand: Command = {
  name: "deactivate",
  summary: "stop offering an agent's resources, its tasks left running",
  async run(argv) {
    const parsed = parseCommand(
      OPERATOR_OPTIONS,
      argv,
      {
        usage: "agora deactivate [options] AGENT_ID",
        summary:
          "Deactivates an agent (Mesos's DEACTIVATE_AGENT): its resources are no longer offered,\n" +
          "its tasks keep running. `agora undrain AGENT_ID` reactivates it.",
      },
      { allowPositionals: true },
    );
    if (parsed === undefined) return 0;
    const agentId = oneAgent(parsed.positionals);
    await operatorCall(
      parsed.values,
      "agora-deactivate",
      { type: "operator.deactivateAgent", agentId },
      ["ok"],
    );
    process.stdout.write(`agent ${agentId} deactivated: no new offers\n`);
    return 0;
  },
};

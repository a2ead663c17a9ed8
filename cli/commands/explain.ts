/**
 * `agora explain FRAMEWORK [--role R] [--json]`: why a framework receives
 * nothing (or less) for each of its roles (`operator.explain`): suppressed,
 * inactive, filtered (until when), a quota limit, headroom held for other
 * roles' guarantees, agents below min allocatable or free only in other
 * roles' reservations, or outranked (by whom, with their shares). One line
 * per role, then one line per reason; `--json` prints the reply as JSON.
 */
import type { OptionSpecs } from "../../infra/config.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { OPERATOR_OPTIONS, operatorCall } from "./operator-call.ts";

const EXPLAIN_OPTIONS = {
  ...OPERATOR_OPTIONS,
  role: {
    kind: "string",
    flag: "role",
    placeholder: "ROLE",
    help: "explain only this role of the framework",
  },
  json: {
    kind: "boolean",
    flag: "json",
    help: "print the master's reply as JSON",
  },
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora explain [options] FRAMEWORK",
  summary:
    "Why a framework receives nothing (or less) for each of its roles, from the allocator's\n" +
    "own checks on the cluster as a cycle would see it now, e.g. `agora explain F1 --role web`.",
};

/** The text lines of an explanation: `ROLE: share S, N offers outstanding`, then `  KIND: MESSAGE`. */
export function formatExplanation(reply: MessageOf<"operator.explanation">): string[] {
  const lines: string[] = [];
  for (const role of reply.roles) {
    const offers = `${role.offersOutstanding} offer${role.offersOutstanding === 1 ? "" : "s"} outstanding`;
    lines.push(`${role.role}: share ${role.share}, ${offers}`);
    if (role.reasons.length === 0) lines.push("  nothing to offer it: no agent passes the checks");
    for (const reason of role.reasons) lines.push(`  ${reason.kind}: ${reason.message}`);
  }
  return lines;
}

export const explainCommand: Command = {
  name: "explain",
  summary: "why a framework receives no offers (or fewer)",
  async run(argv) {
    const parsed = parseCommand(EXPLAIN_OPTIONS, argv, HELP, { allowPositionals: true });
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw usageError("expected one FRAMEWORK id");
    const reply = await operatorCall(
      values,
      "agora-explain",
      {
        type: "operator.explain",
        frameworkId: positionals[0]!,
        ...(values.role === undefined ? {} : { role: values.role }),
      },
      ["operator.explanation"],
    );
    if (values.json === true) process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
    else process.stdout.write(`${formatExplanation(reply).join("\n")}\n`);
    return 0;
  },
};

/**
 * `agora reserve AGENT_ID RESOURCES --role ROLE [--principal P] [--label k=v]...`
 * and `agora unreserve ...` (Mesos's `RESERVE_RESOURCES` /
 * `UNRESERVE_RESOURCES`): dynamically reserves unreserved resources of an
 * agent for a role, or gives a dynamic reservation back. The reservation
 * records the principal (default: the caller's) and the labels; with `--acls`
 * on the master the caller needs `reserve_resources` for the role, or
 * `unreserve_resources` for the reservation's principal.
 */
import type { ResourcesJson } from "../../protocol/common.ts";
import { Resources, reservationOf } from "../../protocol/resources.ts";
import { assertValidId } from "../../protocol/subjects.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { OPERATOR_OPTIONS, operatorCall } from "./operator-call.ts";

const OPTIONS = {
  ...OPERATOR_OPTIONS,
  role: {
    kind: "string",
    flag: "role",
    placeholder: "ROLE",
    help: "the role the resources are (or were) reserved for",
  },
  principal: {
    kind: "string",
    flag: "principal",
    placeholder: "PRINCIPAL",
    help: "the reservation's principal (default: the caller's)",
  },
  label: {
    kind: "strings",
    flag: "label",
    placeholder: "KEY=VALUE",
    help: "a label of the reservation (repeatable)",
  },
} as const;

/** `k=v` flags as labels. */
export function parseLabels(items: readonly string[] | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw usageError(`--label ${item}: expected KEY=VALUE`);
    labels[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return labels;
}

/** The dynamically reserved form of `text` (unreserved resources) for the flags. */
export function reservedResources(
  text: string,
  role: string | undefined,
  principal: string | undefined,
  labels: readonly string[] | undefined,
): ResourcesJson {
  if (role === undefined || role === "") throw usageError("--role is required");
  const plain = Resources.parse(text);
  if (plain.isEmpty()) throw usageError("RESOURCES is empty");
  if (plain.hasReservations()) {
    throw usageError(`RESOURCES "${text}": give them unreserved, with --role`);
  }
  return plain.withReservation(role, reservationOf(principal, parseLabels(labels))).toJSON();
}

function command(kind: "reserve" | "unreserve"): Command {
  const help = {
    usage: `agora ${kind} [options] AGENT_ID RESOURCES --role ROLE [--principal P] [--label k=v]...`,
    summary:
      kind === "reserve"
        ? 'Dynamically reserves unreserved resources of an agent for a role, e.g.\n  agora reserve m1-S0 "cpus:2;mem:1024" --role web --label team=a\nThey must be free on the agent (its outstanding offers are rescinded first).'
        : 'Gives a dynamic reservation back (the same resources, role, principal and labels), e.g.\n  agora unreserve m1-S0 "cpus:2;mem:1024" --role web --principal ops --label team=a',
  };
  return {
    name: kind,
    summary:
      kind === "reserve"
        ? "dynamically reserve an agent's resources for a role"
        : "give a dynamic reservation back",
    async run(argv) {
      const parsed = parseCommand(OPTIONS, argv, help, { allowPositionals: true });
      if (parsed === undefined) return 0;
      const { values, positionals } = parsed;
      if (positionals.length !== 2) throw usageError("expected AGENT_ID and RESOURCES");
      const agentId = assertValidId(positionals[0]!, "agent id");
      const resources = reservedResources(
        positionals[1]!,
        values.role,
        values.principal,
        values.label,
      );
      await operatorCall(
        values,
        `agora-${kind}`,
        {
          type: kind === "reserve" ? "operator.reserveResources" : "operator.unreserveResources",
          agentId,
          resources,
        },
        ["ok"],
      );
      process.stdout.write(
        `${kind === "reserve" ? "reserved" : "unreserved"} ${Resources.fromJSON(resources).toString()} on agent ${agentId}\n`,
      );
      return 0;
    },
  };
}

export const reserveCommand = command("reserve");
export const unreserveCommand = command("unreserve");

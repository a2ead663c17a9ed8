/**
 * `agora volume create|destroy AGENT_ID SIZE_MB --role ROLE --id ID --path PATH
 * [--principal P] [--label k=v]...` (Mesos's `CREATE_VOLUMES` /
 * `DESTROY_VOLUMES`): a persistent volume of SIZE_MB of the role's reserved
 * disk (dynamically reserved with that principal and labels when `--principal`
 * or `--label` is given, else statically reserved), created on the agent
 * under `volumes/roles/<role>/<id>` and seen by tasks at PATH in their sandbox.
 */
import { persistenceOf, Resources, reservationOf } from "../../protocol/resources.ts";
import { assertValidId } from "../../protocol/subjects.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { OPERATOR_OPTIONS, operatorCall } from "./operator-call.ts";
import { parseLabels } from "./reserve.ts";

const OPTIONS = {
  ...OPERATOR_OPTIONS,
  role: { kind: "string", flag: "role", placeholder: "ROLE", help: "the volume's role" },
  id: { kind: "string", flag: "id", placeholder: "ID", help: "the volume's persistence id" },
  path: {
    kind: "string",
    flag: "path",
    placeholder: "PATH",
    help: "where tasks see it, relative to their sandbox",
  },
  principal: {
    kind: "string",
    flag: "principal",
    placeholder: "PRINCIPAL",
    help: "the principal of the disk's dynamic reservation",
  },
  label: {
    kind: "strings",
    flag: "label",
    placeholder: "KEY=VALUE",
    help: "a label of the disk's dynamic reservation (repeatable)",
  },
} as const;

const HELP = {
  usage:
    "agora volume create|destroy [options] AGENT_ID SIZE_MB --role ROLE --id ID --path PATH [--principal P] [--label k=v]...",
  summary:
    "Creates or destroys a persistent volume on reserved disk of an agent, e.g.\n" +
    "  agora reserve m1-S0 disk:1024 --role db --principal ops\n" +
    "  agora volume create m1-S0 1024 --role db --principal ops --id pg --path data",
};

export const volumeCommand: Command = {
  name: "volume",
  summary: "create or destroy a persistent volume on an agent",
  async run(argv) {
    const parsed = parseCommand(OPTIONS, argv, HELP, { allowPositionals: true });
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    const [action, agent, size] = positionals;
    if (action !== "create" && action !== "destroy") {
      throw usageError("expected create or destroy");
    }
    if (positionals.length !== 3) throw usageError(`expected ${action} AGENT_ID SIZE_MB`);
    const agentId = assertValidId(agent!, "agent id");
    const mb = Number(size);
    if (!(mb > 0) || !Number.isFinite(mb))
      throw usageError(`SIZE_MB "${size}": not a positive number`);
    if (values.role === undefined) throw usageError("--role is required");
    if (values.id === undefined) throw usageError("--id is required");
    if (values.path === undefined) throw usageError("--path is required");
    let disk = Resources.scalars({ disk: mb });
    disk =
      values.principal === undefined && values.label === undefined
        ? disk.withRole(values.role)
        : disk.withReservation(
            values.role,
            reservationOf(values.principal, parseLabels(values.label)),
          );
    const volumes = disk.withPersistence(persistenceOf(values.id, values.path)).toJSON();
    await operatorCall(
      values,
      "agora-volume",
      {
        type: action === "create" ? "operator.createVolumes" : "operator.destroyVolumes",
        agentId,
        volumes,
      },
      ["ok"],
    );
    process.stdout.write(
      `volume ${values.id} ${action === "create" ? "created" : "destroyed"} on agent ${agentId}\n`,
    );
    return 0;
  },
};

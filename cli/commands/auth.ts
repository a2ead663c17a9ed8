/**
 * `agora auth`: the credentials and nats-server permissions of a cluster's
 * principals, generated from protocol/subjects.ts (protocol/permissions.ts).
 *
 *   agora auth init [--dir DIR] [--masters N] [--agents NAME] [--framework NAME[:ROLE,...]]...
 *   agora auth add-principal KIND NAME [--roles ROLE,...] [--agent NAME] [--dir DIR]
 *   agora auth table [--dir DIR]
 */
import { COMMON_OPTIONS, type OptionSpecs } from "../../infra/config.ts";
import {
  PrincipalKind,
  type PrincipalSpec,
  permissionTable,
  permissionTableMarkdown,
} from "../../protocol/permissions.ts";
import { AUTH_CONF, readAuthDirectory, writeAuthDirectory } from "../auth-files.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { subjectsFor } from "../runtime.ts";

const AUTH_OPTIONS = {
  prefix: COMMON_OPTIONS.prefix,
  dir: {
    kind: "string",
    flag: "dir",
    env: "AGORA_AUTH_DIR",
    default: "agora-auth",
    placeholder: "DIR",
    help: "directory of the credentials (seeds and env files 0600) and auth.conf",
  },
  masters: {
    kind: "integer",
    flag: "masters",
    default: 1,
    min: 1,
    placeholder: "N",
    help: "init: masters master-1..master-N",
  },
  agents: {
    kind: "string",
    flag: "agents",
    default: "agents",
    placeholder: "NAME[,NAME...]",
    help: "init: agent principals, one per agent or agent class (each speaks only for the agents it registered)",
  },
  operator: {
    kind: "strings",
    flag: "operator",
    placeholder: "NAME",
    help: "init: an operator principal (repeatable; default one named operator), the name the master's ACLs check",
  },
  framework: {
    kind: "strings",
    flag: "framework",
    placeholder: "NAME[:ROLE,...]",
    help: "init: a framework principal and its roles (repeatable)",
  },
  policy: {
    kind: "strings",
    flag: "policy",
    placeholder: "NAME",
    help: "init: a policy actor principal serving policy NAME (repeatable)",
  },
  observer: {
    kind: "strings",
    flag: "observer",
    placeholder: "NAME",
    help: "init: a read-only observer of cluster events (repeatable)",
  },
  agent: {
    kind: "string",
    flag: "agent",
    placeholder: "NAME",
    help: "add-principal executor: the agent principal whose executors use it",
  },
  roles: {
    kind: "string",
    flag: "roles",
    placeholder: "ROLE,...",
    help: "add-principal: roles of a framework principal",
  },
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora auth init|add-principal KIND NAME|table [options]",
  summary:
    "Creates the credentials of a cluster's principals (one nkey seed each) and the nats-server\n" +
    `authorization block (${AUTH_CONF}: publish/subscribe allow lists per principal, generated from\n` +
    "the subject layout). Include it in nats-server.conf; after add-principal apply it with\n" +
    "`nats-server --signal reload`. Start each process with its <principal>.env (AGORA_NKEY,\n" +
    "AGORA_PRINCIPAL). KIND: operator, master, agent, executor, framework, policy, observer, cli.",
};

const KINDS = new Set<string>(Object.values(PrincipalKind));

function frameworkSpec(arg: string): PrincipalSpec {
  const [name = "", roles] = arg.split(":", 2);
  const spec: PrincipalSpec = { name, kind: PrincipalKind.Framework };
  if (roles !== undefined && roles !== "") spec.roles = roles.split(",").filter((r) => r !== "");
  return spec;
}

/** The principals `agora auth init` creates. */
export function initialPrincipals(values: {
  masters: number;
  agents: string;
  operator?: string[] | undefined;
  framework?: string[] | undefined;
  policy?: string[] | undefined;
  observer?: string[] | undefined;
}): PrincipalSpec[] {
  const operators = values.operator?.length ? values.operator : ["operator"];
  const out: PrincipalSpec[] = operators.map((name) => ({ name, kind: PrincipalKind.Operator }));
  for (let i = 1; i <= values.masters; i++) {
    out.push({ name: `master-${i}`, kind: PrincipalKind.Master });
  }
  const agents = values.agents.split(",").filter((name) => name !== "");
  if (agents.length === 0) throw usageError("--agents needs at least one agent principal");
  for (const name of agents) out.push({ name, kind: PrincipalKind.Agent });
  // one executor credential per agent principal, limited to that principal's executor subjects
  for (const agent of agents) {
    out.push({ name: `${agent}-executor`, kind: PrincipalKind.Executor, agent });
  }
  for (const f of values.framework ?? []) out.push(frameworkSpec(f));
  for (const p of values.policy ?? []) out.push({ name: `policy-${p}`, kind: "policy", policy: p });
  for (const o of values.observer ?? []) out.push({ name: o, kind: PrincipalKind.Observer });
  return out;
}

export const authCommand: Command = {
  name: "auth",
  summary: "create principals' credentials and the nats-server permissions",
  async run(argv) {
    const parsed = parseCommand(AUTH_OPTIONS, argv, HELP, { allowPositionals: true });
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    const subjects = subjectsFor(values.prefix);
    const [sub, ...args] = positionals;
    const existing = await readAuthDirectory(values.dir);
    switch (sub) {
      case "init": {
        const principals = initialPrincipals(values);
        await writeAuthDirectory(values.dir, subjects, principals);
        process.stdout.write(
          `agora auth: ${principals.length} principals in ${values.dir}; include ${AUTH_CONF} in nats-server.conf\n`,
        );
        return 0;
      }
      case "add-principal": {
        const [kind, name] = args;
        if (kind === undefined || name === undefined || !KINDS.has(kind)) {
          throw usageError(
            `usage: agora auth add-principal KIND NAME (KIND: ${[...KINDS].join(", ")})`,
          );
        }
        if (existing === undefined)
          throw usageError(`${values.dir}: run \`agora auth init\` first`);
        if (existing.prefix !== subjects.prefix) {
          throw usageError(
            `${values.dir} is for prefix ${existing.prefix}, not ${subjects.prefix}`,
          );
        }
        if (kind === PrincipalKind.Executor) {
          const agent = values.agent;
          const known = existing.principals.some(
            (p) => p.kind === PrincipalKind.Agent && p.name === agent,
          );
          if (agent === undefined || !known) {
            throw usageError(
              `add-principal executor ${name}: --agent must name an agent principal of ${values.dir}`,
            );
          }
        }
        const spec: PrincipalSpec =
          kind === PrincipalKind.Framework
            ? frameworkSpec(values.roles === undefined ? name : `${name}:${values.roles}`)
            : kind === PrincipalKind.Executor && values.agent !== undefined
              ? { name, kind: PrincipalKind.Executor, agent: values.agent }
              : { name, kind: kind as PrincipalKind };
        await writeAuthDirectory(values.dir, subjects, [...existing.principals, spec]);
        process.stdout.write(
          `agora auth: added ${name} (${kind}); apply with \`nats-server --signal reload\`\n`,
        );
        return 0;
      }
      case "table": {
        const principals = existing?.principals ?? initialPrincipals(values);
        process.stdout.write(permissionTableMarkdown(permissionTable(subjects, principals)));
        return 0;
      }
      default:
        throw usageError("agora auth: expected init, add-principal or table (see --help)");
    }
  },
};

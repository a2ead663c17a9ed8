/**
 * `agora quota ROLE [--guarantee R] [--limit R] [--remove]`: sets or removes
 * a role's quota on the running master (`operator.setQuota`,
 * `operator.removeQuota`, Mesos's `UPDATE_QUOTA`). The guarantee is always
 * allocatable to the role; the limit caps what the role is allocated. Without
 * a ROLE (or with a ROLE and no change) prints the quotas that are set as JSON.
 */
import type { OptionSpecs } from "../../infra/config.ts";
import { isValidRole } from "../../protocol/common.ts";
import { Resources } from "../../protocol/resources.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { OPERATOR_OPTIONS, operatorCall } from "./operator-call.ts";

const QUOTA_OPTIONS = {
  ...OPERATOR_OPTIONS,
  guarantee: {
    kind: "string",
    flag: "guarantee",
    placeholder: "RESOURCES",
    help: 'resources always allocatable to the role, e.g. "cpus:2;mem:1024"',
  },
  limit: {
    kind: "string",
    flag: "limit",
    placeholder: "RESOURCES",
    help: 'most the role may be allocated, e.g. "cpus:8;mem:8192"',
  },
  borrowingLimit: {
    kind: "string",
    flag: "borrowing-limit",
    placeholder: "RESOURCES",
    help: "most of its siblings' lent guarantee the role may use beyond its own guarantee (Kueue)",
  },
  lendingLimit: {
    kind: "string",
    flag: "lending-limit",
    placeholder: "RESOURCES",
    help: "how much of its unused guarantee the role lends to its siblings (Kueue; default none)",
  },
  remove: {
    kind: "boolean",
    flag: "remove",
    help: "remove the role's quota",
  },
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora quota [options] [ROLE]",
  summary:
    'Sets a role\'s quota on the running master, e.g. `agora quota web --guarantee "cpus:2;mem:1024"\n' +
    '--limit "cpus:8;mem:8192"` (a flag left out clears that part), or removes it with --remove.\n' +
    "Without a change, prints the quotas that are set as JSON (of ROLE, or of every role).",
};

/**
 * Parses a `--guarantee`/`--limit` value (the master checks the rest: unreserved
 * scalars, the guarantee within the limit).
 * @throws AgoraError INVALID_CONFIG (usage)
 */
export function parseQuotaResources(flag: string, text: string): Resources {
  let resources: Resources;
  try {
    resources = Resources.parse(text);
  } catch (err) {
    throw usageError(`--${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (resources.isEmpty()) throw usageError(`--${flag} must name at least one resource`);
  return resources;
}

export const quotaCommand: Command = {
  name: "quota",
  summary: "set, remove or show role quotas on the running master",
  async run(argv) {
    const parsed = parseCommand(QUOTA_OPTIONS, argv, HELP, { allowPositionals: true });
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    if (positionals.length > 1) {
      throw usageError(`expected one ROLE, got ${positionals.length}: ${positionals.join(" ")}`);
    }
    const role = positionals[0];
    if (role !== undefined && !isValidRole(role)) {
      throw usageError(`invalid role ${JSON.stringify(role)}`);
    }
    const guarantee =
      values.guarantee === undefined
        ? undefined
        : parseQuotaResources("guarantee", values.guarantee);
    const limit =
      values.limit === undefined ? undefined : parseQuotaResources("limit", values.limit);
    const borrowingLimit =
      values.borrowingLimit === undefined
        ? undefined
        : parseQuotaResources("borrowing-limit", values.borrowingLimit);
    const lendingLimit =
      values.lendingLimit === undefined
        ? undefined
        : parseQuotaResources("lending-limit", values.lendingLimit);
    const set = [guarantee, limit, borrowingLimit, lendingLimit].some((r) => r !== undefined);
    const changes = values.remove || set;
    if (values.remove && set) {
      throw usageError(
        "--remove cannot be combined with --guarantee, --limit, --borrowing-limit or --lending-limit",
      );
    }
    if (changes && role === undefined)
      throw usageError("no ROLE given (usage: agora quota ROLE ...)");

    if (!changes) {
      const reply = await operatorCall(values, "agora-quota", { type: "operator.getQuota" }, [
        "operator.quota",
      ]);
      const shown = role === undefined ? reply.quotas : { [role]: reply.quotas[role] ?? {} };
      process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      return 0;
    }
    if (values.remove) {
      await operatorCall(values, "agora-quota", { type: "operator.removeQuota", role: role! }, [
        "ok",
      ]);
      process.stderr.write(`quota of ${role} removed\n`);
      return 0;
    }
    await operatorCall(
      values,
      "agora-quota",
      {
        type: "operator.setQuota",
        role: role!,
        guarantee: guarantee?.toJSON(),
        limit: limit?.toJSON(),
        borrowingLimit: borrowingLimit?.toJSON(),
        lendingLimit: lendingLimit?.toJSON(),
      },
      ["ok"],
    );
    const parts = [
      guarantee === undefined ? undefined : `guarantee ${guarantee}`,
      limit === undefined ? undefined : `limit ${limit}`,
      borrowingLimit === undefined ? undefined : `borrowing limit ${borrowingLimit}`,
      lendingLimit === undefined ? undefined : `lending limit ${lendingLimit}`,
    ].filter((p) => p !== undefined);
    process.stderr.write(`quota of ${role} set: ${parts.join(", ")}\n`);
    return 0;
  },
};

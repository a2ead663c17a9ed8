/**
 * The options of a policy host (`agora policy serve`): the actor that serves
 * an allocation policy module on NATS under a name. Resolved in one place
 * (defaults → `AGORA_*` → flags → overrides) and validated against the
 * table's TypeBox schema.
 */
import {
  COMMON_OPTIONS,
  HTTP_OPTIONS,
  LOG_OPTIONS,
  type OptionSpecs,
  type Resolved,
  type ResolveInput,
} from "../../infra/config.ts";
import { resolveConfig } from "../../infra/config-schema.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { isValidId } from "../../protocol/subjects.ts";

/** The option table of `agora policy serve`. */
export const POLICY_HOST_OPTIONS = {
  ...COMMON_OPTIONS,
  ...HTTP_OPTIONS,
  ...LOG_OPTIONS,
  name: {
    kind: "string",
    flag: "name",
    env: "AGORA_POLICY_NAME",
    placeholder: "NAME",
    help: "name to serve the policy under (the master's --policy / agora policy use NAME)",
  },
  module: {
    kind: "string",
    flag: "module",
    env: "AGORA_POLICY_MODULE",
    placeholder: "PATH",
    help: "module whose default (or `policy`) export is the policy or a factory of it",
  },
  queue: {
    kind: "string",
    flag: "queue",
    env: "AGORA_POLICY_QUEUE",
    placeholder: "GROUP",
    help: "NATS queue group; instances in one group share the requests (default: policy.NAME)",
  },
} as const satisfies OptionSpecs;

/** A policy host's resolved configuration; `name` and `module` are always given. */
export type PolicyHostConfig = Resolved<typeof POLICY_HOST_OPTIONS> & {
  name: string;
  module: string;
};

/**
 * Resolves a policy host's configuration.
 * @throws AgoraError INVALID_CONFIG with a one-line message
 */
export function resolvePolicyHostConfig(
  input: ResolveInput<typeof POLICY_HOST_OPTIONS> = {},
): PolicyHostConfig {
  const { values } = resolveConfig(POLICY_HOST_OPTIONS, input);
  const fail = (message: string) => {
    throw new AgoraError(ErrorCode.InvalidConfig, message);
  };
  const { name, module } = values;
  if (name === undefined) return fail("serve: --name NAME is required");
  if (!isValidId(name)) fail(`--name: ${JSON.stringify(name)} is not a valid policy name`);
  if (module === undefined) return fail("serve: --module PATH is required");
  if (values.queue !== undefined && values.queue.trim() === "") fail("--queue must not be empty");
  return { ...values, name, module };
}

/**
 * The master's authorizer: Mesos's local authorizer over an ACL file
 * (protocol/acls.ts). Pure: `authorize(action, principal, object)` decides
 * by the first rule whose entities match, else by `permissive`. `check` turns
 * a denial into a PERMISSION_DENIED error, counts it per action and logs it
 * once (principal, action and object names only: no secret is ever in them).
 */
import { readFileSync } from "node:fs";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { ACL_ACTIONS, type AclAction, type AclEntity, AclsFile } from "../../protocol/acls.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";

const aclsCheck = TypeCompiler.Compile(AclsFile);

/** Decides whether a principal may act on an object. */
export interface Authorizer {
  /** Whether any rule is configured (false: everything is allowed). */
  readonly enabled: boolean;
  /**
   * Whether `principal` (undefined: unauthenticated) may do `action` on
   * `object` (undefined: unspecified, matched like an unauthenticated principal).
   */
  authorize(action: AclAction, principal: string | undefined, object: string | undefined): boolean;
}

/** Allows everything: a master without `--acls`. */
export const ALLOW_ALL: Authorizer = { enabled: false, authorize: () => true };

function matches(entity: AclEntity, name: string | undefined): boolean {
  if ("type" in entity) return true;
  return name !== undefined && entity.values.includes(name);
}

const allows = (entity: AclEntity): boolean => !("type" in entity && entity.type === "NONE");

/** An authorizer over a validated ACL file. */
export function createAuthorizer(acls: AclsFile): Authorizer {
  const permissive = acls.permissive ?? true;
  return {
    enabled: true,
    authorize(action, principal, object) {
      const field = ACL_ACTIONS[action];
      for (const rule of acls[action] ?? []) {
        const target = (rule as Record<string, AclEntity>)[field];
        if (target === undefined) continue;
        if (matches(rule.principals, principal) && matches(target, object)) {
          return allows(rule.principals) && allows(target);
        }
      }
      return permissive;
    },
  };
}

/**
 * Parses and validates an ACL file's text.
 * @throws AgoraError INVALID_CONFIG with a one-line message naming the first problem
 */
export function parseAcls(text: string, source = "ACL file"): AclsFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AgoraError(
      ErrorCode.InvalidConfig,
      `--acls ${source}: not JSON (${(err as Error).message})`,
    );
  }
  if (!aclsCheck.Check(json)) {
    const first = aclsCheck.Errors(json).First();
    const where = first?.path === "" || first === undefined ? "the top level" : first.path;
    throw new AgoraError(
      ErrorCode.InvalidConfig,
      `--acls ${source}: invalid at ${where}: ${first?.message ?? "unexpected shape"} (expected Mesos ACLs: {"permissive", ${Object.keys(ACL_ACTIONS).join(", ")}}, each a list of {principals, <object>} with {"values": [...]} or {"type": "ANY"|"NONE"})`,
    );
  }
  return json;
}

/**
 * Reads an ACL file and builds its authorizer.
 * @throws AgoraError INVALID_CONFIG when it cannot be read or is invalid
 */
export function loadAuthorizer(path: string): Authorizer {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new AgoraError(ErrorCode.InvalidConfig, `--acls ${path}: cannot read it (${code})`);
  }
  return createAuthorizer(parseAcls(text, path));
}

/** Where a denial is counted and logged. */
export interface DenialSink {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Checks every object (an empty list checks `undefined` once); on the first
 * denied one counts `acl_denied_<action>`, logs once and throws.
 * @throws AgoraError PERMISSION_DENIED naming the principal, the action and the object
 */
export function checkAll(
  authorizer: Authorizer,
  sink: DenialSink,
  action: AclAction,
  principal: string | undefined,
  objects: readonly (string | undefined)[],
): void {
  if (!authorizer.enabled) return;
  const list = objects.length === 0 ? [undefined] : objects;
  for (const object of list) {
    if (authorizer.authorize(action, principal, object)) continue;
    throw denied(sink, action, principal, object);
  }
}

/** Counts, logs and returns the PERMISSION_DENIED error of a denial. */
export function denied(
  sink: DenialSink,
  action: AclAction,
  principal: string | undefined,
  object: string | undefined,
): AgoraError {
  sink.metrics.inc(`acl_denied_${action}`);
  sink.logger.warn({ action, principal: principal ?? null, object: object ?? null }, "acl denied");
  return new AgoraError(ErrorCode.PermissionDenied, denialMessage(action, principal, object));
}

/** The message of a denial, e.g. `principal "a" may not register_frameworks with roles "web"`. */
export function denialMessage(
  action: AclAction,
  principal: string | undefined,
  object: string | undefined,
): string {
  const who = principal === undefined ? "an unauthenticated caller" : `principal "${principal}"`;
  const what = object === undefined ? "" : ` with ${ACL_ACTIONS[action]} "${object}"`;
  return `${who} may not ${action}${what} (ACLs)`;
}

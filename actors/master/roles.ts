/**
 * Role settings, the one place they change: weights (Mesos `--weights`,
 * `UPDATE_WEIGHTS`), priorities (the `priority` policy) and quota (Mesos
 * quota: a guarantee kept allocatable to the role, a limit it never exceeds;
 * unreserved scalar resources). Every setter validates, records and asks
 * for an allocation cycle; outstanding offers are left alone (as Mesos). The
 * allocator reads the settings through {@link roleStandings}; `agora state`
 * and the `cluster.allocation` event show them with the roles' dominant
 * shares through {@link roleSummaries}.
 */

import { isQuantities } from "../../policies/quantities.ts";
import { dominantShare } from "../../policies/shares.ts";
import type { RoleStanding } from "../../policies/types.ts";
import type { ResourcesJson } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { Resources, UNRESERVED_ROLE } from "../../protocol/resources.ts";
import { allocationOf } from "./ledger.ts";
import type { MasterContext, RoleEntry } from "./model.ts";

/** A quota as given to {@link setRoleQuota}: resource sets or their JSON form. */
export interface QuotaInput {
  guarantee?: Resources | ResourcesJson | undefined;
  limit?: Resources | ResourcesJson | undefined;
  borrowingLimit?: Resources | ResourcesJson | undefined;
  lendingLimit?: Resources | ResourcesJson | undefined;
}

/** A quota's JSON form. */
export interface QuotaJson {
  guarantee?: ResourcesJson;
  limit?: ResourcesJson;
  borrowingLimit?: ResourcesJson;
  lendingLimit?: ResourcesJson;
}

/** A role's summary in the state and the allocation event. */
export interface RoleSummary {
  weight: number;
  priority?: number;
  quota?: QuotaJson;
  /** What the role and its sub-roles hold (offered + used). */
  allocated: ResourcesJson;
  /** Dominant share of `allocated` in the cluster total. */
  dominantShare: number;
}

/** @throws AgoraError INVALID_MESSAGE for an invalid role name */
function checkRole(role: string): void {
  try {
    Resources.empty().withRole(role);
  } catch (cause) {
    throw new AgoraError(
      ErrorCode.InvalidMessage,
      `invalid role ${JSON.stringify(role)}: ${(cause as Error).message}`,
    );
  }
}

function entryOf(ctx: MasterContext, role: string): RoleEntry {
  let entry = ctx.roles.get(role);
  if (entry === undefined) {
    entry = { weight: undefined, priority: undefined, guarantee: undefined, limit: undefined };
    ctx.roles.set(role, entry);
  }
  return entry;
}

/** Forgets a role whose settings are all back to the defaults. */
function prune(ctx: MasterContext, role: string): void {
  const entry = ctx.roles.get(role);
  if (
    entry !== undefined &&
    entry.weight === undefined &&
    entry.priority === undefined &&
    entry.guarantee === undefined &&
    entry.limit === undefined &&
    entry.borrowingLimit === undefined &&
    entry.lendingLimit === undefined
  ) {
    ctx.roles.delete(role);
  }
}

/**
 * Sets a role's weight (> 0); `undefined` resets it to 1.
 * @throws AgoraError INVALID_MESSAGE for a bad role or weight
 */
export function setRoleWeight(ctx: MasterContext, role: string, weight: number | undefined): void {
  checkRole(role);
  if (weight !== undefined && !(weight > 0 && Number.isFinite(weight))) {
    throw new AgoraError(ErrorCode.InvalidMessage, `weight of ${role} must be a number > 0`);
  }
  entryOf(ctx, role).weight = weight === 1 ? undefined : weight;
  prune(ctx, role);
  ctx.requestAllocation();
}

/**
 * Sets several weights at once: all are checked before any is set.
 * @throws AgoraError INVALID_MESSAGE for a bad role or weight
 */
export function setRoleWeights(
  ctx: MasterContext,
  weights: Readonly<Record<string, number>>,
): void {
  for (const [role, weight] of Object.entries(weights)) {
    checkRole(role);
    if (!(weight > 0 && Number.isFinite(weight))) {
      throw new AgoraError(ErrorCode.InvalidMessage, `weight of ${role} must be a number > 0`);
    }
  }
  for (const [role, weight] of Object.entries(weights)) setRoleWeight(ctx, role, weight);
}

/**
 * Sets a role's priority for the `priority` policy (higher first); `undefined`
 * removes it (the role then inherits its nearest ancestor's, else 0).
 * @throws AgoraError INVALID_MESSAGE for a bad role or priority
 */
export function setRolePriority(
  ctx: MasterContext,
  role: string,
  priority: number | undefined,
): void {
  checkRole(role);
  if (priority !== undefined && !Number.isFinite(priority)) {
    throw new AgoraError(ErrorCode.InvalidMessage, `priority of ${role} must be a finite number`);
  }
  entryOf(ctx, role).priority = priority;
  prune(ctx, role);
  ctx.requestAllocation();
}

/**
 * Sets several priorities at once: all are checked before any is set.
 * @throws AgoraError INVALID_MESSAGE for a bad role or priority
 */
export function setRolePriorities(
  ctx: MasterContext,
  priorities: Readonly<Record<string, number>>,
): void {
  for (const [role, priority] of Object.entries(priorities)) {
    checkRole(role);
    if (!Number.isFinite(priority)) {
      throw new AgoraError(ErrorCode.InvalidMessage, `priority of ${role} must be a finite number`);
    }
  }
  for (const [role, priority] of Object.entries(priorities)) {
    setRolePriority(ctx, role, priority);
  }
}

function quotaPart(role: string, what: string, input: Resources | ResourcesJson | undefined) {
  if (input === undefined) return undefined;
  let r: Resources;
  try {
    r = input instanceof Resources ? input : Resources.fromJSON(input);
  } catch (cause) {
    throw new AgoraError(
      ErrorCode.InvalidResources,
      `quota ${what} of ${role}: ${(cause as Error).message}`,
    );
  }
  if (!isQuantities(r)) {
    throw new AgoraError(
      ErrorCode.InvalidResources,
      `quota ${what} of ${role} must be unreserved scalar resources, got ${r}`,
    );
  }
  return r.isEmpty() ? undefined : r;
}

/**
 * Sets a role's quota: `guarantee` and `limit` are unreserved scalars; a part
 * left out is removed; with neither the quota is removed. The guarantee may
 * not exceed the limit for a resource the limit names. (A limit of 0 cannot be
 * expressed: zero amounts vanish from resource sets; suppress the role instead.)
 * @throws AgoraError INVALID_MESSAGE for a bad role, INVALID_RESOURCES for bad resources
 */
export function setRoleQuota(ctx: MasterContext, role: string, quota: QuotaInput): void {
  checkRole(role);
  if (role === UNRESERVED_ROLE) {
    throw new AgoraError(ErrorCode.InvalidMessage, `quota cannot be set on role "*"`);
  }
  const guarantee = quotaPart(role, "guarantee", quota.guarantee);
  const limit = quotaPart(role, "limit", quota.limit);
  const borrowingLimit = quotaPart(role, "borrowingLimit", quota.borrowingLimit);
  const lendingLimit = quotaPart(role, "lendingLimit", quota.lendingLimit);
  if (guarantee !== undefined && limit !== undefined) {
    for (const name of limit.names()) {
      if (guarantee.scalar(name) > limit.scalar(name)) {
        throw new AgoraError(
          ErrorCode.InvalidResources,
          `quota guarantee ${guarantee} of ${role} exceeds its limit ${limit}`,
        );
      }
    }
  }
  const entry = entryOf(ctx, role);
  entry.guarantee = guarantee;
  entry.limit = limit;
  entry.borrowingLimit = borrowingLimit;
  entry.lendingLimit = lendingLimit;
  prune(ctx, role);
  ctx.requestAllocation();
}

/** Removes a role's quota (a no-op when it has none). */
export function removeRoleQuota(ctx: MasterContext, role: string): void {
  const entry = ctx.roles.get(role);
  if (entry === undefined) return;
  entry.guarantee = undefined;
  entry.limit = undefined;
  entry.borrowingLimit = undefined;
  entry.lendingLimit = undefined;
  prune(ctx, role);
  ctx.requestAllocation();
}

/** The weights that are set (roles not listed have weight 1). */
export function roleWeights(ctx: MasterContext): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [role, entry] of ctx.roles) if (entry.weight !== undefined) out[role] = entry.weight;
  return out;
}

/** The priorities that are set. */
export function rolePriorities(ctx: MasterContext): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [role, entry] of ctx.roles) {
    if (entry.priority !== undefined) out[role] = entry.priority;
  }
  return out;
}

function hasQuota(entry: RoleEntry): boolean {
  return (
    entry.guarantee !== undefined ||
    entry.limit !== undefined ||
    entry.borrowingLimit !== undefined ||
    entry.lendingLimit !== undefined
  );
}

function quotaJson(entry: RoleEntry): QuotaJson {
  const out: QuotaJson = {};
  if (entry.guarantee !== undefined) out.guarantee = entry.guarantee.toJSON();
  if (entry.limit !== undefined) out.limit = entry.limit.toJSON();
  if (entry.borrowingLimit !== undefined) out.borrowingLimit = entry.borrowingLimit.toJSON();
  if (entry.lendingLimit !== undefined) out.lendingLimit = entry.lendingLimit.toJSON();
  return out;
}

/** Every role's quota as JSON (roles without quota are not listed). */
export function roleQuotas(ctx: MasterContext): Record<string, QuotaJson> {
  const out: Record<string, QuotaJson> = {};
  for (const [role, entry] of ctx.roles) {
    if (hasQuota(entry)) out[role] = quotaJson(entry);
  }
  return out;
}

/** The roles' standing for the allocation context: every role with a setting. */
export function roleStandings(ctx: MasterContext): Record<string, RoleStanding> {
  const out: Record<string, RoleStanding> = {};
  for (const [role, entry] of ctx.roles) {
    out[role] = {
      weight: entry.weight ?? 1,
      ...(entry.priority === undefined ? {} : { priority: entry.priority }),
      ...(hasQuota(entry)
        ? {
            quota: {
              ...(entry.guarantee === undefined ? {} : { guarantee: entry.guarantee }),
              ...(entry.limit === undefined ? {} : { limit: entry.limit }),
              ...(entry.borrowingLimit === undefined
                ? {}
                : { borrowingLimit: entry.borrowingLimit }),
              ...(entry.lendingLimit === undefined ? {} : { lendingLimit: entry.lendingLimit }),
            },
          }
        : {}),
    };
  }
  return out;
}

/** `role`, and its ancestors (`a/b/c` → `a/b/c`, `a/b`, `a`). */
function selfAndAncestors(role: string): string[] {
  const out = [role];
  for (let i = role.lastIndexOf("/"); i > 0; i = role.lastIndexOf("/", i - 1)) {
    out.push(role.slice(0, i));
  }
  return out;
}

/**
 * Every role that has a framework, an allocation or a setting, with its
 * ancestors: weight, priority, quota, what it holds with its sub-roles and
 * the dominant share of that in `total`.
 */
export function roleSummaries(ctx: MasterContext, total: Resources): Record<string, RoleSummary> {
  const allocated = new Map<string, Resources>();
  const touch = (role: string) => {
    for (const path of selfAndAncestors(role)) {
      if (!allocated.has(path)) allocated.set(path, Resources.empty());
    }
  };
  for (const role of ctx.roles.keys()) touch(role);
  for (const framework of ctx.frameworks.values()) {
    for (const role of framework.roles) touch(role);
    for (const [role, r] of Object.entries(allocationOf(framework))) {
      touch(role);
      for (const path of selfAndAncestors(role)) {
        allocated.set(path, (allocated.get(path) ?? Resources.empty()).add(r));
      }
    }
  }
  const out: Record<string, RoleSummary> = {};
  for (const role of Array.from(allocated.keys()).sort()) {
    const r = allocated.get(role) ?? Resources.empty();
    const entry = ctx.roles.get(role);
    const summary: RoleSummary = {
      weight: entry?.weight ?? 1,
      allocated: r.toJSON(),
      dominantShare: dominantShare(r, total),
    };
    if (entry?.priority !== undefined) summary.priority = entry.priority;
    if (entry !== undefined && hasQuota(entry)) {
      summary.quota = quotaJson(entry);
    }
    out[role] = summary;
  }
  return out;
}

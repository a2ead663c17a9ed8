/**
 * Master → policy actor: one allocation decision per request on
 * `<p>.policy.<name>`. The request carries the allocation context (the
 * `AllocationContext` of `policies/types.ts` as plain data: every resource set
 * in its JSON form); the reply lists the allocations, each of which the master
 * makes one offer.
 */
import { CloneType, type Static, type TSchema, Type } from "@sinclair/typebox";
import { Attributes, Id, message, ResourcesJson, Role, Text } from "./common.ts";

/**
 * Marks a schema node that holds a resource set: receivers turn it into a
 * `Resources` value (see `actors/policy/wire.ts`).
 */
const RESOURCES_MARK = "agoraResources";

/** A resource set in JSON form, marked so that it is decoded into `Resources`. */
const PolicyResources = CloneType(ResourcesJson, { [RESOURCES_MARK]: true });

/** Whether a schema node is a marked resource set. */
export function isResourcesSchema(schema: TSchema): boolean {
  return (schema as Record<string, unknown>)[RESOURCES_MARK] === true;
}

/** A number of milliseconds since the epoch. */
const Millis = Type.Number();

/** One agent as the policy sees it. */
const PolicyAgentSlot = Type.Object({
  agentId: Id,
  hostname: Text,
  /** The agent's total resources. */
  total: PolicyResources,
  /** What is neither offered nor used: the resources the policy may allocate. */
  free: PolicyResources,
  attributes: Type.Optional(Attributes),
});

/** A decline filter: until `expiresAt`, `resources` of `agentId` are not offered to the framework. */
const PolicyDeclineFilter = Type.Object({
  agentId: Id,
  /** The role of the declined offer; absent: every role. */
  role: Type.Optional(Role),
  resources: PolicyResources,
  expiresAt: Millis,
});

/** One framework's standing. */
const PolicyFrameworkStanding = Type.Object({
  frameworkId: Id,
  roles: Type.Array(Role),
  /** False when the framework may not be offered anything now. */
  active: Type.Boolean(),
  /** Current allocation (used plus offered) per role. */
  allocation: Type.Record(Role, PolicyResources, { additionalProperties: false }),
  suppressedRoles: Type.Array(Role),
  filters: Type.Array(PolicyDeclineFilter),
  /** Allocations made to the framework so far (a tie-breaker). */
  allocations: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Priority within its roles (higher first); default 0. */
  priority: Type.Optional(Type.Number()),
});

/** A role's quota: unreserved scalar resources. */
const PolicyRoleQuota = Type.Object({
  guarantee: Type.Optional(PolicyResources),
  limit: Type.Optional(PolicyResources),
  borrowingLimit: Type.Optional(PolicyResources),
  lendingLimit: Type.Optional(PolicyResources),
});

/** A role's standing. */
const PolicyRoleStanding = Type.Object({
  /** Relative weight (default 1). */
  weight: Type.Number(),
  /** Priority (higher first); default 0. */
  priority: Type.Optional(Type.Number()),
  quota: Type.Optional(PolicyRoleQuota),
});

/** Everything a policy may look at. */
export const PolicyContext = Type.Object({
  /** Milliseconds since the epoch (possibly virtual): policies never read a clock. */
  now: Millis,
  /** The total resources of the agents in the pool. */
  total: PolicyResources,
  /** Agents whose resources may be allocated, in the order the master wants them visited. */
  agents: Type.Array(PolicyAgentSlot),
  frameworks: Type.Array(PolicyFrameworkStanding),
  /** Roles with a setting (weight, priority, quota); others have weight 1, priority 0, no quota. */
  roles: Type.Record(Role, PolicyRoleStanding, { additionalProperties: false }),
  /** The master's allocation interval in ms (informational). */
  allocationInterval: Type.Optional(Type.Number({ minimum: 0 })),
  /**
   * What free resources must hold to be offered (`--min-allocatable-resources`):
   * sets of minimum quantities, one of which must be met, e.g.
   * `[{"cpus": 0.01}, {"mem": 32}]`; absent: that default.
   */
  minAllocatable: Type.Optional(
    Type.Array(
      Type.Record(Type.String(), Type.Number({ exclusiveMinimum: 0 }), { minProperties: 1 }),
      {
        minItems: 1,
      },
    ),
  ),
});
export type PolicyContext = Static<typeof PolicyContext>;

/** One allocation: the master makes it one offer. */
export const PolicyAllocation = Type.Object({
  frameworkId: Id,
  role: Role,
  agentId: Id,
  resources: ResourcesJson,
});
export type PolicyAllocationJson = Static<typeof PolicyAllocation>;

/**
 * Master → policy actor, request: is a policy actor serving this name? The
 * reply is `ok`. The master asks before `operator.usePolicy` switches to a
 * policy that is not built in.
 */
export const PolicyPing = message("policy.ping", {});

/** Master → policy actor, request: decide one allocation cycle. The reply is `policy.decision`. */
export const PolicyAllocate = message("policy.allocate", { context: PolicyContext });

/** Policy actor → master: the allocations of one cycle. */
export const PolicyDecision = message("policy.decision", {
  allocations: Type.Array(PolicyAllocation),
});

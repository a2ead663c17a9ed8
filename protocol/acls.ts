/**
 * The master's ACL file (`agora master --acls FILE`), in the JSON format and
 * with the semantics of Mesos's local authorizer (authorization.md): for each
 * action a list of rules, each naming a subject entity (`principals`) and an
 * object entity; the first rule whose entities both match a request decides
 * it; when none matches, `permissive` (default true) decides.
 *
 * An entity is `{"values": [...]}` (matches those names), `{"type": "ANY"}`
 * (matches everything and allows) or `{"type": "NONE"}` (matches everything
 * and denies). A call without a principal (unauthenticated) is matched only
 * by an ANY or NONE `principals` entity, never by `values`.
 */
import { type Static, Type } from "@sinclair/typebox";

/** A set of principals, roles, users, ... as Mesos's `ACL.Entity`. */
export const AclEntity = Type.Union([
  Type.Object(
    { values: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 10_000 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Union([Type.Literal("ANY"), Type.Literal("NONE")]) },
    { additionalProperties: false },
  ),
]);
export type AclEntity = Static<typeof AclEntity>;

const rule = <K extends string>(object: K) =>
  Type.Array(
    Type.Object(
      { principals: AclEntity, ...({ [object]: AclEntity } as Record<K, typeof AclEntity>) },
      { additionalProperties: false },
    ),
    { maxItems: 10_000 },
  );

/**
 * Each action, its object and where the master checks it. The object names
 * are Mesos's where Mesos has the action.
 */
export const ACL_ACTIONS = {
  /** `scheduler.subscribe`: each of the framework's roles. */
  register_frameworks: "roles",
  /** `scheduler.accept`: the user each launched task runs as. */
  run_tasks: "users",
  /** `operator.teardown`: the principal of the framework torn down. */
  teardown_frameworks: "framework_principals",
  /** `operator.setWeights`: each role whose weight is set. */
  update_weights: "roles",
  /** `operator.getWeights`: each role whose weight is shown (others are left out). */
  view_weights: "roles",
  /** `operator.setPriorities`: each role whose priority is set (agora's own, like update_weights). */
  update_priorities: "roles",
  /** `operator.getPriorities`: each role whose priority is shown (others are left out). */
  view_priorities: "roles",
  /** `operator.setQuota`, `operator.removeQuota`: the role. */
  update_quotas: "roles",
  /** `operator.getQuota`: each role whose quota is shown (others are left out). */
  get_quotas: "roles",
  /** `operator.usePolicy`: the policy's name (agora's own action). */
  switch_policy: "policies",
  /** `operator.updatePreemption`: `on` or `off` (agora's own action). */
  update_preemption: "modes",
  /** draining agents (agora's own action, for the drain feature): the agent's id. */
  drain_agents: "agents",
} as const;
export type AclAction = keyof typeof ACL_ACTIONS;

/** The ACL file. */
export const AclsFile = Type.Object(
  {
    /** What a request no rule matches gets (Mesos default true). */
    permissive: Type.Optional(Type.Boolean()),
    register_frameworks: Type.Optional(rule("roles")),
    run_tasks: Type.Optional(rule("users")),
    teardown_frameworks: Type.Optional(rule("framework_principals")),
    update_weights: Type.Optional(rule("roles")),
    view_weights: Type.Optional(rule("roles")),
    update_priorities: Type.Optional(rule("roles")),
    view_priorities: Type.Optional(rule("roles")),
    update_quotas: Type.Optional(rule("roles")),
    get_quotas: Type.Optional(rule("roles")),
    switch_policy: Type.Optional(rule("policies")),
    update_preemption: Type.Optional(rule("modes")),
    drain_agents: Type.Optional(rule("agents")),
  },
  { additionalProperties: false },
);
export type AclsFile = Static<typeof AclsFile>;

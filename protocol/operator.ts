/**
 * Operator → master requests on `master.operator.<principal>`, and the state JSON of
 * DESIGN.md §7 (a stable contract).
 */
import { type Static, Type } from "@sinclair/typebox";
import { ResourceStatistics } from "./agents.ts";
import {
  Attributes,
  Id,
  message,
  ResourcesJson,
  Role,
  TaskStateSchemaRef,
  Text,
} from "./common.ts";
import { DrainInfo, InverseOfferStatus, MaintenanceWindow, Unavailability } from "./maintenance.ts";

const StateTask = Type.Object({
  id: Id,
  name: Text,
  state: TaskStateSchemaRef,
  agentId: Id,
  resources: ResourcesJson,
  role: Type.Optional(Role),
  executorId: Type.Optional(Id),
  /** The task's health from its latest status, when its health check reported one. */
  healthy: Type.Optional(Type.Boolean()),
  /** The latest resource statistics of the task's container (`agent.usage`), when reported. */
  statistics: Type.Optional(ResourceStatistics),
});

const StateAgent = Type.Object({
  id: Id,
  /** The agent principal that registered it: the token of its `agent.<principal>.<id>…` subjects. */
  principal: Type.Optional(Id),
  hostname: Text,
  resources: ResourcesJson,
  used: ResourcesJson,
  offered: ResourcesJson,
  /**
   * What is neither used nor offered: `resources` − `used` − `offered` (the
   * master always sends it; optional for answers of before it existed).
   */
  free: Type.Optional(ResourcesJson),
  attributes: Attributes,
  active: Type.Boolean(),
  /** `active`, `unreachable` or `removed`. */
  status: Type.String(),
  /** Deactivated (drained, or by `operator.deactivateAgent`): its resources are not offered (Mesos `deactivated`). */
  deactivated: Type.Optional(Type.Boolean()),
  /** Set while it is drained or draining (Mesos `drain_info`). */
  drain: Type.Optional(DrainInfo),
  /** When a maintenance window makes it unavailable. */
  unavailability: Type.Optional(Unavailability),
  /** Inverse offers about it, one per framework with tasks on it, and their answers. */
  inverseOffers: Type.Optional(
    Type.Array(
      Type.Object({
        inverseOfferId: Id,
        frameworkId: Id,
        status: Type.Union(Object.values(InverseOfferStatus).map((v) => Type.Literal(v))),
      }),
    ),
  ),
});

const StateFramework = Type.Object({
  id: Id,
  name: Text,
  roles: Type.Array(Role),
  active: Type.Boolean(),
  used: ResourcesJson,
  offered: ResourcesJson,
  /** max over resources of allocated ÷ cluster total. */
  dominantShare: Type.Number(),
  tasks: Type.Array(StateTask),
});

/** An outstanding offer (Mesos `/master/state` `offers`). */
const StateOffer = Type.Object({
  offerId: Id,
  frameworkId: Id,
  agentId: Id,
  role: Role,
  resources: ResourcesJson,
  /** Milliseconds since the epoch when it was made. */
  createdAt: Type.Number(),
});

/** A gang (`scheduler.requestGang`) the master keeps: waiting (holding or backing off) or offered. */
const StateGang = Type.Object({
  frameworkId: Id,
  gangId: Id,
  role: Role,
  members: Type.Integer({ minimum: 1 }),
  spread: Type.Boolean(),
  /** `HOLDING` (waits, holds what fits), `BACKING_OFF` (waits, holds nothing yet), `OFFERED`. */
  state: Type.Union([
    Type.Literal("HOLDING"),
    Type.Literal("BACKING_OFF"),
    Type.Literal("OFFERED"),
  ]),
  /** When it times out unless placed, ms since the epoch. */
  deadline: Type.Number(),
  /** What it holds, per agent id (offered to nobody). */
  held: Type.Record(Type.String(), ResourcesJson),
});

export const MasterState = Type.Object({
  masterId: Id,
  /** Whether the answering master leads (a standby answers on `master.instance.<id>` only). */
  leader: Type.Boolean(),
  /** Who leads, as the answering master knows it (absent when it knows of no leader). */
  leaderId: Type.Optional(Id),
  /** Masters present in the registry (leader and standbys), when there is leader election. */
  masters: Type.Optional(
    Type.Array(Type.Object({ id: Id, hostname: Text, leader: Type.Boolean() })),
  ),
  /**
   * Set while a new leader recovers from the registry: allocation is `paused`
   * until `reregistered` reaches the configured share of `expected` agents
   * (or the agent reregister timeout).
   */
  recovery: Type.Optional(
    Type.Object({
      paused: Type.Boolean(),
      expected: Type.Integer({ minimum: 0 }),
      reregistered: Type.Integer({ minimum: 0 }),
    }),
  ),
  /** Milliseconds since the epoch when the master started. */
  startTime: Type.Number(),
  policy: Type.String(),
  /** Whether preemption is on (absent: off). */
  preemption: Type.Optional(Type.Boolean()),
  total: ResourcesJson,
  agents: Type.Array(StateAgent),
  frameworks: Type.Array(StateFramework),
  /** The outstanding offers (absent from a standby's answer). */
  offers: Type.Optional(Type.Array(StateOffer)),
  /** The gangs the leader keeps (absent when there is none). */
  gangs: Type.Optional(Type.Array(StateGang)),
  /**
   * Every role with a framework, an allocation or a setting, and its ancestors:
   * `allocated` and `dominantShare` include the role's sub-roles.
   */
  roles: Type.Record(
    Type.String(),
    Type.Object({
      weight: Type.Number(),
      /** Set for the `priority` policy. */
      priority: Type.Optional(Type.Number()),
      /** The role's quota, when it has one. */
      quota: Type.Optional(
        Type.Object({
          guarantee: Type.Optional(ResourcesJson),
          limit: Type.Optional(ResourcesJson),
          borrowingLimit: Type.Optional(ResourcesJson),
          lendingLimit: Type.Optional(ResourcesJson),
        }),
      ),
      allocated: ResourcesJson,
      dominantShare: Type.Number(),
    }),
  ),
});
export type MasterState = Static<typeof MasterState>;

/** Ask for the master's state; the reply is `operator.state`. */
/** Bytes of state in one `operator.statePart` (half of NATS's default max_payload). */
export const STATE_PART_BYTES = 512 * 1024;
/** Most parts of one state: 512 MiB. */
export const MAX_STATE_PARTS = 1024;

export const OperatorGetState = message("operator.getState", {
  /**
   * The caller takes the answer in parts: a state larger than one message
   * (1 MiB) then comes as `operator.statePart` messages; without it such a
   * state is answered with a MESSAGE_TOO_LARGE error.
   */
  parts: Type.Optional(Type.Boolean()),
});

/**
 * One part of a large `operator.state` answer: the parts' `data`, in `index`
 * order, are the msgpack encoding of the whole `operator.state` message.
 */
export const OperatorStatePart = message("operator.statePart", {
  index: Type.Integer({ minimum: 0, maximum: MAX_STATE_PARTS - 1 }),
  count: Type.Integer({ minimum: 2, maximum: MAX_STATE_PARTS }),
  data: Type.Uint8Array({ minByteLength: 1, maxByteLength: STATE_PART_BYTES }),
});

/** The master's state. */
export const OperatorState = message("operator.state", { state: MasterState });

/** Role weights (Mesos `--weights`): role → weight > 0. A role not listed has weight 1. */
export const RoleWeights = Type.Record(Role, Type.Number({ exclusiveMinimum: 0 }), {
  additionalProperties: false,
});
export type RoleWeights = Static<typeof RoleWeights>;

/** A role's quota: `guarantee` is always allocatable to it, `limit` caps its allocation. */
export const RoleQuota = Type.Object({
  guarantee: Type.Optional(ResourcesJson),
  limit: Type.Optional(ResourcesJson),
  /** Kueue's: the most of siblings' lent guarantee the role may use beyond its own guarantee. */
  borrowingLimit: Type.Optional(ResourcesJson),
  /** Kueue's: how much of its unused guarantee the role lends to its siblings (default none). */
  lendingLimit: Type.Optional(ResourcesJson),
});
export type RoleQuota = Static<typeof RoleQuota>;

/** Sets the weights of the listed roles (others keep theirs); the reply is `ok`. */
export const OperatorSetWeights = message("operator.setWeights", { weights: RoleWeights });

/** Asks for the weights that are set; the reply is `operator.weights`. */
export const OperatorGetWeights = message("operator.getWeights", {});

/** The weights that are set (roles not listed have weight 1). */
export const OperatorWeights = message("operator.weights", { weights: RoleWeights });

/**
 * Role priorities of the `priority` policy (higher is offered first): role →
 * finite number. A role not listed inherits its nearest ancestor's, else 0.
 */
export const RolePriorities = Type.Record(Role, Type.Number(), { additionalProperties: false });
export type RolePriorities = Static<typeof RolePriorities>;

/**
 * Sets the priorities of the listed roles (others keep theirs); the reply is
 * `ok`. Stored in the registry like the weights, so a new leader keeps them.
 */
export const OperatorSetPriorities = message("operator.setPriorities", {
  priorities: RolePriorities,
});

/** Asks for the priorities that are set; the reply is `operator.priorities`. */
export const OperatorGetPriorities = message("operator.getPriorities", {});

/** The priorities that are set. */
export const OperatorPriorities = message("operator.priorities", { priorities: RolePriorities });

/**
 * Sets a role's quota; the reply is `ok`. A field left out is removed from the
 * role's quota; with neither field the quota is removed.
 */
export const OperatorSetQuota = message("operator.setQuota", {
  role: Role,
  guarantee: Type.Optional(ResourcesJson),
  limit: Type.Optional(ResourcesJson),
  borrowingLimit: Type.Optional(ResourcesJson),
  lendingLimit: Type.Optional(ResourcesJson),
});

/**
 * Switches preemption on or off while the master runs (`agora preemption
 * on|off`, the master's `--preemption` at start); stored in the registry. The
 * reply is `ok`.
 */
export const OperatorUpdatePreemption = message("operator.updatePreemption", {
  enabled: Type.Boolean(),
});

/** Removes a role's quota; the reply is `ok`. */
export const OperatorRemoveQuota = message("operator.removeQuota", { role: Role });

/** Asks for every role's quota; the reply is `operator.quota`. */
export const OperatorGetQuota = message("operator.getQuota", {});

/** Every role's quota. */
export const OperatorQuota = message("operator.quota", {
  quotas: Type.Record(Role, RoleQuota, { additionalProperties: false }),
});

/**
 * Switches the master's allocation policy: a built-in name (`drf`, ...) runs
 * inside the master, any other name is an `agora policy` actor on
 * `<p>.policy.<name>`. The reply is `ok`.
 */
export const OperatorUsePolicy = message("operator.usePolicy", { name: Id });

/**
 * Tears a framework down as the operator (Mesos's `TEARDOWN`): its tasks are
 * killed, its executors shut down, and it may not resubscribe. The reply is
 * `ok` once the registry holds it as removed; NOT_FOUND for an unknown framework.
 */
export const OperatorTeardown = message("operator.teardown", { frameworkId: Id });

/**
 * Operator resource operations on one agent (Mesos `RESERVE_RESOURCES`,
 * `UNRESERVE_RESOURCES`, `CREATE_VOLUMES`, `DESTROY_VOLUMES`): `resources`
 * are the dynamically reserved resources to make or give back
 * (`cpus(web,alice,k=v)`; an empty principal is the caller's), `volumes` the
 * persistent volumes (`disk(web,alice)[id:path]`). They must be free on the
 * agent (outstanding offers there are rescinded first). Stored in the
 * registry before the reply `ok`.
 */
export const OperatorReserveResources = message("operator.reserveResources", {
  agentId: Id,
  resources: ResourcesJson,
});
export const OperatorUnreserveResources = message("operator.unreserveResources", {
  agentId: Id,
  resources: ResourcesJson,
});
export const OperatorCreateVolumes = message("operator.createVolumes", {
  agentId: Id,
  volumes: ResourcesJson,
});
export const OperatorDestroyVolumes = message("operator.destroyVolumes", {
  agentId: Id,
  volumes: ResourcesJson,
});

/**
 * "Why not?": asks why a framework receives nothing (or less) for each of its
 * roles, or only `role`; the reply is `operator.explanation`. Unknown
 * framework (or a role it has not subscribed with): NOT_FOUND.
 */
export const OperatorExplain = message("operator.explain", {
  frameworkId: Id,
  role: Type.Optional(Role),
});

/** A framework or role ahead in the allocation order, with its dominant share (0..1). */
const ExplainAhead = Type.Object({ id: Type.String(), share: Type.Number() });

/** One reason (see protocol/README.md "operator.explain" for the kinds). */
const ExplainReason = Type.Object({
  kind: Type.Union([
    Type.Literal("inactive"),
    Type.Literal("suppressed"),
    Type.Literal("noAgents"),
    Type.Literal("reservedElsewhere"),
    Type.Literal("belowMinimum"),
    Type.Literal("quotaLimit"),
    Type.Literal("headroom"),
    Type.Literal("borrowing"),
    Type.Literal("filtered"),
    Type.Literal("outranked"),
    Type.Literal("wouldReceive"),
    Type.Literal("heldForGang"),
  ]),
  message: Type.String(),
  agents: Type.Optional(Type.Integer({ minimum: 0 })),
  until: Type.Optional(Type.Number()),
  limitRole: Type.Optional(Role),
  filters: Type.Optional(
    Type.Array(Type.Object({ agentId: Id, resources: Type.String(), expiresAt: Type.Number() })),
  ),
  frameworks: Type.Optional(Type.Array(ExplainAhead)),
  roles: Type.Optional(Type.Array(ExplainAhead)),
});

/** The explanation of one role of the framework. */
const ExplainRole = Type.Object({
  role: Role,
  /** The framework's dominant share in the role. */
  share: Type.Number(),
  /** Offers of the role the framework holds now (not declined, not accepted yet). */
  offersOutstanding: Type.Integer({ minimum: 0 }),
  reasons: Type.Array(ExplainReason),
});

/** Reply to `operator.explain`: at `timestamp` (ms since the epoch), with the policy in use. */
export const OperatorExplanation = message("operator.explanation", {
  frameworkId: Id,
  timestamp: Type.Number(),
  policy: Type.String(),
  roles: Type.Array(ExplainRole),
});

/**
 * Drains an agent (Mesos 1.9 `DRAIN_AGENT`): it is deactivated (no offers;
 * outstanding ones rescinded), its frameworks get inverse offers, and its
 * tasks are killed — at once, or at `deadlineSeconds` from now — each with its
 * kill grace period bounded by `maxGracePeriodSeconds`. It is DRAINED when no
 * task is left; with `markGone` it is then removed for good. The reply is `ok`.
 */
export const OperatorDrainAgent = message("operator.drainAgent", {
  agentId: Id,
  maxGracePeriodSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  markGone: Type.Optional(Type.Boolean()),
  deadlineSeconds: Type.Optional(Type.Number({ minimum: 0 })),
});

/** Stops offering an agent's resources, its tasks untouched (Mesos `DEACTIVATE_AGENT`); `ok`. */
export const OperatorDeactivateAgent = message("operator.deactivateAgent", { agentId: Id });

/**
 * Offers an agent's resources again and ends its drain (Mesos `REACTIVATE_AGENT`;
 * `agora undrain`); kills already sent stay sent. `ok`.
 */
export const OperatorReactivateAgent = message("operator.reactivateAgent", { agentId: Id });

/**
 * Replaces the maintenance schedule (Mesos `UPDATE_MAINTENANCE_SCHEDULE`): the
 * frameworks on the agents of each window get inverse offers; at a window's
 * start its agents are drained, at its end reactivated. `ok`.
 */
export const OperatorUpdateMaintenanceSchedule = message("operator.updateMaintenanceSchedule", {
  windows: Type.Array(MaintenanceWindow, { maxItems: 1000 }),
});

/** Asks for the maintenance schedule; the reply is `operator.maintenanceSchedule`. */
export const OperatorGetMaintenanceSchedule = message("operator.getMaintenanceSchedule", {});

/** The maintenance schedule. */
export const OperatorMaintenanceSchedule = message("operator.maintenanceSchedule", {
  windows: Type.Array(MaintenanceWindow),
});

/**
 * Scheduler → master calls, as Mesos's scheduler API `Call`.
 * `scheduler.subscribe` goes to `master.subscribe` (request); every other call
 * goes to `master.framework.<frameworkId>`, as a request (reply `ok` or
 * `error`) or a plain publish (errors come back as an `event.error`).
 */
import { type Static, Type } from "@sinclair/typebox";
import {
  ExecutorInfo,
  Filters,
  Id,
  message,
  ResourcesJson,
  Role,
  TaskGroupInfo,
  TaskInfo,
  Text,
} from "./common.ts";

/** A framework's description, as Mesos's `FrameworkInfo`. */
export const FrameworkInfo = Type.Object({
  /**
   * The framework's id. Set it to resubscribe (failover); a scheduler may also choose the id of
   * a new framework, so that it can listen on its event subject before subscribing.
   */
  frameworkId: Type.Optional(Id),
  name: Type.String({ minLength: 1, maxLength: 256 }),
  user: Type.Optional(Type.String({ maxLength: 256 })),
  /** Roles the framework receives offers for (default `["*"]`). */
  roles: Type.Optional(Type.Array(Role, { maxItems: 64 })),
  /** Seconds the master keeps a disconnected framework's tasks before removing it (default 0). */
  failoverTimeoutSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  hostname: Type.Optional(Type.String({ maxLength: 256 })),
  principal: Type.Optional(Type.String({ maxLength: 256 })),
  /** Priority within its roles for the `priority` allocation policy (higher first; default 0). */
  priority: Type.Optional(Type.Number()),
  /**
   * Mesos's framework capabilities the framework declares, e.g. `PARTITION_AWARE`
   * (it receives TASK_UNREACHABLE / TASK_GONE instead of TASK_LOST). Unknown names are kept and ignored.
   */
  capabilities: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32 }),
  ),
});
export type FrameworkInfo = Static<typeof FrameworkInfo>;

/** Mesos `FrameworkInfo.Capability` names agora acts on. */
export const FrameworkCapability = {
  /** TASK_UNREACHABLE / TASK_GONE instead of TASK_LOST. */
  PartitionAware: "PARTITION_AWARE",
  /** TASK_KILLING is reported while a task is being killed, before TASK_KILLED. */
  TaskKillingState: "TASK_KILLING_STATE",
} as const;
export type FrameworkCapability = (typeof FrameworkCapability)[keyof typeof FrameworkCapability];

/** The launch operation of an accept. */
export const LaunchOperation = Type.Object({
  type: Type.Literal("launch"),
  tasks: Type.Array(TaskInfo, { maxItems: 10_000 }),
});
export type LaunchOperation = Static<typeof LaunchOperation>;

/**
 * The launch-group operation of an accept (Mesos `LAUNCH_GROUP`): the tasks of
 * `taskGroup` start together, all or none, in the `DEFAULT` executor
 * `executor` on the offers' agent (the same executor id reuses a running one).
 * Each task has a `command` and no `executor`.
 */
export const LaunchGroupOperation = Type.Object({
  type: Type.Literal("launchGroup"),
  executor: ExecutorInfo,
  taskGroup: TaskGroupInfo,
});
export type LaunchGroupOperation = Static<typeof LaunchGroupOperation>;

/**
 * The resource operations of an accept (Mesos `RESERVE`, `UNRESERVE`,
 * `CREATE`, `DESTROY`), applied in order to what is left of the offers:
 * `reserve` names the dynamically reserved resources to make
 * (`cpus(web,alice,k=v)`), `unreserve` the ones to give back, `create` the
 * volumes to make of reserved disk (`disk(web,alice)[id:path]`), `destroy`
 * the volumes to remove. See protocol/operations.ts.
 */
export const ReserveOperation = Type.Object({
  type: Type.Literal("reserve"),
  resources: ResourcesJson,
});
export type ReserveOperation = Static<typeof ReserveOperation>;
export const UnreserveOperation = Type.Object({
  type: Type.Literal("unreserve"),
  resources: ResourcesJson,
});
export type UnreserveOperation = Static<typeof UnreserveOperation>;
export const CreateOperation = Type.Object({
  type: Type.Literal("create"),
  volumes: ResourcesJson,
});
export type CreateOperation = Static<typeof CreateOperation>;
export const DestroyOperation = Type.Object({
  type: Type.Literal("destroy"),
  volumes: ResourcesJson,
});
export type DestroyOperation = Static<typeof DestroyOperation>;

/** A resource operation of an accept. */
export type ResourceOfferOperation =
  | ReserveOperation
  | UnreserveOperation
  | CreateOperation
  | DestroyOperation;

/** An operation of an accept. */
const OfferOperation = Type.Union([
  LaunchOperation,
  LaunchGroupOperation,
  ReserveOperation,
  UnreserveOperation,
  CreateOperation,
  DestroyOperation,
]);
export type OfferOperation = Static<typeof OfferOperation>;

/** Subscribe (or resubscribe with `framework.frameworkId`); the reply is `event.subscribed`. */
export const SchedulerSubscribe = message("scheduler.subscribe", {
  framework: FrameworkInfo,
  /** Roles for which the framework starts suppressed. */
  suppressedRoles: Type.Optional(Type.Array(Role, { maxItems: 64 })),
});

/** Use offers: launch tasks on them; what is left is declined with `filters`. */
export const SchedulerAccept = message("scheduler.accept", {
  offerIds: Type.Array(Id, { minItems: 1, maxItems: 10_000 }),
  operations: Type.Array(OfferOperation, { maxItems: 64 }),
  filters: Type.Optional(Filters),
});

/** Decline offers; their resources are not offered again to this framework for `refuseSeconds`. */
export const SchedulerDecline = message("scheduler.decline", {
  offerIds: Type.Array(Id, { minItems: 1, maxItems: 10_000 }),
  filters: Type.Optional(Filters),
});

/** Accept inverse offers: the framework will move its tasks off those agents (Mesos `ACCEPT_INVERSE_OFFERS`). */
export const SchedulerAcceptInverseOffers = message("scheduler.acceptInverseOffers", {
  inverseOfferIds: Type.Array(Id, { minItems: 1, maxItems: 10_000 }),
});

/** Decline inverse offers: the framework will not move its tasks (Mesos `DECLINE_INVERSE_OFFERS`). */
export const SchedulerDeclineInverseOffers = message("scheduler.declineInverseOffers", {
  inverseOfferIds: Type.Array(Id, { minItems: 1, maxItems: 10_000 }),
});

/** Remove all decline filters and unsuppress the roles (all when `roles` is absent). */
export const SchedulerRevive = message("scheduler.revive", {
  roles: Type.Optional(Type.Array(Role, { maxItems: 64 })),
});

/** Stop receiving offers for the roles (all when `roles` is absent). */
export const SchedulerSuppress = message("scheduler.suppress", {
  roles: Type.Optional(Type.Array(Role, { maxItems: 64 })),
});

/** Kill a task. */
export const SchedulerKill = message("scheduler.kill", {
  taskId: Id,
  agentId: Type.Optional(Id),
  /** Overrides the task's kill grace period, in seconds (Mesos `Call.Kill.kill_policy`). */
  gracePeriodSeconds: Type.Optional(Type.Number({ minimum: 0 })),
});

/** Most demands one framework may have standing (`scheduler.request`). */
const MAX_DEMANDS = 64;

/**
 * Declares what the framework needs (Mesos's `REQUEST` call): each request is
 * unreserved scalar resources for one task, for `role` (default the
 * framework's first role), wanted on one agent. The list replaces the
 * framework's standing demands (an empty list withdraws them); a demand ends
 * when an offer that contains it is made. With preemption on, a demand that
 * free resources cannot serve may preempt tasks (see protocol/README.md).
 */
export const SchedulerRequest = message("scheduler.request", {
  requests: Type.Array(Type.Object({ role: Type.Optional(Role), resources: ResourcesJson }), {
    maxItems: MAX_DEMANDS,
  }),
});

/** Most members of one gang (`scheduler.requestGang`). */
const MAX_GANG_MEMBERS = 1000;
/** Longest a gang may hold resources before it times out, in seconds (`scheduler.requestGang`). */
const MAX_GANG_TIMEOUT_SECONDS = 3600;

/**
 * Declares a gang (agora's gang placement; Mesos has none): `members` tasks
 * that must all start or none, each of unreserved scalar resources, for
 * `role` (default the framework's first). The master holds free resources
 * for it (offered to nobody) until the whole set fits, then offers it all in
 * one `event.offers` carrying `gangId`; with `spread` no two members share an
 * agent. A gang that does not fit within `timeoutSeconds` releases what it
 * holds and ends with `event.gangTimedOut`; the framework's gangs then hold
 * nothing for the master's `--gang-backoff`. The same `gangId` replaces a
 * waiting gang. See protocol/README.md "Gang placement".
 */
export const SchedulerRequestGang = message("scheduler.requestGang", {
  gangId: Id,
  role: Type.Optional(Role),
  members: Type.Array(Type.Object({ resources: ResourcesJson }), {
    minItems: 1,
    maxItems: MAX_GANG_MEMBERS,
  }),
  /** One member per agent ("across several agents"); default false. */
  spread: Type.Optional(Type.Boolean()),
  timeoutSeconds: Type.Number({ exclusiveMinimum: 0, maximum: MAX_GANG_TIMEOUT_SECONDS }),
});

/** Withdraws a gang that waits: what it holds is released (no back-off). */
export const SchedulerWithdrawGang = message("scheduler.withdrawGang", {
  gangId: Id,
});

/**
 * Uses the offers of a gang (those of one `event.offers` with `gangId`), all
 * or none: each task names its agent (`agentId`) and must fit that agent's
 * offer of the gang; when every task is valid and fits, each agent's tasks
 * are launched as by `scheduler.accept` (`launch`), else none is: an invalid
 * task is TASK_ERROR, the others TASK_DROPPED, and the offers are declined.
 * What no task uses is declined with `filters`.
 */
export const SchedulerAcceptGang = message("scheduler.acceptGang", {
  gangId: Id,
  tasks: Type.Array(TaskInfo, { minItems: 1, maxItems: 10_000 }),
  filters: Type.Optional(Filters),
});

/** Acknowledge a status update (by its uuid). */
export const SchedulerAcknowledge = message("scheduler.acknowledge", {
  agentId: Id,
  taskId: Id,
  uuid: Type.String({ minLength: 1, maxLength: 64 }),
});

/** Ask for the latest state of tasks; an empty list asks for all (implicit reconciliation). */
export const SchedulerReconcile = message("scheduler.reconcile", {
  tasks: Type.Array(Type.Object({ taskId: Id, agentId: Type.Optional(Id) }), {
    maxItems: 100_000,
  }),
});

/** Send opaque data to one of the framework's executors. */
export const SchedulerMessage = message("scheduler.message", {
  agentId: Id,
  executorId: Id,
  data: Type.Uint8Array({ maxByteLength: 256 * 1024 }),
});

/** Liveness of the scheduler; a framework that stops sending them is disconnected. */
export const SchedulerHeartbeat = message("scheduler.heartbeat", {});

/** Remove the framework: its tasks are killed and its offers rescinded. */
export const SchedulerTeardown = message("scheduler.teardown", {
  reason: Type.Optional(Text),
});

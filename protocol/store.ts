/**
 * What the masters keep in JetStream KV: the leader lease, the masters'
 * presence, and the registry (Mesos's replicated log): admitted, unreachable
 * and gone agents, frameworks, weights, quota and the chosen policy. One
 * bucket per subject prefix; every value is plain MessagePack of one of the
 * records below, validated when read.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";
import { Packr, Unpackr } from "msgpackr";
import { Attributes, Id, ResourcesJson, Role, Text } from "./common.ts";
import { AgoraError, ErrorCode } from "./errors.ts";
import { FrameworkInfo } from "./frameworks.ts";
import { DrainInfo, MaintenanceWindow } from "./maintenance.ts";
import { RolePriorities, RoleQuota, RoleWeights } from "./operator.ts";

/** The KV bucket of a subject prefix: `agora` → `agora_registry` (dots become `_`). */
export function registryBucket(prefix: string): string {
  return `${prefix.replaceAll(".", "_")}_registry`;
}

/**
 * The JetStream stream of a subject prefix's cluster event history (captures
 * `<prefix>.v1.events.>`, or the configured kinds): `agora` → `agora_events`.
 */
export function eventStreamName(prefix: string): string {
  return `${prefix.replaceAll(".", "_")}_events`;
}

const PLAIN_KEY_TOKEN = /^[-_a-zA-Z0-9]+$/;

/**
 * One key token for an id: the id itself when it holds only `[-_a-zA-Z0-9]`,
 * else `=` followed by the base64url of its UTF-8 bytes (KV keys allow fewer
 * characters than subject tokens). The records carry the id itself.
 */
export function keyToken(id: string): string {
  if (PLAIN_KEY_TOKEN.test(id)) return id;
  return `=${Buffer.from(id, "utf8").toString("base64url")}`;
}

/** Every key of the registry bucket. */
export const StoreKeys = {
  /** The leader lease ({@link LeaderRecord}). */
  leader: "leader",
  /** A master's presence ({@link MasterRecord}). */
  master: (masterId: string) => `masters.${keyToken(masterId)}`,
  mastersAll: "masters.>",
  /** An agent the registry knows ({@link AgentRecord}). */
  agent: (agentId: string) => `agents.${keyToken(agentId)}`,
  agentsAll: "agents.>",
  /** A framework the registry knows ({@link FrameworkRecord}). */
  framework: (frameworkId: string) => `frameworks.${keyToken(frameworkId)}`,
  frameworksAll: "frameworks.>",
  /** Role weights ({@link WeightsRecord}). */
  weights: "weights",
  /** Role quotas ({@link QuotaRecord}). */
  quota: "quota",
  /** Role priorities of the `priority` policy ({@link PrioritiesRecord}). */
  priorities: "priorities",
  /** The chosen allocation policy ({@link PolicyRecord}). */
  policy: "policy",
  /** The maintenance schedule ({@link MaintenanceRecord}). */
  maintenance: "maintenance",
  /** Whether preemption is on ({@link PreemptionRecord}). */
  preemption: "preemption",
} as const;

/** `leader`: who leads, until when its lease is good. Taken and renewed by compare-and-swap. */
export const LeaderRecord = Type.Object({
  masterId: Id,
  hostname: Text,
  /** One more than the term of the lease it replaced (1 when there was none); renewals keep it. */
  term: Type.Integer({ minimum: 0 }),
  /** The lease: a standby takes over after seeing the same revision for this long. */
  leaseMs: Type.Integer({ minimum: 1 }),
  /** Milliseconds since the epoch of the last renewal (informative; expiry goes by revision). */
  renewedAt: Type.Number(),
});
export type LeaderRecord = Static<typeof LeaderRecord>;

/** `masters.<id>`: a running master, leader or standby, written about once a lease. */
export const MasterRecord = Type.Object({
  masterId: Id,
  hostname: Text,
  renewedAt: Type.Number(),
  leaseMs: Type.Integer({ minimum: 1 }),
});
export type MasterRecord = Static<typeof MasterRecord>;

/** The registry's view of an agent (Mesos: admitted, unreachable, gone). */
export const AgentRegistryState = {
  Admitted: "admitted",
  Unreachable: "unreachable",
  Gone: "gone",
} as const;
export type AgentRegistryState = (typeof AgentRegistryState)[keyof typeof AgentRegistryState];

/** `agents.<id>`. */
export const AgentRecord = Type.Object({
  id: Id,
  /** The agent principal that registered it; absent: `default` (a record of before issue 11). */
  principal: Type.Optional(Id),
  hostname: Text,
  resources: ResourcesJson,
  attributes: Attributes,
  state: Type.Union([
    Type.Literal(AgentRegistryState.Admitted),
    Type.Literal(AgentRegistryState.Unreachable),
    Type.Literal(AgentRegistryState.Gone),
  ]),
  /** When it was marked unreachable (ms since the epoch). */
  unreachableSince: Type.Optional(Type.Number()),
  /** When it was removed (ms since the epoch). */
  goneAt: Type.Optional(Type.Number()),
  /** Deactivated by the operator or a drain. */
  deactivated: Type.Optional(Type.Boolean()),
  /** Its drain, while it is draining or drained. */
  drain: Type.Optional(DrainInfo),
});
export type AgentRecord = Static<typeof AgentRecord>;

/** `frameworks.<id>`: a subscribed framework, or a removed one (it may not resubscribe). */
export const FrameworkRecord = Type.Object({
  id: Id,
  info: FrameworkInfo,
  failoverTimeoutMs: Type.Number({ minimum: 0 }),
  removed: Type.Boolean(),
  removedAt: Type.Optional(Type.Number()),
});
export type FrameworkRecord = Static<typeof FrameworkRecord>;

/** `weights`: every role weight that is set. */
export const WeightsRecord = Type.Object({ weights: RoleWeights });
export type WeightsRecord = Static<typeof WeightsRecord>;

/** `priorities`: every role priority that is set. */
export const PrioritiesRecord = Type.Object({ priorities: RolePriorities });
export type PrioritiesRecord = Static<typeof PrioritiesRecord>;

/** `quota`: every role quota that is set. */
export const QuotaRecord = Type.Object({ quotas: Type.Record(Role, RoleQuota) });
export type QuotaRecord = Static<typeof QuotaRecord>;

/** `policy`: the allocation policy chosen by `operator.usePolicy`. */
export const PolicyRecord = Type.Object({ name: Id });
export type PolicyRecord = Static<typeof PolicyRecord>;

/** `maintenance`: the maintenance schedule. */
export const MaintenanceRecord = Type.Object({ windows: Type.Array(MaintenanceWindow) });
export type MaintenanceRecord = Static<typeof MaintenanceRecord>;
/** `preemption`: set by `operator.updatePreemption`. */
export const PreemptionRecord = Type.Object({ enabled: Type.Boolean() });
export type PreemptionRecord = Static<typeof PreemptionRecord>;

/** Compiled checkers of the stored records. */
export const StoreChecks = {
  leader: TypeCompiler.Compile(LeaderRecord),
  master: TypeCompiler.Compile(MasterRecord),
  agent: TypeCompiler.Compile(AgentRecord),
  framework: TypeCompiler.Compile(FrameworkRecord),
  weights: TypeCompiler.Compile(WeightsRecord),
  priorities: TypeCompiler.Compile(PrioritiesRecord),
  quota: TypeCompiler.Compile(QuotaRecord),
  policy: TypeCompiler.Compile(PolicyRecord),
  maintenance: TypeCompiler.Compile(MaintenanceRecord),
  preemption: TypeCompiler.Compile(PreemptionRecord),
};

const packr = new Packr({
  useRecords: false,
  encodeUndefinedAsNil: true,
  variableMapSize: true,
  skipValues: [undefined],
} as ConstructorParameters<typeof Packr>[0]);
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });

/** Encodes a stored record (plain MessagePack, undefined fields left out). */
export function encodeRecord(record: object): Uint8Array {
  return packr.pack(record);
}

/**
 * Decodes and validates a stored record.
 * @throws AgoraError INVALID_MESSAGE when it is not MessagePack or does not match
 */
export function decodeRecord<T>(data: Uint8Array, check: TypeCheck<TSchema & { static: T }>): T {
  let value: unknown;
  try {
    value = unpackr.unpack(data);
  } catch (cause) {
    throw new AgoraError(ErrorCode.InvalidMessage, `stored value is not MessagePack`, { cause });
  }
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    throw new AgoraError(
      ErrorCode.InvalidMessage,
      `stored value is invalid: ${first?.path ?? ""} ${first?.message ?? ""}`.trim(),
    );
  }
  return value as T;
}

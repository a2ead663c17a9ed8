/**
 * Operator → master requests on `master.operator`, and the state JSON of
 * DESIGN.md §7 (a stable contract).
 */
import { type Static, Type } from "@sinclair/typebox";
import {
  Attributes,
  Id,
  message,
  ResourcesJson,
  Role,
  TaskStateSchemaRef,
  Text,
} from "./common.ts";

export const StateTask = Type.Object({
  id: Id,
  name: Text,
  state: TaskStateSchemaRef,
  agentId: Id,
  resources: ResourcesJson,
  role: Type.Optional(Role),
  executorId: Type.Optional(Id),
});

export const StateAgent = Type.Object({
  id: Id,
  hostname: Text,
  resources: ResourcesJson,
  used: ResourcesJson,
  offered: ResourcesJson,
  attributes: Attributes,
  active: Type.Boolean(),
  /** `active`, `unreachable` or `removed`. */
  status: Type.String(),
});

export const StateFramework = Type.Object({
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

export const MasterState = Type.Object({
  masterId: Id,
  leader: Type.Boolean(),
  /** Milliseconds since the epoch when the master started. */
  startTime: Type.Number(),
  policy: Type.String(),
  total: ResourcesJson,
  agents: Type.Array(StateAgent),
  frameworks: Type.Array(StateFramework),
  roles: Type.Record(
    Type.String(),
    Type.Object({
      weight: Type.Number(),
      allocated: ResourcesJson,
      dominantShare: Type.Number(),
    }),
  ),
});
export type MasterState = Static<typeof MasterState>;

/** Ask for the master's state; the reply is `operator.state`. */
export const OperatorGetState = message("operator.getState", {});

/** The master's state. */
export const OperatorState = message("operator.state", { state: MasterState });

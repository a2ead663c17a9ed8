/**
 * The master's records as the registry stores them (`protocol/store.ts`),
 * and the writes of changes nobody waits for (an agent marked unreachable or
 * removed, a framework removed): sent at once, a failure logged and counted.
 * Writes a reply depends on go through `storeRecord` + `afterWrite` in the
 * handler itself.
 */
import type { FrameworkInfo } from "../../protocol/frameworks.ts";
import {
  type AgentRecord,
  AgentRegistryState,
  type FrameworkRecord,
  StoreKeys,
} from "../../protocol/store.ts";
import type { AgentEntry, FrameworkEntry, MasterContext } from "./model.ts";
import { storeRecord } from "./registry.ts";

/** The registry record of an agent. */
export function agentRecord(
  agent: Pick<
    AgentEntry,
    "id" | "principal" | "hostname" | "total" | "attributes" | "unreachableSince"
  > &
    Partial<Pick<AgentEntry, "deactivated" | "drain">>,
  state: AgentRegistryState,
  now: number,
): AgentRecord {
  return {
    id: agent.id,
    principal: agent.principal,
    hostname: agent.hostname,
    resources: agent.total.toJSON(),
    attributes: agent.attributes,
    state,
    unreachableSince: state === AgentRegistryState.Unreachable ? agent.unreachableSince : undefined,
    goneAt: state === AgentRegistryState.Gone ? now : undefined,
    deactivated: agent.deactivated === true ? true : undefined,
    drain: agent.drain === undefined ? undefined : { ...agent.drain },
  };
}

/** The registry record of a framework. */
export function frameworkRecord(
  id: string,
  info: FrameworkInfo,
  failoverTimeoutMs: number,
  removedAt?: number,
): FrameworkRecord {
  return {
    id,
    info: { ...info, frameworkId: id },
    failoverTimeoutMs,
    removed: removedAt !== undefined,
    removedAt,
  };
}

/** Writes a record without waiting; a failure is logged and counted. */
export function persist(ctx: MasterContext, key: string, record: object): void {
  let pending: Promise<void> | undefined;
  try {
    pending = storeRecord(ctx.registry, key, record);
  } catch (err) {
    failed(ctx, key, err);
    return;
  }
  pending?.catch((err: unknown) => failed(ctx, key, err));
}

function failed(ctx: MasterContext, key: string, err: unknown): void {
  ctx.metrics.inc("registry_writes_failed");
  ctx.logger.error({ key, reason: (err as Error).message }, "registry write failed");
}

/** Stores the agent's registry state without waiting. */
export function persistAgent(
  ctx: MasterContext,
  agent: AgentEntry,
  state: AgentRegistryState,
): void {
  persist(ctx, StoreKeys.agent(agent.id), agentRecord(agent, state, ctx.clock.now()));
}

/** Stores a removed framework without waiting (it may never resubscribe). */
export function persistRemovedFramework(ctx: MasterContext, framework: FrameworkEntry): void {
  persist(
    ctx,
    StoreKeys.framework(framework.id),
    frameworkRecord(framework.id, framework.info, framework.failoverTimeoutMs, ctx.clock.now()),
  );
}

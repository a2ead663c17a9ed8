/**
 * The master's registry (Mesos's registrar over its replicated log): the
 * records that survive a master, written before the master acknowledges what
 * they hold. {@link Registry} is the storage; `registry-kv.ts` keeps it in
 * JetStream KV, {@link MemoryRegistry} in memory (unit tests, `--registry
 * memory`). {@link loadSnapshot} reads it back for a new leader, skipping
 * (and counting) entries that do not decode.
 */
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { MaintenanceWindow } from "../../protocol/maintenance.ts";
import type { RolePriorities, RoleQuota, RoleWeights } from "../../protocol/operator.ts";
import {
  type AgentRecord,
  decodeRecord,
  encodeRecord,
  type FrameworkRecord,
  StoreChecks,
  StoreKeys,
} from "../../protocol/store.ts";

/** Where the registry's records are kept. */
export interface Registry {
  /** `kv` or `memory`. */
  readonly kind: string;
  /**
   * Stores a value under a key. Resolves once it is stored (KV: once the
   * stream acknowledged it); the memory registry stores at once and returns
   * nothing. Puts are pipelined: several may be outstanding.
   */
  put(key: string, value: Uint8Array): Promise<void> | undefined;
  /** Every registry entry (not the lease or presence keys): what a new leader recovers. */
  entries(): Promise<Array<[string, Uint8Array]>>;
}

/** A registry in memory: nothing survives the process. */
export class MemoryRegistry implements Registry {
  readonly kind = "memory";
  readonly values = new Map<string, Uint8Array>();
  /** Makes the next puts fail (unit tests of write failures). */
  failing = false;

  put(key: string, value: Uint8Array): undefined {
    if (this.failing) throw new AgoraError(ErrorCode.Unavailable, "registry write failed");
    this.values.set(key, value);
    return undefined;
  }

  async entries(): Promise<Array<[string, Uint8Array]>> {
    return Array.from(this.values);
  }
}

/** What a new leader reads back. */
export interface RegistrySnapshot {
  agents: AgentRecord[];
  frameworks: FrameworkRecord[];
  weights: RoleWeights | undefined;
  priorities: RolePriorities | undefined;
  quotas: Record<string, RoleQuota> | undefined;
  policy: string | undefined;
  maintenance: MaintenanceWindow[] | undefined;
  /** Whether preemption was switched on or off by `operator.updatePreemption`. */
  preemption?: boolean | undefined;
  /** Entries that did not decode or validate (logged, counted, skipped). */
  invalid: number;
}

/** Decodes the registry's entries; a bad entry is logged, counted and skipped. */
export function parseSnapshot(
  entries: Iterable<[string, Uint8Array]>,
  logger: Logger,
  metrics: Metrics,
): RegistrySnapshot {
  const snapshot: RegistrySnapshot = {
    agents: [],
    frameworks: [],
    weights: undefined,
    priorities: undefined,
    quotas: undefined,
    policy: undefined,
    maintenance: undefined,
    invalid: 0,
  };
  for (const [key, value] of entries) {
    try {
      if (key.startsWith("agents.")) {
        snapshot.agents.push(decodeRecord(value, StoreChecks.agent));
      } else if (key.startsWith("frameworks.")) {
        snapshot.frameworks.push(decodeRecord(value, StoreChecks.framework));
      } else if (key === StoreKeys.weights) {
        snapshot.weights = decodeRecord(value, StoreChecks.weights).weights;
      } else if (key === StoreKeys.priorities) {
        snapshot.priorities = decodeRecord(value, StoreChecks.priorities).priorities;
      } else if (key === StoreKeys.quota) {
        snapshot.quotas = decodeRecord(value, StoreChecks.quota).quotas;
      } else if (key === StoreKeys.policy) {
        snapshot.policy = decodeRecord(value, StoreChecks.policy).name;
      } else if (key === StoreKeys.maintenance) {
        snapshot.maintenance = decodeRecord(value, StoreChecks.maintenance).windows;
      } else if (key === StoreKeys.preemption) {
        snapshot.preemption = decodeRecord(value, StoreChecks.preemption).enabled;
      }
    } catch (err) {
      snapshot.invalid++;
      metrics.inc("registry_entries_invalid");
      logger.warn({ key, reason: (err as Error).message }, "registry entry skipped");
    }
  }
  return snapshot;
}

/** Reads the whole registry. */
export async function loadSnapshot(
  registry: Registry,
  logger: Logger,
  metrics: Metrics,
): Promise<RegistrySnapshot> {
  return parseSnapshot(await registry.entries(), logger, metrics);
}

/**
 * Stores one record. A failure (sync or async) becomes a retryable
 * UNAVAILABLE error; `undefined` when it was stored at once.
 */
export function storeRecord(
  registry: Registry,
  key: string,
  record: object,
): Promise<void> | undefined {
  const value = encodeRecord(record);
  let pending: Promise<void> | undefined;
  try {
    pending = registry.put(key, value);
  } catch (err) {
    throw unavailable(err);
  }
  return pending?.catch((err: unknown) => {
    throw unavailable(err);
  });
}

function unavailable(err: unknown): AgoraError {
  if (err instanceof AgoraError && err.code === ErrorCode.Unavailable) return err;
  return new AgoraError(ErrorCode.Unavailable, `registry write failed: ${(err as Error).message}`, {
    cause: err,
  });
}

/** Runs `apply` once `write` is done (at once when it was synchronous). */
export function afterWrite<T>(write: Promise<void> | undefined, apply: () => T): T | Promise<T> {
  return write === undefined ? apply() : write.then(apply);
}

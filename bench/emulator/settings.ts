/**
 * The emulator's options, their defaults and their resolution, and the
 * connections it talks on.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { Clock } from "../../infra/clock.ts";
import { closeGracefully, connect } from "../../infra/connect.ts";
import {
  DEFAULT_REGISTRATION_BACKOFF_MAX_MS,
  DEFAULT_REGISTRATION_BACKOFF_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_STATUS_UPDATE_RETRY_MAX_MS,
  DEFAULT_STATUS_UPDATE_RETRY_MIN_MS,
} from "../../infra/defaults.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Attributes, ResourcesJson } from "../../protocol/common.ts";
import { Resources } from "../../protocol/resources.ts";
import { assertValidId, DEFAULT_PRINCIPAL, type Subjects } from "../../protocol/subjects.ts";
import type { EmulatorSettings } from "./model.ts";

/** Resources of each emulated agent when none are given. */
export const DEFAULT_EMULATED_RESOURCES = "cpus:4;mem:4096";
/** Registration requests in flight when not given. */
const DEFAULT_REGISTRATION_CONCURRENCY = 100;
/** Granularity of the emulator's timer wheels. */
const DEFAULT_EMULATOR_TICK_MS = 20;

/** Options of {@link startAgentEmulator}. */
export interface AgentEmulatorOptions {
  /** Connection(s) to use; the caller keeps ownership. Without it the emulator connects. */
  nc?: NatsConnection | readonly NatsConnection[];
  /** Server URL(s) to connect to when no `nc` is given. */
  servers?: string | string[];
  /** Connections to open when no `nc` is given. @default 1 */
  connections?: number;
  subjects: Subjects;
  /**
   * The agent principal the emulated agents register as (their connection's
   * credential must be that agent principal's). @default "default"
   */
  principal?: string;
  /** Number of agents. */
  count: number;
  /** Total resources of each agent, a Mesos resource string or JSON. @default "cpus:4;mem:4096" */
  resources?: string | ResourcesJson;
  /** Attributes of each agent, or a function of its index. @default {} */
  attributes?: Attributes | ((index: number) => Attributes);
  /** Heartbeat interval; by default the one the master gives in `agent.registered`. */
  heartbeatIntervalMs?: number;
  /**
   * `request` (as actors/agent: with a reply subject, the replies counted) or
   * `publish` (no reply wanted). @default "request"
   */
  heartbeatMode?: "request" | "publish";
  /** How long a task runs before TASK_FINISHED; 0 = right after TASK_RUNNING is acked. @default 0 */
  taskDurationMs?: number;
  /** Report TASK_STARTING before TASK_RUNNING. @default false */
  reportStarting?: boolean;
  /** Hostnames are `<prefix>-<index>`. @default "emu" */
  hostnamePrefix?: string;
  /** Registration requests in flight. @default 100 */
  registrationConcurrency?: number;
  /** Deadline of a register/reregister request. @default DEFAULT_REQUEST_TIMEOUT_MS */
  requestTimeoutMs?: number;
  /** First status update retry; doubles. @default DEFAULT_STATUS_UPDATE_RETRY_MIN_MS (10 s) */
  statusUpdateRetryMinMs?: number;
  /** Cap of the retry interval. @default DEFAULT_STATUS_UPDATE_RETRY_MAX_MS (10 min) */
  statusUpdateRetryMaxMs?: number;
  /** First registration retry; doubles. @default DEFAULT_REGISTRATION_BACKOFF_MS */
  registrationBackoffMs?: number;
  /** Reregistration requests in flight at most. @default registrationConcurrency */
  reregistrationConcurrency?: number;
  /** Reregistration requests started per tick at most. @default reregistrationConcurrency */
  reregistrationBatch?: number;
  /** A reregistration waits a uniform draw in [0, this) first. @default registrationBackoffMs */
  reregistrationDelayMs?: number;
  /** First reregistration retry; doubles. @default registrationBackoffMs */
  reregistrationBackoffMs?: number;
  /** Cap of the reregistration retry. @default DEFAULT_REGISTRATION_BACKOFF_MAX_MS (1 min) */
  reregistrationBackoffMaxMs?: number;
  /** Granularity of the timer wheels. @default 20 ms */
  tickMs?: number;
  /** @default systemClock */
  clock?: Clock;
  /** @default silentLogger() */
  logger?: Logger;
  /** Random numbers in [0, 1) for jitter. @default Math.random */
  random?: () => number;
}

/** Resolves the options, checking the count. */
export function settingsOf(options: AgentEmulatorOptions): EmulatorSettings {
  if (!Number.isInteger(options.count) || options.count < 0) {
    throw new RangeError(`count must be an integer >= 0, got ${options.count}`);
  }
  const resources = options.resources ?? DEFAULT_EMULATED_RESOURCES;
  const attributes = options.attributes ?? {};
  const registrationConcurrency = Math.max(
    1,
    options.registrationConcurrency ?? DEFAULT_REGISTRATION_CONCURRENCY,
  );
  const registrationBackoffMs = options.registrationBackoffMs ?? DEFAULT_REGISTRATION_BACKOFF_MS;
  const reregistrationConcurrency = Math.max(
    1,
    options.reregistrationConcurrency ?? registrationConcurrency,
  );
  return {
    count: options.count,
    principal: assertValidId(options.principal ?? DEFAULT_PRINCIPAL, "principal"),
    resources:
      typeof resources === "string"
        ? Resources.parse(resources).toJSON()
        : Resources.fromJSON(resources).toJSON(),
    attributes: typeof attributes === "function" ? attributes : () => attributes,
    hostnamePrefix: options.hostnamePrefix ?? "emu",
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    heartbeatMode: options.heartbeatMode ?? "request",
    taskDurationMs: options.taskDurationMs ?? 0,
    reportStarting: options.reportStarting ?? false,
    registrationConcurrency,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    registrationBackoffMs,
    registrationBackoffMaxMs: DEFAULT_REGISTRATION_BACKOFF_MAX_MS,
    reregistrationConcurrency,
    reregistrationBatch: Math.max(1, options.reregistrationBatch ?? reregistrationConcurrency),
    reregistrationDelayMs: Math.max(0, options.reregistrationDelayMs ?? registrationBackoffMs),
    reregistrationBackoffMs: Math.max(1, options.reregistrationBackoffMs ?? registrationBackoffMs),
    reregistrationBackoffMaxMs: Math.max(
      1,
      options.reregistrationBackoffMaxMs ?? DEFAULT_REGISTRATION_BACKOFF_MAX_MS,
    ),
    statusUpdateRetryMinMs: options.statusUpdateRetryMinMs ?? DEFAULT_STATUS_UPDATE_RETRY_MIN_MS,
    statusUpdateRetryMaxMs: options.statusUpdateRetryMaxMs ?? DEFAULT_STATUS_UPDATE_RETRY_MAX_MS,
    tickMs: options.tickMs ?? DEFAULT_EMULATOR_TICK_MS,
  };
}

/** The connections given, or new ones (then `owned`). */
export async function connections(
  options: AgentEmulatorOptions,
): Promise<{ ncs: NatsConnection[]; owned: boolean }> {
  if (options.nc !== undefined) {
    const ncs = Array.isArray(options.nc) ? [...options.nc] : [options.nc as NatsConnection];
    if (ncs.length === 0) throw new RangeError("nc must hold at least one connection");
    return { ncs, owned: false };
  }
  const n = Math.max(1, options.connections ?? 1);
  const ncs: NatsConnection[] = [];
  try {
    for (let i = 0; i < n; i++) {
      ncs.push(await connect({ servers: options.servers, name: `agent-emulator-${i}` }));
    }
  } catch (err) {
    await Promise.all(ncs.map((nc) => closeGracefully(nc)));
    throw err;
  }
  return { ncs, owned: true };
}

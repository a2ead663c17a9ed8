/**
 * What a bench phase is: a named measurement that gets the running
 * nats-server and the baseline, and returns figures for the table and
 * details for the JSON. New measurements are new phases (see ./index.ts).
 */
import type { NatsBaselineResult } from "../nats-baseline.ts";

/** The resolved options of `npm run bench`. */
export interface BenchOptions {
  quick: boolean;
  /** Emulated agents of the registration phase. */
  agents: number;
  /** Length of each baseline measurement, ms. */
  baselineDurationMs: number;
  baselinePeer: "child-process" | "in-process";
  /** How long agents heartbeat after registering while the master is watched, ms. */
  heartbeatWindowMs: number;
  registrationConcurrency: number;
  connections: number;
  masterLogLevel: string;
  /** Agent counts of the allocation phase. */
  allocationAgents: number[];
  /** Framework counts of the allocation phase. */
  allocationFrameworks: number[];
  /** Timed cycles per scenario. */
  allocationCycles: number;
  /** Time after which a scenario stops timing more cycles, ms. */
  allocationBudgetMs: number;
  /** Tasks of the peak run of the tasks phase (the half-of-peak run launches half as many). */
  tasks: number;
  /** Live tasks held for the master's memory per task. */
  memoryTasks: number;
  /** Emulated agents of the tasks phase. */
  taskAgents: number;
  /** Load frameworks of the tasks phase. */
  frameworks: number;
  /** Shape of the tasks phase's tasks. */
  taskShape: string;
  /** How long an emulated task runs, ms (0 = FINISHED right after RUNNING is acknowledged). */
  taskDurationMs: number;
  /** Tasks accepted and not yet RUNNING at most in the tasks phase; 0 = unlimited. */
  maxInFlight: number;
  /** How the load frameworks talk to the master. */
  transport: "driver" | "lite";
  /** `--allocation-interval` of the master processes, when set. */
  masterAllocationInterval: string | undefined;
  /** Real tasks of the processes phase. */
  processTasks: number;
  /** Resources of the real agent of the processes phase. */
  processAgentResources: string;
  /** Shape of the real tasks (with the agent's cpus it sets their concurrency). */
  processTaskShape: string;
  /** Emulated agents of the failover phase. */
  failoverAgents: number;
  /** Tasks held running through the failover. */
  failoverTasks: number;
  /** How long each failover mark is waited for, ms. */
  failoverTimeoutMs: number;
  /** Cap of the emulated agents' reregistration backoff in the failover phase, ms. */
  failoverBackoffMaxMs: number;
  /** Reregistration requests of the emulated agents in flight (and started per tick) at most. */
  failoverConcurrency: number;
  /** Running tasks of the real agent killed and restarted in the agent-restart phase. */
  restartTasks: number;
  /** Run the master of the tasks phase under `node --cpu-prof`. */
  profile: boolean;
}

/** What every phase gets. */
export interface BenchContext {
  /** URL of the bench's nats-server. */
  url: string;
  /** Its process id, for its CPU time. */
  natsPid: number | undefined;
  /** Its monitoring URL, for message counters (`/varz`). */
  natsMonitorUrl: string | undefined;
  options: BenchOptions;
  /** The baseline, once its phase ran (phases run in order). */
  baseline: BaselineSummary | undefined;
  /** Progress lines for the operator (stderr). */
  log(line: string): void;
}

/** One row of the table. */
export interface Figure {
  name: string;
  value: number | undefined;
  unit: string;
  /** The baseline figure this one is compared with. */
  baseline?: { name: string; value: number | undefined };
  /** value ÷ baseline value. */
  ratio?: number | undefined;
  /** The goal, as text (e.g. `≤ 2048`). */
  target?: string;
  /** Whether the value meets the target (absent when there is no target or no value). */
  pass?: boolean | undefined;
}

const OPERATORS = { "<": "<", "<=": "≤", ">": ">", ">=": "≥" } as const;

/** The `target` and `pass` of a figure whose value must be `op limit`. */
export function targetFigure(
  value: number | undefined,
  op: keyof typeof OPERATORS,
  limit: number,
): Pick<Figure, "target" | "pass"> {
  const target = `${OPERATORS[op]} ${limit.toLocaleString("en-US")}`;
  if (value === undefined || !Number.isFinite(value)) return { target, pass: undefined };
  const pass =
    op === "<"
      ? value < limit
      : op === "<="
        ? value <= limit
        : op === ">"
          ? value > limit
          : value >= limit;
  return { target, pass };
}

/** The outcome of a phase. */
export interface PhaseResult {
  status: "ok" | "skipped" | "failed";
  /** Why it was skipped or failed. */
  reason?: string;
  figures: Figure[];
  /** Everything else measured, for the JSON. */
  details: Record<string, unknown>;
}

/** A measurement of `npm run bench`. */
export interface BenchPhase {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<PhaseResult>;
}

/** A phase result that explains why nothing was measured. */
export function skipped(reason: string, details: Record<string, unknown> = {}): PhaseResult {
  return { status: "skipped", reason, figures: [], details };
}

/** The baseline of one payload. */
export interface PayloadBaseline extends NatsBaselineResult {
  name: string;
  description: string;
}

/** What later phases compare with. */
export interface BaselineSummary {
  payloads: PayloadBaseline[];
  /** The smallest payload's results: the reference for per-message figures. */
  reference: PayloadBaseline;
}

/**
 * What a bench phase is: a named measurement that gets the running
 * nats-server and the baseline, and returns figures for the table and
 * details for the JSON. New measurements are new phases (see ./index.ts).
 */
import type { BaselineSummary } from "./baseline.ts";

/** The resolved options of `npm run bench`. */
export interface BenchOptions {
  quick: boolean;
  agents: number;
  /** Length of each baseline measurement, ms. */
  baselineDurationMs: number;
  baselinePeer: "child-process" | "in-process";
  /** How long agents heartbeat after registering while the master is watched, ms. */
  heartbeatWindowMs: number;
  registrationConcurrency: number;
  connections: number;
  masterLogLevel: string;
}

/** What every phase gets. */
export interface BenchContext {
  /** URL of the bench's nats-server. */
  url: string;
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

/**
 * The phases of `npm run bench`, in the order they run. A new measurement is
 * a new {@link BenchPhase} added here.
 */
import { agentRestartPhase } from "./agent-restart.ts";
import { allocationPhase } from "./allocation.ts";
import { baselinePhase } from "./baseline.ts";
import { codecPhase } from "./codec.ts";
import { failoverPhase } from "./failover.ts";
import { processesPhase } from "./processes.ts";
import { registrationPhase } from "./registration.ts";
import { tasksPhase } from "./tasks.ts";
import type { BenchPhase } from "./types.ts";

/** Every phase, in order. */
export const PHASES: readonly BenchPhase[] = [
  baselinePhase,
  codecPhase,
  registrationPhase,
  allocationPhase,
  tasksPhase,
  processesPhase,
  failoverPhase,
  agentRestartPhase,
];

/** The names of every phase. */
export const PHASE_NAMES = PHASES.map((p) => p.name);

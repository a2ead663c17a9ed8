/**
 * The phases of `npm run bench`, in the order they run. A new measurement is
 * a new {@link BenchPhase} added here; the planned ones are listed with the
 * reason they do not run yet, so that the report shows what is missing.
 */
import { baselinePhase } from "./baseline.ts";
import { codecPhase } from "./codec.ts";
import { registrationPhase } from "./registration.ts";
import { type BenchPhase, skipped } from "./types.ts";

function planned(name: string, description: string): BenchPhase {
  return {
    name,
    description,
    run: async () => skipped(`not implemented yet: ${description}`),
  };
}

/** Every phase, in order. */
export const PHASES: readonly BenchPhase[] = [
  baselinePhase,
  codecPhase,
  registrationPhase,
  // Extension point: the master's allocation cycle time with N agents and F
  // frameworks (policy + offers), from the master's `allocation` cluster event.
  planned("allocation", "allocation cycle time with N agents and F frameworks"),
  // Extension point: a load framework (scheduler driver) accepting every offer
  // with many tasks against the emulator (taskDurationMs); tasks/s end to end
  // and launch → RUNNING → FINISHED latency, ratio to the baseline pub/sub.
  planned("tasks", "end-to-end tasks/s and latency with a load framework"),
  // Extension point: a few real `agora agent` processes running command
  // executors, against a raw child_process.spawn of the same command.
  planned("processes", "real agent + command executor processes vs raw spawn"),
];

/** The names of every phase. */
export const PHASE_NAMES = PHASES.map((p) => p.name);

/**
 * What the master keeps for preemption (`MasterContext.preemption`). A leaf
 * of the master's imports, so `model.ts` need not import `preemption.ts`.
 */
import type { Demand } from "../../policies/preempt.ts";

/** A round of preemption: its victims (by `frameworkId\u0000taskId`) are ending. */
export interface PreemptionRound {
  readonly demandId: string;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly victims: ReadonlyArray<{ frameworkId: string; taskId: string }>;
}

/** What the master keeps for preemption. */
export interface PreemptionState {
  enabled: boolean;
  /** Standing demands per framework, oldest first (kept whether preemption is on or not). */
  readonly demands: Map<string, Demand[]>;
  /** Rounds whose victims have not all ended. */
  readonly rounds: PreemptionRound[];
  /** Demands that preempted once: they never preempt again. */
  readonly spent: Set<string>;
  sequence: number;
}

export function createPreemptionState(enabled: boolean): PreemptionState {
  return { enabled, demands: new Map(), rounds: [], spent: new Set(), sequence: 0 };
}

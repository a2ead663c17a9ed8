/**
 * What an allocation ordering (a policy built on the engine) sees and decides:
 * the candidates of a cycle, the cycle's running view, and the two sorts.
 */
import type { Resources } from "../protocol/resources.ts";
import type { AllocationContext, FrameworkStanding } from "./types.ts";

/** A framework's standing while a cycle runs. */
export interface Candidate {
  readonly standing: FrameworkStanding;
  readonly suppressed: ReadonlySet<string>;
  /** Allocation per role, kept up to date as the cycle allocates. */
  readonly allocation: Map<string, Resources>;
  /** Allocations made to it (the tie-breaker), counting this cycle's. */
  allocations: number;
}

/** What an ordering may read: the context and the allocation so far. */
export interface CycleView {
  readonly context: AllocationContext;
  /** Dominant share of `r` in the cluster total. */
  share(r: Resources | undefined): number;
  /** What the frameworks of exactly `role` hold. */
  roleAllocation(role: string): Resources;
  /** What `role` and its sub-roles hold (`""` is the whole cluster). */
  subtreeAllocation(role: string): Resources;
  /** Allocations made to exactly `role`. */
  roleCount(role: string): number;
  /** Allocations made to `role` and its sub-roles. */
  subtreeCount(role: string): number;
  /** `share(roleAllocation(role))`, from the cycle's running numbers. */
  roleShare(role: string): number;
  /** `share(subtreeAllocation(role))`, from the cycle's running numbers. */
  subtreeShare(role: string): number;
  /** `share(candidate.allocation.get(role))`, from the cycle's running numbers. */
  frameworkShare(candidate: Candidate, role: string): number;
}

/**
 * What a policy decides: who comes first. Both sorts must be pure functions
 * of the view: the cycle asks again only after an allocation changed it.
 */
export interface Ordering {
  /** Orders the roles (those with frameworks that want offers); a permutation of `roles`. */
  sortRoles(view: CycleView, roles: readonly string[]): string[];
  /** Orders the frameworks of a role (active and not suppressed for it). */
  sortFrameworks(view: CycleView, role: string, candidates: readonly Candidate[]): Candidate[];
  /**
   * Optional: the order of {@link sortFrameworks} as a comparison (negative
   * when `a` comes first), a total order that depends only on the two
   * candidates' standing, shares and counts. With it, the cycle sorts each
   * role's frameworks once and then moves only the framework that received
   * an allocation, instead of sorting them for every agent.
   */
  compareFrameworks?(view: CycleView, role: string, a: Candidate, b: Candidate): number;
}

/**
 * The registry of built-in allocation policies, resolved by name.
 */
import { AgoraError, ErrorCode } from "../protocol/errors.ts";
import { drfPolicy } from "./drf.ts";
import { priorityPolicy } from "./priority.ts";
import type { AllocationPolicy } from "./types.ts";

const BUILT_INS: ReadonlyMap<string, AllocationPolicy> = new Map([
  [drfPolicy.name, drfPolicy],
  [priorityPolicy.name, priorityPolicy],
]);

/** Names of the built-in policies. */
export function policyNames(): string[] {
  return Array.from(BUILT_INS.keys());
}

/**
 * The built-in policy called `name`, or `name` itself when it is already a policy.
 * @throws AgoraError INVALID_CONFIG naming the known policies
 */
export function resolvePolicy(name: string | AllocationPolicy): AllocationPolicy {
  if (typeof name !== "string") return name;
  const policy = BUILT_INS.get(name);
  if (policy === undefined) {
    throw new AgoraError(
      ErrorCode.InvalidConfig,
      `unknown allocation policy ${JSON.stringify(name)} (known: ${policyNames().join(", ")})`,
    );
  }
  return policy;
}

export { isAllocatable } from "./allocatable.ts";
export { allocateDrf, drfPolicy } from "./drf.ts";
export { allocatePriority, priorityPolicy } from "./priority.ts";
export { dominantShare } from "./shares.ts";
export type {
  AgentSlot,
  Allocation,
  AllocationContext,
  AllocationDecision,
  AllocationPolicy,
  DeclineFilter,
  DeclineFilterIndex,
  FrameworkStanding,
  RoleQuotaStanding,
  RoleStanding,
} from "./types.ts";
export {
  filterIndexOf,
  filtersOnAgent,
  isFiltered,
  isFilteredFor,
  isSubrole,
  offerableTo,
  rolePriority,
  roleQuota,
  roleWeight,
} from "./types.ts";

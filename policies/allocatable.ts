/**
 * Which free resources are worth offering: Mesos's master flag
 * `--min_allocatable_resources` (default `cpus:0.01|mem:32`). An allocation
 * rule, not part of the resource model, so it lives with the policies.
 */

import type { Resources } from "../protocol/resources.ts";

/** `cpus:0.01` in thousandths. */
const MIN_ALLOCATABLE_CPUS_MILLI = 10;
/** `mem:32` in thousandths. */
const MIN_ALLOCATABLE_MEM_MILLI = 32_000;

/**
 * Whether `r` is worth offering, like Mesos's
 * `min_allocatable_resources=cpus:0.01|mem:32`: at least 0.01 cpus or at
 * least 32 MB of mem, over all roles.
 */
export function isAllocatable(r: Resources): boolean {
  return (
    r.scalarMilli("cpus") >= MIN_ALLOCATABLE_CPUS_MILLI ||
    r.scalarMilli("mem") >= MIN_ALLOCATABLE_MEM_MILLI
  );
}

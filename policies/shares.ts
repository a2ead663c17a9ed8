/**
 * Dominant shares (Ghodsi et al., "Dominant Resource Fairness", NSDI 2011):
 * the measure DRF orders frameworks and roles by, also reported by the master.
 */

import type { Resources } from "../protocol/resources.ts";

/**
 * The dominant share of `allocated` in `total`: the largest `allocated / total`
 * over the scalar names of `total` whose total is positive. Ranges are ignored.
 */
export function dominantShare(allocated: Resources, total: Resources): number {
  let share = 0;
  total.forEachScalar((name) => {
    const t = total.scalarMilli(name);
    if (t <= 0) return;
    const s = allocated.scalarMilli(name) / t;
    if (s > share) share = s;
  });
  return share;
}

/**
 * Scalar quantities for quota and headroom, as Mesos's `ResourceQuantities`:
 * a {@link Resources} value holding only unreserved scalars (names and
 * amounts, no roles, no ranges). Quota guarantees, limits, consumption and
 * headroom are all quantities; arithmetic stays exact (thousandths).
 */
import { Resources, UNRESERVED_ROLE } from "../protocol/resources.ts";

/** The scalars of `r` summed over all roles, as unreserved quantities (ranges dropped). */
function quantitiesOf(r: Resources): Resources {
  return r.quantities().flatten();
}

/** The unreserved scalar resources of `r` (what quota counts and headroom limits). */
export function unreservedScalars(r: Resources): Resources {
  return r.unreserved().quantities();
}

/** Everything of `r` that is not an unreserved scalar: reservations and ranges (e.g. ports). */
export function nonQuotaPart(r: Resources): Resources {
  return r.subtractSaturating(unreservedScalars(r));
}

/**
 * `quantities` chopped to `target` (Mesos's `shrinkResources` with
 * quantities): each scalar kept up to the target's amount of its name; a name
 * the target lacks is dropped.
 */
export function shrinkTo(quantities: Resources, target: Resources): Resources {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(quantities.toJSON())) {
    if (typeof value !== "number") continue;
    const cap = target.scalar(name);
    const kept = Math.min(value, cap);
    if (kept > 0) out[name] = kept;
  }
  return Resources.fromJSON(out);
}

/**
 * `quantities` chopped to a limit (Mesos's `shrinkResources` with
 * `ResourceLimits`): a name the limit lists is kept up to `limit − consumed`;
 * a name it does not list is unlimited.
 */
export function shrinkToLimit(
  quantities: Resources,
  limit: Resources,
  consumed: Resources,
): Resources {
  const limited = new Set(limit.names());
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(quantities.toJSON())) {
    if (typeof value !== "number") continue;
    if (!limited.has(name)) {
      out[name] = value;
      continue;
    }
    const room = limit.scalar(name) - consumed.scalar(name);
    const kept = Math.min(value, room);
    if (kept > 0) out[name] = kept;
  }
  return Resources.fromJSON(out);
}

/** Whether `r` has only unreserved scalars (what a quota may name). */
export function isQuantities(r: Resources): boolean {
  return r.roles().every((role) => role === UNRESERVED_ROLE) && quantitiesOf(r).equals(r);
}

/**
 * Mesos's `--reconfiguration_policy`: what a restarted agent may change of
 * the resources and attributes it registered with (kept in
 * `meta/agent.json`). `equal` allows no change; `additive` allows new
 * resource names, larger scalars, wider ranges and new attributes, never
 * less or a changed attribute. A refused change is one line for the
 * operator; the agent does not start.
 */
import type { Attributes, ResourcesJson } from "../../protocol/common.ts";

/** The policies, as Mesos names them. */
export const RECONFIGURATION_POLICIES = ["equal", "additive"] as const;
export type ReconfigurationPolicy = (typeof RECONFIGURATION_POLICIES)[number];

type Ranges = Array<[number, number]>;

const show = (v: unknown) => JSON.stringify(v);

function covers(outer: Ranges, inner: Ranges): boolean {
  return inner.every(([b, e]) => outer.some(([ob, oe]) => ob <= b && e <= oe));
}

function sameValue(a: number | Ranges, b: number | Ranges): boolean {
  return show(a) === show(b);
}

/**
 * Why the new resources and attributes are not allowed under `policy`, or
 * undefined when they are.
 */
export function reconfigurationError(
  policy: ReconfigurationPolicy,
  was: { resources: ResourcesJson; attributes: Attributes },
  now: { resources: ResourcesJson; attributes: Attributes },
): string | undefined {
  const problems: string[] = [];
  for (const [name, before] of Object.entries(was.resources)) {
    const after = now.resources[name];
    if (after === undefined) {
      problems.push(`${name} removed`);
    } else if (policy === "equal") {
      if (!sameValue(before, after)) problems.push(`${name} ${show(before)} → ${show(after)}`);
    } else if (typeof before === "number" && typeof after === "number") {
      if (after < before) problems.push(`${name} ${before} → ${after}`);
    } else if (Array.isArray(before) && Array.isArray(after)) {
      if (!covers(after, before)) problems.push(`${name} ${show(before)} → ${show(after)}`);
    } else {
      problems.push(`${name} changed kind`);
    }
  }
  if (policy === "equal") {
    for (const name of Object.keys(now.resources)) {
      if (!(name in was.resources)) problems.push(`${name} added`);
    }
  }
  for (const [name, before] of Object.entries(was.attributes)) {
    const after = now.attributes[name];
    if (after === undefined) problems.push(`attribute ${name} removed`);
    else if (after !== before) problems.push(`attribute ${name} ${show(before)} → ${show(after)}`);
  }
  if (policy === "equal") {
    for (const name of Object.keys(now.attributes)) {
      if (!(name in was.attributes)) problems.push(`attribute ${name} added`);
    }
  }
  if (problems.length === 0) return undefined;
  return `--reconfiguration-policy ${policy} refuses the changed agent info (${problems.join(", ")}); restore it, use --reconfiguration-policy additive for additions, or use a fresh --work-dir`;
}

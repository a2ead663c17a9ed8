/**
 * Which free resources are worth offering: Mesos's master flag
 * `--min_allocatable_resources` (default `cpus:0.01|mem:32`). An allocation
 * rule, not part of the resource model, so it lives with the policies.
 */

import { DEFAULT_MIN_ALLOCATABLE_RESOURCES } from "../infra/defaults.ts";
import { AgoraError, ErrorCode } from "../protocol/errors.ts";
import type { Resources } from "../protocol/resources.ts";

/**
 * Mesos's `min_allocatable_resources` as data: alternatives, one of which
 * resources must meet to be offered; each maps resource names to minimum
 * quantities, all of which it must meet. A scalar's quantity is its amount
 * over all roles (cpus, MB of mem), a ranges resource's the number of values
 * in its ranges (`ports: 1`, Mesos's rule). `cpus:0.01|mem:32` is
 * `[{cpus: 0.01}, {mem: 32}]`.
 */
export type MinAllocatable = readonly Readonly<Record<string, number>>[];

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const NUMBER_RE = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses the flag's text: sets separated by `|` (any one suffices), each of
 * `name:quantity` parts separated by `;` (all needed), e.g.
 * `disk:1|cpus:1;mem:32;ports:1`.
 * @throws AgoraError INVALID_CONFIG naming the offending part
 */
export function parseMinAllocatable(text: string): MinAllocatable {
  const fail = (why: string) =>
    new AgoraError(ErrorCode.InvalidConfig, `invalid min allocatable resources "${text}": ${why}`);
  const sets: Array<Record<string, number>> = [];
  for (const rawSet of text.split("|")) {
    const set: Record<string, number> = {};
    for (const rawPart of rawSet.split(";")) {
      const part = rawPart.trim();
      if (part === "") continue;
      const colon = part.indexOf(":");
      if (colon === -1) throw fail(`"${part}" is not name:quantity`);
      const name = part.slice(0, colon).trim();
      const value = part.slice(colon + 1).trim();
      if (!NAME_RE.test(name)) throw fail(`invalid resource name "${name}" (no role)`);
      const quantity = Number(value);
      if (!NUMBER_RE.test(value) || !Number.isFinite(quantity) || quantity <= 0) {
        throw fail(`the quantity of "${name}" must be a positive number, got "${value}"`);
      }
      if (Object.hasOwn(set, name)) throw fail(`"${name}" is given twice in one set`);
      set[name] = quantity;
    }
    if (Object.keys(set).length === 0) throw fail("a set of quantities is empty");
    sets.push(set);
  }
  return sets;
}

/** `min` for people: `cpus:0.01 or mem:32` (the default when absent). */
export function describeMinAllocatable(min?: MinAllocatable): string {
  return (min ?? DEFAULT_MIN_ALLOCATABLE)
    .map((set) =>
      Object.entries(set)
        .map(([name, quantity]) => `${name}:${quantity}`)
        .join(";"),
    )
    .join(" or ");
}

/** A quantity to meet: `name` at least `milli` thousandths (of a scalar, or of a count of range values). */
interface Requirement {
  readonly name: string;
  readonly milli: number;
  /** Whether `name` is a well-known scalar, so that its ranges need not be counted. */
  readonly scalar: boolean;
}

/** The well-known scalar resources (protocol/resources: cpus, mem, disk, gpus). */
const SCALARS: ReadonlySet<string> = new Set(["cpus", "mem", "disk", "gpus"]);

/** Whether `r` holds at least `q`: a scalar's amount or the count of range values. */
function meets(r: Resources, q: Requirement): boolean {
  const scalar = r.scalarMilli(q.name);
  if (scalar >= q.milli) return true;
  if (q.scalar || scalar > 0) return false;
  let count = 0;
  for (const [begin, end] of r.ranges(q.name)) count += end - begin + 1;
  return count * 1000 >= q.milli;
}

function compile(min: MinAllocatable): (r: Resources) => boolean {
  const sets: Requirement[][] = min.map((set) =>
    Object.entries(set).map(([name, quantity]) => ({
      name,
      milli: Math.round(quantity * 1000),
      scalar: SCALARS.has(name),
    })),
  );
  return (r) => {
    if (r.isEmpty()) return false;
    for (let i = 0; i < sets.length; i++) {
      const set = sets[i]!;
      let met = true;
      for (let j = 0; j < set.length; j++) {
        if (!meets(r, set[j]!)) {
          met = false;
          break;
        }
      }
      if (met) return true;
    }
    return false;
  };
}

const DEFAULT_MIN_ALLOCATABLE = parseMinAllocatable(DEFAULT_MIN_ALLOCATABLE_RESOURCES);
const DEFAULT_CHECK = compile(DEFAULT_MIN_ALLOCATABLE);
const checks = new WeakMap<MinAllocatable, (r: Resources) => boolean>();

/**
 * The check of `min` (Mesos's default `cpus:0.01|mem:32` when absent), built
 * once: for loops that test many resource sets against one setting.
 */
export function allocatableBy(min?: MinAllocatable): (r: Resources) => boolean {
  if (min === undefined) return DEFAULT_CHECK;
  let check = checks.get(min);
  if (check === undefined) {
    check = compile(min);
    checks.set(min, check);
  }
  return check;
}

/**
 * Whether `r` is worth offering: it meets one set of `min` (Mesos's
 * `min_allocatable_resources`, default `cpus:0.01|mem:32`: at least 0.01 cpus
 * or at least 32 MB of mem, over all roles). Empty resources never are.
 */
export function isAllocatable(r: Resources, min?: MinAllocatable): boolean {
  return allocatableBy(min)(r);
}

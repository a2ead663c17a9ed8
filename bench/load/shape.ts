/**
 * Task shapes of the load framework (`cpus:0.1;mem:32`) and how many tasks of
 * a shape an offer holds, in the milli-units the master counts in.
 */
import type { Offer, ResourcesJson } from "../../protocol/common.ts";
import { Resources } from "../../protocol/resources.ts";

/** A parsed task shape: scalar resources only. */
export interface TaskShape {
  /** As given, for the report. */
  readonly text: string;
  /** The TaskInfo resources of one task. */
  readonly json: ResourcesJson;
  /** Each scalar in milli-units. */
  readonly milli: ReadonlyArray<readonly [name: string, milli: number]>;
}

/**
 * Parses a Mesos resource string of unreserved scalars.
 * @throws RangeError when it holds ranges, reservations or nothing positive
 */
export function parseShape(text: string): TaskShape {
  const json = Resources.parse(text).toJSON();
  const milli: Array<[string, number]> = [];
  for (const [name, value] of Object.entries(json)) {
    if (typeof value !== "number" || name.includes("(")) {
      throw new RangeError(`task shape ${text}: only unreserved scalars are supported (${name})`);
    }
    const m = Math.round(value * 1000);
    if (m > 0) milli.push([name, m]);
  }
  if (milli.length === 0) throw new RangeError(`task shape ${text} holds no positive scalar`);
  return { text, json, milli };
}

/**
 * How many tasks of `shape` the offer's unreserved resources hold (the load
 * framework launches unreserved tasks only).
 */
export function tasksThatFit(shape: TaskShape, offer: Offer): number {
  let fit = Number.POSITIVE_INFINITY;
  for (const [name, need] of shape.milli) {
    const have = offer.resources[name];
    if (typeof have !== "number") return 0;
    fit = Math.min(fit, Math.floor(Math.round(have * 1000) / need));
    if (fit === 0) return 0;
  }
  return fit;
}

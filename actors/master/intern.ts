/**
 * Shared copies of values that many of the master's records hold equal:
 * agents' totals and attributes (a cluster has a few machine types), tasks'
 * resources (a framework launches many alike), version strings. A value is
 * looked up by its JSON text, so an equal value costs one small object per
 * distinct value instead of one per record, and an agent's or task's
 * resources are parsed and validated once per distinct value.
 *
 * Shared values are immutable: `Resources` are; attributes are frozen.
 * Each table is bounded: when full it starts over (values already shared
 * stay valid).
 */
import type { Attributes, ResourcesJson } from "../../protocol/common.ts";
import { Resources } from "../../protocol/resources.ts";

class Table<T> {
  readonly #values = new Map<string, T>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string, make: () => T): T {
    let value = this.#values.get(key);
    if (value === undefined) {
      value = make();
      if (this.#values.size >= this.#max) this.#values.clear();
      this.#values.set(key, value);
    }
    return value;
  }
}

const resources = new Table<Resources>(4096);
const jsons = new WeakMap<Resources, ResourcesJson>();
const differences = new WeakMap<Resources, WeakMap<Resources, Resources>>();
const attributes = new Table<Attributes>(4096);
const texts = new Table<string>(1024);

/** The shared copies. */
export const interned = {
  /**
   * `Resources.fromJSON(json)`, shared.
   * @throws AgoraError INVALID_RESOURCES like `Resources.fromJSON`
   */
  resources(json: ResourcesJson): Resources {
    return resources.get(JSON.stringify(json), () => Resources.fromJSON(json));
  },
  /**
   * `r.toJSON()`, frozen and kept with `r` (for the sets shared above, whose
   * JSON goes into every offer and task event).
   */
  json(r: Resources): ResourcesJson {
    let json = jsons.get(r);
    if (json === undefined) {
      json = r.toJSON();
      // deeply: the codec copies a frozen value's bytes once encoded (protocol/fast-pack.ts)
      for (const value of Object.values(json)) {
        if (typeof value !== "object") continue;
        for (const range of value) Object.freeze(range);
        Object.freeze(value);
      }
      Object.freeze(json);
      jsons.set(r, json);
    }
    return json;
  },
  /**
   * `a.subtractSaturating(b)`, kept with the pair: agents of one type running
   * tasks of one shape share their free resources (and what is derived from them).
   */
  difference(a: Resources, b: Resources): Resources {
    if (b.isEmpty()) return a;
    let byB = differences.get(a);
    if (byB === undefined) {
      byB = new WeakMap();
      differences.set(a, byB);
    }
    let d = byB.get(b);
    if (d === undefined) {
      d = a.subtractSaturating(b);
      byB.set(b, d);
    }
    return d;
  },
  /** Equal attributes, shared and frozen. */
  attributes(value: Attributes): Attributes {
    return attributes.get(JSON.stringify(value), () => Object.freeze({ ...value }));
  },
  /** A short string, shared (a version, a role). */
  text<T extends string | undefined>(value: T): T {
    return value === undefined ? value : (texts.get(value, () => value) as T);
  },
};

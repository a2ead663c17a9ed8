/**
 * The allocation context and decisions as plain data on the wire.
 *
 * Serialization follows the values generically: every {@link Resources}
 * becomes its JSON form, arrays and plain objects are walked, everything else
 * is copied. Deserialization is driven by the wire schema
 * (`protocol/policy.ts`): a node the schema marks as a resource set becomes a
 * `Resources` again. The type-level check at the end of this file makes the
 * compiler fail when `AllocationContext` (policies/types.ts) and the wire
 * schema stop matching, so a field added to one must be added to the other.
 */
import { KindGuard, type TSchema } from "@sinclair/typebox";
import {
  type AllocationContext,
  type AllocationDecision,
  filterIndexOf,
} from "../../policies/types.ts";
import type { ResourcesJson } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import {
  isResourcesSchema,
  type PolicyAllocationJson,
  PolicyContext,
} from "../../protocol/policy.ts";
import { Resources } from "../../protocol/resources.ts";

/** The wire form of a value: every `Resources` in it replaced by its JSON form. */
export type Wire<T> = T extends Resources
  ? ResourcesJson
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { -readonly [K in keyof T as K extends LocalOnly ? never : K]: Wire<T[K]> }
      : T;

/** Fields of the context that stay in the process: a framework's filter index. */
type LocalOnly = "filterIndex";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The wire form of a value: `Resources` → JSON form, arrays and plain
 * objects walked (undefined properties dropped), other values copied.
 */
function toWire<T>(value: T): Wire<T> {
  if (value instanceof Resources) return value.toJSON() as Wire<T>;
  if (Array.isArray(value)) return value.map((item) => toWire(item)) as Wire<T>;
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined && key !== "filterIndex") out[key] = toWire(item);
    }
    return out as Wire<T>;
  }
  return value as Wire<T>;
}

/**
 * Rebuilds the values of a wire form that `schema` marks as resource sets;
 * fields the schema does not describe are kept as they are.
 * @throws AgoraError INVALID_RESOURCES naming the path of a malformed resource set
 */
function fromWire(schema: TSchema, value: unknown, path = ""): unknown {
  if (isResourcesSchema(schema)) {
    try {
      return Resources.fromJSON(value);
    } catch (err) {
      throw new AgoraError(
        ErrorCode.InvalidResources,
        `${path || "/"}: ${AgoraError.from(err).message}`,
        { cause: err },
      );
    }
  }
  if (KindGuard.IsObject(schema)) {
    if (!isPlainObject(value)) return value;
    const out: Record<string, unknown> = { ...value };
    for (const [key, sub] of Object.entries(schema.properties)) {
      if (value[key] !== undefined) out[key] = fromWire(sub, value[key], `${path}/${key}`);
    }
    return out;
  }
  if (KindGuard.IsArray(schema)) {
    if (!Array.isArray(value)) return value;
    return value.map((item, i) => fromWire(schema.items, item, `${path}/${i}`));
  }
  if (KindGuard.IsRecord(schema)) {
    const sub = Object.values(schema.patternProperties)[0];
    if (!isPlainObject(value) || sub === undefined) return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = fromWire(sub, item, `${path}/${key}`);
    }
    return out;
  }
  return value;
}

/** The context as the `context` field of `policy.allocate`. */
export function contextToWire(context: AllocationContext): PolicyContext {
  return toWire(context);
}

/**
 * The context a policy actor received, with its resource sets rebuilt.
 * @throws AgoraError INVALID_RESOURCES for a malformed resource set
 */
export function contextFromWire(wire: PolicyContext): AllocationContext {
  const context = fromWire(PolicyContext, wire) as AllocationContext;
  return {
    ...context,
    frameworks: context.frameworks.map((f) => ({ ...f, filterIndex: filterIndexOf(f.filters) })),
  };
}

/**
 * The `allocations` field of `policy.decision` for a policy's decision.
 * @throws AgoraError INTERNAL when the policy returned something that is not a decision
 */
export function decisionToWire(decision: AllocationDecision): PolicyAllocationJson[] {
  const allocations = (decision as { allocations?: unknown } | undefined)?.allocations;
  if (!Array.isArray(allocations)) {
    throw new AgoraError(ErrorCode.Internal, "the policy returned no { allocations: [...] }");
  }
  return allocations.map((allocation: unknown, index) => {
    const a = allocation as Partial<Record<string, unknown>> | null | undefined;
    if (
      a === undefined ||
      a === null ||
      typeof a.frameworkId !== "string" ||
      typeof a.role !== "string" ||
      typeof a.agentId !== "string" ||
      !(a.resources instanceof Resources)
    ) {
      throw new AgoraError(
        ErrorCode.Internal,
        `the policy returned a malformed allocation ${index} (expected frameworkId, role, agentId and resources as Resources)`,
      );
    }
    return {
      frameworkId: a.frameworkId,
      role: a.role,
      agentId: a.agentId,
      resources: a.resources.toJSON(),
    };
  });
}

// ---------------------------------------------------------------------------
// Compile-time check: the wire schema describes exactly the fields of
// AllocationContext (with Resources as JSON). A mismatch is a type error here.

type Exact<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** Normalizes both sides: no readonly, optional fields without explicit `undefined`. */
type Plain<T> = T extends readonly (infer U)[]
  ? Plain<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: Plain<Exclude<T[K], undefined>> }
    : T;
type Assert<T extends true> = T;
/** @public A compile-time check: exported so that it is not an unused local. */
export type WireMatchesContext = Assert<
  Exact<Plain<Wire<AllocationContext>>, Plain<PolicyContext>>
>;

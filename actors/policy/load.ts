/**
 * Loads an allocation policy from a module file, for `agora policy serve`.
 * The module provides the policy as its default export or as a named export
 * `policy`, either as an object implementing {@link AllocationPolicy} or as a
 * factory (sync or async) that returns one. TypeScript modules load through
 * tsx like the rest of agora.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { AllocationPolicy } from "../../policies/types.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";

/** What a factory export receives. */
export interface PolicyFactoryOptions {
  /** The name the policy is served under. */
  name: string;
}

/** True when `value` looks like an {@link AllocationPolicy}. */
function isAllocationPolicy(value: unknown): value is AllocationPolicy {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { allocate?: unknown }).allocate === "function"
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object without allocate()" : `a ${typeof value}`;
}

/**
 * Imports a module file. A TypeScript file outside any `"type": "module"`
 * package (e.g. `/srv/policies/mine.ts`) is compiled by tsx as CommonJS, which
 * node's `import()` refuses ("Cannot require() ES Module … in a cycle"); such
 * a file is loaded again through tsx's own loader, and its CommonJS default
 * export unwrapped.
 */
async function importModule(file: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (cause) {
    if (!/\.[cm]?ts$/.test(file)) throw cause;
    const { tsImport } = await import("tsx/esm/api");
    const mod = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<
      string,
      unknown
    >;
    const inner = mod.default;
    return typeof inner === "object" &&
      inner !== null &&
      "default" in inner &&
      !("allocate" in inner)
      ? (inner as Record<string, unknown>)
      : mod;
  }
}

/**
 * Imports `modulePath` (relative to `cwd`) and returns the policy it provides.
 * @throws AgoraError INVALID_CONFIG naming the module when it cannot be loaded or provides no policy
 */
export async function loadPolicyModule(
  modulePath: string,
  options: PolicyFactoryOptions & { cwd?: string },
): Promise<AllocationPolicy> {
  const file = path.resolve(options.cwd ?? process.cwd(), modulePath);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(file);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    throw new AgoraError(
      ErrorCode.InvalidConfig,
      `--module: cannot load ${modulePath}: ${reason}`,
      {
        cause,
      },
    );
  }
  const candidates: Array<[string, unknown]> = [
    ["default", mod.default],
    ["policy", mod.policy],
  ];
  for (const [exportName, value] of candidates) {
    if (value === undefined) continue;
    if (isAllocationPolicy(value)) return value;
    if (typeof value === "function") {
      let made: unknown;
      try {
        made = await (value as (o: PolicyFactoryOptions) => unknown)({ name: options.name });
      } catch (cause) {
        const reason = cause instanceof Error ? cause.message : String(cause);
        throw new AgoraError(
          ErrorCode.InvalidConfig,
          `--module: the factory ${exportName} of ${modulePath} failed: ${reason}`,
          { cause },
        );
      }
      if (isAllocationPolicy(made)) return made;
      throw new AgoraError(
        ErrorCode.InvalidConfig,
        `--module: the factory ${exportName} of ${modulePath} returned ${describe(made)}, not a policy`,
      );
    }
    throw new AgoraError(
      ErrorCode.InvalidConfig,
      `--module: the export ${exportName} of ${modulePath} is ${describe(value)}, not a policy`,
    );
  }
  throw new AgoraError(
    ErrorCode.InvalidConfig,
    `--module: ${modulePath} exports no policy (expected a default or named \`policy\` export: an object with allocate(context), or a factory returning one)`,
  );
}

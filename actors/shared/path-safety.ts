/**
 * Ids and names that become path components on the agent (framework, executor
 * and task ids in the sandbox and checkpoint layout) never leave their
 * directory: at the agent boundary an id with `/`, `\`, NUL, or that is `.`,
 * `..` or empty is refused with a clear message, and every path built from
 * ids is resolved and checked to stay inside its root (defence in depth:
 * the segments are also percent-encoded).
 */
import path from "node:path";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";

/** Why `id` cannot be a path component, or undefined when it can. */
export function pathSegmentProblem(id: string): string | undefined {
  if (id === "") return "is empty";
  if (id.includes("\0")) return "holds a NUL";
  if (id.includes("/") || id.includes("\\")) return "holds a path separator ('/' or '\\')";
  if (id === "." || id === "..") return `is '${id}'`;
  if (path.isAbsolute(id)) return "is an absolute path";
  return undefined;
}

/** The first of the named ids that cannot be a path component, as a task's error message. */
export function unsafeIds(ids: Record<string, string | undefined>): string | undefined {
  for (const [what, id] of Object.entries(ids)) {
    if (id === undefined) continue;
    const problem = pathSegmentProblem(id);
    if (problem !== undefined) {
      return `${what} ${JSON.stringify(id)} ${problem}: it would name a path outside the sandbox`;
    }
  }
  return undefined;
}

/**
 * `root` joined with `segments`, resolved, checked to lie inside `root`.
 * @throws AgoraError INVALID_ID when the result would leave `root`
 */
export function within(root: string, ...segments: string[]): string {
  const base = path.resolve(root);
  const full = path.resolve(base, ...segments);
  const rel = path.relative(base, full);
  if (rel.startsWith("..") || path.isAbsolute(rel)) {
    throw new AgoraError(
      ErrorCode.InvalidId,
      `path ${JSON.stringify(segments.join("/"))} would leave ${base}`,
    );
  }
  return full;
}

/**
 * What a framework's capabilities (`FrameworkInfo.capabilities`) mean to the
 * master. A leaf, so `tasks.ts` and `frameworks.ts` need not import each other.
 */
import type { FrameworkEntry } from "./records.ts";

/** Whether the framework handles TASK_UNREACHABLE / TASK_GONE (Mesos `PARTITION_AWARE`). */
export function isPartitionAware(framework: FrameworkEntry): boolean {
  return framework.info.capabilities?.includes("PARTITION_AWARE") ?? false;
}

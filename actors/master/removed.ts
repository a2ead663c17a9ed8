/**
 * The ids of removed agents and frameworks the master remembers (so they may
 * not come back under the same id): bounded like Mesos's registry
 * (`--registry_max_agent_count`), the oldest forgotten first.
 */
import { MAX_REMEMBERED_REMOVED } from "../../infra/defaults.ts";

/** Adds `id` to a set of removed ids, forgetting the oldest beyond the bound. */
export function rememberRemoved(removed: Set<string>, id: string): void {
  removed.delete(id);
  removed.add(id);
  while (removed.size > MAX_REMEMBERED_REMOVED) {
    const oldest = removed.values().next().value;
    if (oldest === undefined) break;
    removed.delete(oldest);
  }
}

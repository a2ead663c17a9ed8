/**
 * A framework's decline filters (Mesos's `RefusedOfferFilter`s): the list
 * the allocation context shows, an index by agent that the context hands to
 * the policies with it (`FrameworkStanding.filterIndex`), and the earliest expiry, so that pruning
 * the expired ones costs nothing until one is due. Every change of
 * `framework.filters` goes through this file.
 */
import type { DeclineFilter } from "../../policies/types.ts";
import type { FrameworkEntry } from "./model.ts";

/** Replaces the framework's filters with `filters` and indexes them. */
function replace(framework: FrameworkEntry, filters: DeclineFilter[]): void {
  const index = new Map<string, DeclineFilter[]>();
  let expireAt = Number.POSITIVE_INFINITY;
  for (const filter of filters) {
    const list = index.get(filter.agentId);
    if (list === undefined) index.set(filter.agentId, [filter]);
    else list.push(filter);
    if (filter.expiresAt < expireAt) expireAt = filter.expiresAt;
  }
  framework.filters = filters;
  framework.filterIndex = index;
  framework.filtersExpireAt = expireAt;
}

/** Empty filter fields for a new framework record. */
export function noFilters(): Pick<FrameworkEntry, "filters" | "filterIndex" | "filtersExpireAt"> {
  const filters: DeclineFilter[] = [];
  const filterIndex = new Map<string, DeclineFilter[]>();
  return { filters, filterIndex, filtersExpireAt: Number.POSITIVE_INFINITY };
}

/** Adds a decline filter. */
export function addFilter(framework: FrameworkEntry, filter: DeclineFilter): void {
  framework.filters.push(filter);
  const list = framework.filterIndex.get(filter.agentId);
  if (list === undefined) framework.filterIndex.set(filter.agentId, [filter]);
  else list.push(filter);
  if (filter.expiresAt < framework.filtersExpireAt) framework.filtersExpireAt = filter.expiresAt;
}

/** Drops the filters expired at `now` (nothing to do before the earliest expiry). */
export function pruneFilters(framework: FrameworkEntry, now: number): void {
  if (framework.filters.length === 0 || now < framework.filtersExpireAt) return;
  replace(
    framework,
    framework.filters.filter((f) => f.expiresAt > now),
  );
}

/**
 * Drops the filters of `roles` (revive): with no roles named, all of them;
 * else those of the named roles and those of no role.
 */
export function clearFilters(
  framework: FrameworkEntry,
  roles: readonly string[] | undefined,
): void {
  if (framework.filters.length === 0) return;
  replace(
    framework,
    roles === undefined
      ? []
      : framework.filters.filter((f) => f.role !== undefined && !roles.includes(f.role)),
  );
}

/** Differences between the filters and their index; empty when they agree. */
export function checkFilters(framework: FrameworkEntry): string[] {
  let indexed = 0;
  const problems: string[] = [];
  const held = new Set(framework.filters);
  for (const [agentId, list] of framework.filterIndex) {
    indexed += list.length;
    for (const filter of list) {
      if (filter.agentId !== agentId || !held.has(filter)) {
        problems.push(`framework ${framework.id}: filter index holds a filter it should not`);
      }
    }
  }
  if (indexed !== framework.filters.length) {
    problems.push(
      `framework ${framework.id}: ${indexed} filters indexed, ${framework.filters.length} held`,
    );
  }
  for (const filter of framework.filters) {
    if (filter.expiresAt < framework.filtersExpireAt) {
      problems.push(`framework ${framework.id}: a filter expires before the earliest expiry`);
    }
  }
  return problems;
}

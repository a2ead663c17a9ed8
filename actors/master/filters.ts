/**
 * The frameworks' decline filters (Mesos's `RefusedOfferFilter`s): the list
 * the allocation context shows (`framework.filters`), and an index that the
 * context hands to the policies with it (`FrameworkStanding.filterIndex`).
 * Every change of `framework.filters` goes through this file.
 *
 * Cost. The index is one book per master, by agent: an allocation cycle asks
 * about the frameworks of one agent after another, so the checks for one
 * agent find all its filters together, in one small array (one large table
 * visited once per agent, not a table per framework visited for every
 * framework and agent; a check reads no filter object). Expiry is kept in a
 * heap per framework: pruning takes out the expired filters only (a filter
 * leaves the list by swapping in its last one, so the list's order is that of
 * insertion until a filter expires), never a scan of all of them.
 */
import type { DeclineFilter } from "../../policies/types.ts";
import { type FilterBook, FrameworkFilters } from "./filter-book.ts";
import type { FrameworkEntry } from "./model.ts";

/** Empty filter fields for a new framework record of the master whose book is `book`. */
export function noFilters(book: FilterBook): Pick<FrameworkEntry, "filters" | "filterIndex"> {
  const filterIndex = new FrameworkFilters(book);
  return { filters: filterIndex.list, filterIndex };
}

/** Adds a decline filter. */
export function addFilter(framework: FrameworkEntry, filter: DeclineFilter): void {
  framework.filterIndex.add(filter);
}

/** Drops the filters expired at `now` (nothing to do before the earliest expiry). */
export function pruneFilters(framework: FrameworkEntry, now: number): void {
  if (now < framework.filterIndex.expireAt) return;
  framework.filterIndex.prune(now);
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
  framework.filterIndex.retain(
    roles === undefined ? undefined : (f) => f.role !== undefined && !roles.includes(f.role),
  );
}

/** Differences between the filters and their index; empty when they agree. */
export function checkFilters(framework: FrameworkEntry): string[] {
  const problems = framework.filterIndex.check(framework.id);
  if (framework.filters !== framework.filterIndex.list) {
    problems.push(`framework ${framework.id}: its filter list is not the index's`);
  }
  return problems;
}

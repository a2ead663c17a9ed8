/**
 * The book behind `filters.ts`: one master's decline filters by agent, and
 * each framework's part of it with its list and expiry heap. A leaf of the
 * master's import graph (the records hold a {@link FrameworkFilters}).
 */
import type { DeclineFilter, DeclineFilterIndex } from "../../policies/types.ts";
import type { Resources } from "../../protocol/resources.ts";

/** Above this many filters on an agent, its slots are indexed by framework too. */
const OWNER_SCAN_MAX = 16;

/**
 * The filters of every framework on one agent. A slot per filter holds its
 * framework, role and resources side by side in one array (stride 3), and the
 * earliest expiry is kept: a check reads a few adjacent pointers and no filter
 * object while none has expired (the allocator prunes before every cycle).
 * Slots are in no particular order.
 */
class AgentFilters {
  /** `[owner, role, resources]` per slot. */
  readonly slots: unknown[] = [];
  /** The filter of each slot. */
  readonly filters: DeclineFilter[] = [];
  /** The earliest `expiresAt` of the filters here. */
  expireAt = Number.POSITIVE_INFINITY;
  /** The slots of each framework, once the agent has many filters. */
  byOwner: Map<FrameworkFilters, number[]> | undefined;

  add(owner: FrameworkFilters, filter: DeclineFilter): void {
    const slot = this.filters.length;
    this.slots.push(owner, filter.role, filter.resources);
    this.filters.push(filter);
    if (filter.expiresAt < this.expireAt) this.expireAt = filter.expiresAt;
    if (this.byOwner !== undefined) this.#index(owner, slot);
    else if (this.filters.length > OWNER_SCAN_MAX) {
      this.byOwner = new Map();
      for (let j = 0; j < this.filters.length; j++) this.#index(this.ownerOf(j), j);
    }
  }

  ownerOf(slot: number): FrameworkFilters {
    return this.slots[3 * slot] as FrameworkFilters;
  }

  /** Takes `filter` of `owner` out; false when it was not here. */
  remove(owner: FrameworkFilters, filter: DeclineFilter): boolean {
    const slot = this.filters.indexOf(filter);
    if (slot === -1) return false;
    const last = this.filters.length - 1;
    const slots = this.byOwner?.get(owner);
    if (slots !== undefined) {
      slots.splice(slots.indexOf(slot), 1);
      if (slots.length === 0) this.byOwner!.delete(owner);
    }
    if (slot !== last) {
      const moved = this.ownerOf(last);
      for (let k = 0; k < 3; k++) this.slots[3 * slot + k] = this.slots[3 * last + k];
      this.filters[slot] = this.filters[last]!;
      const movedSlots = this.byOwner?.get(moved);
      if (movedSlots !== undefined) movedSlots[movedSlots.indexOf(last)] = slot;
    }
    this.slots.length = 3 * last;
    this.filters.pop();
    if (filter.expiresAt <= this.expireAt) {
      this.expireAt = Number.POSITIVE_INFINITY;
      for (const f of this.filters) if (f.expiresAt < this.expireAt) this.expireAt = f.expiresAt;
    }
    return true;
  }

  /** The filters of `owner` here (a new list), or undefined. */
  of(owner: FrameworkFilters): DeclineFilter[] | undefined {
    const out: DeclineFilter[] = [];
    for (let j = 0; j < this.filters.length; j++) {
      if (this.ownerOf(j) === owner) out.push(this.filters[j]!);
    }
    return out.length > 0 ? out : undefined;
  }

  /** {@link isFiltered} of the filters of `owner` here. */
  keeps(owner: FrameworkFilters, resources: Resources, now: number, role?: string): boolean {
    const slots = this.byOwner?.get(owner);
    if (slots !== undefined) {
      for (const j of slots) if (this.#slotKeeps(j, resources, now, role)) return true;
      return false;
    }
    if (this.byOwner !== undefined) return false;
    const all = this.slots;
    for (let k = 0; k < all.length; k += 3) {
      if (all[k] === owner && this.#slotKeeps(k / 3, resources, now, role)) return true;
    }
    return false;
  }

  #slotKeeps(j: number, resources: Resources, now: number, role: string | undefined): boolean {
    const r = this.slots[3 * j + 1] as string | undefined;
    return (
      (role === undefined || r === undefined || r === role) &&
      (now < this.expireAt || this.filters[j]!.expiresAt > now) &&
      (this.slots[3 * j + 2] as Resources).contains(resources)
    );
  }

  #index(owner: FrameworkFilters, slot: number): void {
    const slots = this.byOwner!.get(owner);
    if (slots === undefined) this.byOwner!.set(owner, [slot]);
    else slots.push(slot);
  }
}

/**
 * One master's filters by agent id. The last agent looked up is kept at
 * hand: a cycle asks about one agent for framework after framework.
 */
export class FilterBook {
  readonly #byAgent = new Map<string, AgentFilters>();
  #lastId: string | undefined;
  #last: AgentFilters | undefined;

  get(agentId: string): AgentFilters | undefined {
    if (agentId !== this.#lastId) {
      this.#lastId = agentId;
      this.#last = this.#byAgent.get(agentId);
    }
    return this.#last;
  }

  /** The agent's filters, made when it has none. */
  of(agentId: string): AgentFilters {
    let onAgent = this.get(agentId);
    if (onAgent === undefined) {
      onAgent = new AgentFilters();
      this.#byAgent.set(agentId, onAgent);
      this.#last = onAgent;
    }
    return onAgent;
  }

  delete(agentId: string): void {
    this.#byAgent.delete(agentId);
    if (agentId === this.#lastId) this.#last = undefined;
  }

  entries(): IterableIterator<[string, AgentFilters]> {
    return this.#byAgent.entries();
  }
}

/** One framework's filters: its list, its part of the book, and a heap by expiry. */
export class FrameworkFilters implements DeclineFilterIndex {
  readonly #book: FilterBook;
  /** The framework's filters (the same array as `framework.filters`). */
  readonly list: DeclineFilter[] = [];
  /** Each filter's position in {@link list}. */
  readonly #position = new Map<DeclineFilter, number>();
  /** A binary min-heap of the filters by `expiresAt`. */
  readonly #heap: DeclineFilter[] = [];

  constructor(book: FilterBook) {
    this.#book = book;
  }

  /** The framework's filters on `agentId`, or undefined. */
  get(agentId: string): readonly DeclineFilter[] | undefined {
    return this.#book.get(agentId)?.of(this);
  }

  /** Whether its filters on `agentId` keep `resources` from `role` at `now` (`isFiltered`). */
  isFiltered(agentId: string, resources: Resources, now: number, role?: string): boolean {
    const onAgent = this.#book.get(agentId);
    return onAgent?.keeps(this, resources, now, role) === true;
  }

  /** When the first filter expires (Infinity when there is none). */
  get expireAt(): number {
    return this.#heap[0]?.expiresAt ?? Number.POSITIVE_INFINITY;
  }

  add(filter: DeclineFilter): void {
    this.#position.set(filter, this.list.length);
    this.list.push(filter);
    this.#book.of(filter.agentId).add(this, filter);
    this.#push(filter);
  }

  /** Takes out the filters expired at `now` (those with `expiresAt <= now`). */
  prune(now: number): void {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.expiresAt <= now) this.#unlist(this.#pop());
  }

  /** Keeps only the filters `keep` says to (all gone without it). */
  retain(keep?: (filter: DeclineFilter) => boolean): void {
    const kept = keep === undefined ? [] : this.list.filter(keep);
    for (const filter of this.list.slice()) this.#unlist(filter);
    this.#heap.length = 0;
    for (const filter of kept) this.add(filter);
  }

  /** Differences between the list, the book and the heap; empty when they agree. */
  check(frameworkId: string): string[] {
    const problems: string[] = [];
    let indexed = 0;
    for (const [agentId, onAgent] of this.#book.entries()) {
      if (onAgent.filters.length === 0) problems.push(`filter book: agent ${agentId} kept empty`);
      onAgent.filters.forEach((filter, j) => {
        const owner = onAgent.ownerOf(j);
        if (owner !== this) return;
        indexed += 1;
        if (
          filter.agentId !== agentId ||
          !this.#position.has(filter) ||
          onAgent.slots[3 * j + 1] !== filter.role ||
          onAgent.slots[3 * j + 2] !== filter.resources ||
          filter.expiresAt < onAgent.expireAt
        ) {
          problems.push(`framework ${frameworkId}: filter index holds a filter it should not`);
        }
        if (onAgent.byOwner !== undefined && !onAgent.byOwner.get(owner)?.includes(j)) {
          problems.push(`framework ${frameworkId}: a filter on ${agentId} is not in its slots`);
        }
      });
    }
    if (indexed !== this.list.length) {
      problems.push(
        `framework ${frameworkId}: ${indexed} filters indexed, ${this.list.length} held`,
      );
    }
    if (this.#heap.length !== this.list.length) {
      problems.push(`framework ${frameworkId}: ${this.#heap.length} filters in the expiry heap`);
    }
    this.list.forEach((filter, i) => {
      if (this.#position.get(filter) !== i) {
        problems.push(`framework ${frameworkId}: a filter's position is wrong`);
      }
      if (filter.expiresAt < this.expireAt) {
        problems.push(`framework ${frameworkId}: a filter expires before the earliest expiry`);
      }
    });
    return problems;
  }

  /** Takes `filter` out of the list and the book (not the heap). */
  #unlist(filter: DeclineFilter): void {
    const at = this.#position.get(filter);
    if (at === undefined) return;
    this.#position.delete(filter);
    const last = this.list.pop()!;
    if (last !== filter) {
      this.list[at] = last;
      this.#position.set(last, at);
    }
    const onAgent = this.#book.get(filter.agentId);
    if (onAgent?.remove(this, filter) && onAgent.filters.length === 0) {
      this.#book.delete(filter.agentId);
    }
  }

  #push(filter: DeclineFilter): void {
    const heap = this.#heap;
    let i = heap.length;
    heap.push(filter);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.expiresAt <= filter.expiresAt) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = filter;
  }

  #pop(): DeclineFilter {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const child = r < n && heap[r]!.expiresAt < heap[l]!.expiresAt ? r : l;
        if (heap[child]!.expiresAt >= last.expiresAt) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

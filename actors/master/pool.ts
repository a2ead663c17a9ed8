/**
 * The allocation pool: what an allocation cycle needs, kept up to date as
 * agents come and go and as offers and tasks change their free resources,
 * so that a cycle never visits every agent (Mesos's allocator keeps its
 * totals and its set of allocatable agents incrementally too):
 *
 * - the cluster total (of the active agents), a {@link ResourceSum};
 * - the candidates: active agents whose free resources are allocatable
 *   (`cpus:0.01` or `mem:32`), with their free resources. A change of an
 *   agent's `offered`, `used`, `total` or status only marks it dirty (O(1));
 *   the next cycle re-examines the dirty agents, not the others;
 * - the agents that registered but have not been heard from since (not yet
 *   eligible for offers until one allocation interval has passed).
 *
 * Every change of an agent's status, total, contact, `offered` or `used`
 * must be reported here: `sync` for the first three (the ledger and
 * `agents.ts` do it), `touch` for the others (the ledger does it).
 */
import { AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import { Resources } from "../../protocol/resources.ts";
import { interned } from "./intern.ts";
import type { AgentEntry } from "./records.ts";
import { ResourceSum } from "./sums.ts";

/**
 * What the agent holds that is neither offered nor used: (total − used) −
 * offered, which equals total − offered − used (per name and role, saturating
 * subtractions commute), computed once per distinct (total, used) and offer.
 */
export function freeOf(agent: AgentEntry): Resources {
  return interned.difference(interned.difference(agent.total, agent.used), agent.offered);
}

/** The agents' standing for allocation, kept incrementally. */
export class AgentPool {
  readonly #total = new ResourceSum();
  /** Agents by ordinal (registration order); removed agents leave a hole. */
  readonly #byOrdinal: Array<AgentEntry | undefined> = [];
  /** The candidates, in no order; each knows its position (removal swaps the last in: no hashing). */
  readonly #candidates: AgentEntry[] = [];
  #dirty: AgentEntry[] = [];
  /** Active agents not heard from since they (re)registered. */
  readonly #waiting = new Set<AgentEntry>();
  #active = 0;
  /** Whether what is left on an agent is worth offering (Mesos's `min_allocatable_resources`). */
  readonly #allocatable: (r: Resources) => boolean;

  /** `allocatable`: the check of `--min-allocatable-resources` (`allocatableBy`). */
  constructor(allocatable: (r: Resources) => boolean) {
    this.#allocatable = allocatable;
  }

  /** The ordinal of the next agent record. */
  nextOrdinal(): number {
    return this.#byOrdinal.length;
  }

  /** A new agent record (already in `ctx.agents`). */
  add(agent: AgentEntry): void {
    this.#byOrdinal[agent.ordinal] = agent;
    this.sync(agent);
  }

  /** An agent record left `ctx.agents` for good. */
  delete(agent: AgentEntry): void {
    if (this.#byOrdinal[agent.ordinal] === agent) this.#byOrdinal[agent.ordinal] = undefined;
    this.sync(agent);
  }

  /** Whether the record is the pool's (and `ctx.agents`'s) agent of its id. */
  holds(agent: AgentEntry): boolean {
    return this.#byOrdinal[agent.ordinal] === agent;
  }

  /** The agent's status, total or contact changed. */
  sync(agent: AgentEntry): void {
    const member = this.#byOrdinal[agent.ordinal] === agent;
    const active = member && agent.status === AgentState.Active;
    const counted = active ? agent.total : undefined;
    if (agent.counted !== counted) {
      if (agent.counted !== undefined) {
        this.#total.remove(agent.counted);
        this.#active -= 1;
      }
      if (counted !== undefined) {
        this.#total.add(counted);
        this.#active += 1;
      }
      agent.counted = counted;
    }
    if (active && !agent.contacted) this.#waiting.add(agent);
    else this.#waiting.delete(agent);
    this.touch(agent);
  }

  /** The agent's `offered` or `used` changed: re-examined at the next cycle. */
  touch(agent: AgentEntry): void {
    if (agent.dirty) return;
    agent.dirty = true;
    this.#dirty.push(agent);
  }

  /** The total resources of the active agents. */
  total(): Resources {
    return this.#total.value;
  }

  /** The number of active agents. */
  get activeCount(): number {
    return this.#active;
  }

  /** The agent's free resources (its candidate entry when it is up to date). */
  freeOf(agent: AgentEntry): Resources {
    return !agent.dirty && agent.free !== undefined ? agent.free : freeOf(agent);
  }

  /** Whether an active agent may be offered resources (same rule as {@link candidates}). */
  hasEligible(now: number, interval: number): boolean {
    if (this.#active > this.#waiting.size) return true;
    for (const agent of this.#waiting) if (now - agent.registeredAt >= interval) return true;
    return false;
  }

  /**
   * The agents whose resources may be offered now, in registration order:
   * active, with allocatable free resources, and heard from since they
   * (re)registered or registered at least `interval` ago.
   */
  candidates(now: number, interval: number): AgentEntry[] {
    this.#settle();
    const out: AgentEntry[] = [];
    const eligible = (agent: AgentEntry) => agent.contacted || now - agent.registeredAt >= interval;
    if (this.#candidates.length * 16 < this.#byOrdinal.length) {
      for (const agent of this.#candidates) if (eligible(agent)) out.push(agent);
      out.sort((a, b) => a.ordinal - b.ordinal);
    } else {
      for (const agent of this.#byOrdinal) {
        if (agent?.free !== undefined && eligible(agent)) out.push(agent);
      }
    }
    return out;
  }

  /** Re-examines the dirty agents. */
  #settle(): void {
    const dirty = this.#dirty;
    if (dirty.length === 0) return;
    this.#dirty = [];
    for (const agent of dirty) {
      agent.dirty = false;
      let free: Resources | undefined;
      if (
        agent.status === AgentState.Active &&
        agent.deactivated !== true &&
        this.#byOrdinal[agent.ordinal] === agent
      ) {
        const f = freeOf(agent);
        if (this.#allocatable(f)) free = f;
      }
      agent.free = free;
      if (free === undefined) this.#leave(agent);
      else this.#join(agent);
    }
  }

  #join(agent: AgentEntry): void {
    if (agent.candidateAt !== -1) return;
    agent.candidateAt = this.#candidates.length;
    this.#candidates.push(agent);
  }

  #leave(agent: AgentEntry): void {
    const at = agent.candidateAt;
    if (at === -1) return;
    const last = this.#candidates.pop()!;
    if (last !== agent) {
      this.#candidates[at] = last;
      last.candidateAt = at;
    }
    agent.candidateAt = -1;
  }

  /**
   * Differences between the pool and a recomputation from the agents
   * (`agents` are the records in `ctx.agents`); empty when they agree.
   */
  check(agents: Iterable<AgentEntry>): string[] {
    this.#settle();
    const problems: string[] = [];
    let total = Resources.empty();
    let active = 0;
    const seen = new Set<AgentEntry>();
    for (const agent of agents) {
      seen.add(agent);
      const isActive = agent.status === AgentState.Active;
      if (isActive) {
        total = total.add(agent.total);
        active += 1;
      }
      if (this.#byOrdinal[agent.ordinal] !== agent) {
        problems.push(`pool: agent ${agent.id} is not at its ordinal ${agent.ordinal}`);
      }
      const free = freeOf(agent);
      const candidate = isActive && agent.deactivated !== true && this.#allocatable(free);
      const listed = agent.candidateAt !== -1 && this.#candidates[agent.candidateAt] === agent;
      if (candidate !== listed) {
        problems.push(`pool: agent ${agent.id} is ${candidate ? "not " : ""}a candidate wrongly`);
      }
      if (candidate && !agent.free?.equals(free)) {
        problems.push(`pool: agent ${agent.id} free ${agent.free} but it has ${free} free`);
      }
      if (this.#waiting.has(agent) !== (isActive && !agent.contacted)) {
        problems.push(`pool: agent ${agent.id} waiting for contact is wrong`);
      }
    }
    for (const agent of this.#candidates) {
      if (!seen.has(agent)) problems.push(`pool: removed agent ${agent.id} is a candidate`);
    }
    if (!total.equals(this.total())) {
      problems.push(`pool: cluster total ${this.total()} but the active agents sum to ${total}`);
    }
    if (active !== this.#active) {
      problems.push(`pool: ${this.#active} active agents counted, ${active} found`);
    }
    return problems;
  }
}

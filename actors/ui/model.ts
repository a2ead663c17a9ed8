/**
 * The web UI's model of the cluster: the master's state (`operator.getState`)
 * with the cluster events applied to it. The same code runs in the `agora ui`
 * actor (which serves it as the snapshot) and in the browser (which applies
 * the changes the actor streams), so both see the same thing. No Node or DOM
 * imports: esbuild bundles it for the browser.
 */
import type { SentOffer } from "../../protocol/cluster.ts";
import type { Attributes, ResourcesJson, TaskState } from "../../protocol/common.ts";
import type { MasterState } from "../../protocol/operator.ts";
import type { MessageOf, MessageType } from "../../protocol/registry.ts";

/** Every cluster event type (`cluster.*`). */
export type ClusterEventType = Extract<MessageType, `cluster.${string}`>;
/** One cluster event. */
export type ClusterEvent = MessageOf<ClusterEventType>;

/** Scalar resources by name (`cpus`, `mem`, `disk`, ...), reservations folded in. */
export type Scalars = Record<string, number>;

/** One agent as the UI shows it. */
export interface AgentView {
  id: string;
  hostname: string;
  resources: ResourcesJson;
  total: Scalars;
  used: Scalars;
  offered: Scalars;
  attributes: Attributes;
  status: string;
  /** `deactivated`, `DRAINING` or `DRAINED` (drain and maintenance); empty when neither. */
  maintenance: string;
  /** Tasks on it that are not terminal. */
  tasks: number;
  /** When its status last changed (ms since the epoch; 0 when unknown). */
  since: number;
}

/** One framework as the UI shows it. */
export interface FrameworkView {
  id: string;
  name: string;
  roles: string[];
  /** False while disconnected: the master waits for it to fail over. */
  active: boolean;
  dominantShare: number;
  tasks: number;
  offers: number;
  used: Scalars;
  since: number;
}

/** One task as the UI shows it. */
export interface TaskView {
  /** `<frameworkId>/<taskId>`: task ids are unique within a framework only. */
  key: string;
  id: string;
  frameworkId: string;
  agentId: string;
  name: string;
  state: TaskState;
  resources: ResourcesJson;
  role?: string;
  healthy?: boolean;
  reason?: string;
  message?: string;
  /** When it entered its state (ms since the epoch; 0 when unknown). */
  since: number;
}

/** One outstanding offer. */
export interface OfferView {
  offerId: string;
  frameworkId: string;
  agentId: string;
  role: string;
  resources: ResourcesJson;
  since: number;
}

/** One role: its settings and what it holds. */
export interface RoleView {
  weight: number;
  priority?: number;
  quota?: { guarantee?: ResourcesJson; limit?: ResourcesJson };
  allocated: ResourcesJson;
  dominantShare: number;
}

/** One point of the time series the overview and roles pages draw. */
export interface Sample {
  t: number;
  total: Scalars;
  used: Scalars;
  offered: Scalars;
  /** Role → dominant share (0..1). */
  shares: Record<string, number>;
}

/** A change the UI applies: a cluster event, or a sample the actor took. */
export type UiChange = ClusterEvent | { type: "ui.sample"; sample: Sample };

/** One batch of changes as a browser receives it from the actor's stream. */
export interface ChangeBatch {
  seq: number;
  changes: UiChange[];
}

/** What the masters are. */
export interface MasterView {
  masterId: string;
  leaderId?: string;
  masters: { id: string; hostname: string; leader: boolean }[];
  policy: string;
  startTime: number;
  recovery?: { paused: boolean; expected: number; reregistered: number };
  /** The last allocation cycle the master reported (`cluster.allocation`): decision time and offers. */
  lastCycle?: { ms: number; offers: number; at: number };
}

/** The model as JSON: what `/ui/api/snapshot` answers. */
export interface ModelSnapshot {
  /** The number of the last change batch applied (see the actor's stream). */
  seq: number;
  /** When the master's state was taken. */
  takenAt: number;
  master: MasterView;
  agents: AgentView[];
  frameworks: FrameworkView[];
  tasks: TaskView[];
  offers: OfferView[];
  roles: Record<string, RoleView>;
  samples: Sample[];
  events: ClusterEvent[];
}

/** How much history the model keeps. */
export interface ModelLimits {
  /** Terminal tasks kept (oldest dropped first); Mesos `--max_completed_tasks_per_framework` is 1000. */
  completedTasks: number;
  samples: number;
  events: number;
}

const DEFAULT_MODEL_LIMITS: ModelLimits = {
  completedTasks: 5000,
  samples: 720,
  events: 500,
};

const TERMINAL = new Set<string>([
  "TASK_FINISHED",
  "TASK_FAILED",
  "TASK_KILLED",
  "TASK_ERROR",
  "TASK_LOST",
  "TASK_DROPPED",
  "TASK_GONE",
  "TASK_GONE_BY_OPERATOR",
]);

/** True when a task in this state never changes again. */
export const isTerminal = (state: string): boolean => TERMINAL.has(state);

/** The scalar part of a resources JSON, by resource name (`cpus(role)` counts as `cpus`). */
function scalarsOf(resources: ResourcesJson): Scalars {
  const out: Scalars = {};
  for (const [key, value] of Object.entries(resources)) {
    if (typeof value !== "number") continue;
    const paren = key.indexOf("(");
    const name = paren < 0 ? key : key.slice(0, paren);
    out[name] = (out[name] ?? 0) + value;
  }
  return out;
}

function add(into: Scalars, what: Scalars, sign: 1 | -1): void {
  for (const [k, v] of Object.entries(what)) {
    const next = (into[k] ?? 0) + sign * v;
    into[k] = Math.abs(next) < 1e-9 ? 0 : next;
  }
}

const taskKey = (frameworkId: string, taskId: string): string => `${frameworkId}/${taskId}`;

/**
 * The cluster as the UI sees it. {@link apply} returns false when a change
 * does not fit the model (an event about an agent it does not know, a
 * framework subscribing again that it holds as connected): the model missed
 * something, and its owner takes a new snapshot.
 */
export class UiModel {
  seq = 0;
  takenAt = 0;
  master: MasterView = { masterId: "", masters: [], policy: "", startTime: 0 };
  readonly agents = new Map<string, AgentView>();
  readonly frameworks = new Map<string, FrameworkView>();
  readonly tasks = new Map<string, TaskView>();
  readonly offers = new Map<string, OfferView>();
  roles: Record<string, RoleView> = {};
  samples: Sample[] = [];
  events: ClusterEvent[] = [];
  /** Bumped on every change: views redraw when it moved. */
  version = 0;
  readonly #limits: ModelLimits;
  readonly #completed: string[] = [];

  constructor(limits: Partial<ModelLimits> = {}) {
    this.#limits = { ...DEFAULT_MODEL_LIMITS, ...limits };
  }

  /** Replaces everything by the master's state (samples and the event log are kept). */
  loadState(state: MasterState, takenAt: number): void {
    this.agents.clear();
    this.frameworks.clear();
    this.tasks.clear();
    this.offers.clear();
    this.#completed.length = 0;
    this.takenAt = takenAt;
    this.master = {
      masterId: state.masterId,
      leaderId: state.leaderId ?? (state.leader ? state.masterId : undefined),
      masters: state.masters ?? [{ id: state.masterId, hostname: "", leader: state.leader }],
      policy: state.policy,
      startTime: state.startTime,
      recovery: state.recovery,
    };
    for (const a of state.agents) {
      this.agents.set(a.id, {
        id: a.id,
        hostname: a.hostname,
        resources: a.resources,
        total: scalarsOf(a.resources),
        used: scalarsOf(a.used),
        offered: scalarsOf(a.offered),
        attributes: a.attributes,
        status: a.status,
        maintenance: a.drain?.state ?? (a.deactivated === true ? "deactivated" : ""),
        tasks: 0,
        since: 0,
      });
    }
    for (const f of state.frameworks) {
      const fw: FrameworkView = {
        id: f.id,
        name: f.name,
        roles: f.roles,
        active: f.active,
        dominantShare: f.dominantShare,
        tasks: 0,
        offers: 0,
        used: {},
        since: 0,
      };
      this.frameworks.set(f.id, fw);
      for (const t of f.tasks) {
        const view: TaskView = {
          key: taskKey(f.id, t.id),
          id: t.id,
          frameworkId: f.id,
          agentId: t.agentId,
          name: t.name,
          state: t.state,
          resources: t.resources,
          role: t.role ?? (f.roles.length === 1 ? f.roles[0] : undefined),
          healthy: t.healthy,
          since: 0,
        };
        this.tasks.set(view.key, view);
        if (isTerminal(t.state)) this.#completed.push(view.key);
        else {
          fw.tasks++;
          add(fw.used, scalarsOf(t.resources), 1);
          const agent = this.agents.get(t.agentId);
          if (agent !== undefined) agent.tasks++;
        }
      }
    }
    for (const o of state.offers ?? []) {
      this.offers.set(o.offerId, {
        offerId: o.offerId,
        frameworkId: o.frameworkId,
        agentId: o.agentId,
        role: o.role,
        resources: o.resources,
        since: o.createdAt,
      });
      const fw = this.frameworks.get(o.frameworkId);
      if (fw !== undefined) fw.offers++;
    }
    this.roles = structuredClone(state.roles);
    this.#trimCompleted();
    this.version++;
  }

  /** Applies one change; false when it shows the model missed something. */
  apply(change: UiChange): boolean {
    this.version++;
    if (change.type === "ui.sample") {
      this.samples.push(change.sample);
      if (this.samples.length > this.#limits.samples) this.samples.shift();
      return true;
    }
    this.events.push(change);
    if (this.events.length > this.#limits.events) this.events.shift();
    return this.#applyEvent(change);
  }

  #applyEvent(e: ClusterEvent): boolean {
    switch (e.type) {
      case "cluster.agentAdded": {
        const known = this.agents.get(e.agentId);
        if (known !== undefined) {
          // already in the state the model was loaded from
          known.status = "active";
          return true;
        }
        this.agents.set(e.agentId, {
          id: e.agentId,
          hostname: e.hostname,
          resources: e.resources,
          total: scalarsOf(e.resources),
          used: {},
          offered: {},
          attributes: e.attributes,
          status: "active",
          maintenance: "",
          tasks: 0,
          since: e.timestamp,
        });
        return true;
      }
      case "cluster.agentReregistered":
      case "cluster.agentUnreachable": {
        const agent = this.agents.get(e.agentId);
        if (agent === undefined) return false;
        agent.status = e.type === "cluster.agentUnreachable" ? "unreachable" : "active";
        agent.since = e.timestamp;
        return true;
      }
      case "cluster.agentUpdated": {
        const agent = this.agents.get(e.agentId);
        if (agent === undefined) return false;
        agent.maintenance = e.drain?.state ?? (e.deactivated ? "deactivated" : "");
        agent.since = e.timestamp;
        return true;
      }
      case "cluster.agentRemoved":
        this.agents.delete(e.agentId);
        for (const offer of this.offers.values()) {
          if (offer.agentId === e.agentId) this.#endOffer(offer.offerId);
        }
        return true;
      case "cluster.frameworkAdded": {
        const known = this.frameworks.get(e.frameworkId);
        if (known !== undefined) {
          const wasActive = known.active;
          known.active = true;
          known.since = e.timestamp;
          known.roles = e.roles;
          // a framework we hold as connected subscribing again: a new leader it resubscribed to
          return !wasActive;
        }
        this.frameworks.set(e.frameworkId, {
          id: e.frameworkId,
          name: e.name,
          roles: e.roles,
          active: true,
          dominantShare: 0,
          tasks: 0,
          offers: 0,
          used: {},
          since: e.timestamp,
        });
        return true;
      }
      case "cluster.frameworkDisconnected": {
        const fw = this.frameworks.get(e.frameworkId);
        if (fw === undefined) return false;
        fw.active = false;
        fw.since = e.timestamp;
        return true;
      }
      case "cluster.frameworkRemoved":
        this.frameworks.delete(e.frameworkId);
        for (const offer of this.offers.values()) {
          if (offer.frameworkId === e.frameworkId) this.#endOffer(offer.offerId);
        }
        return true;
      case "cluster.offersSent": {
        let placed = true;
        for (const sent of e.offers) {
          if (!this.#offerSent(sent, e.timestamp)) placed = false;
        }
        return placed;
      }
      case "cluster.offerRescinded":
      case "cluster.offerEnded":
        this.#endOffer(e.offerId);
        return true;
      case "cluster.taskUpdated":
        return this.#taskUpdated(e);
      case "cluster.allocation":
        if (e.cycleMs !== undefined) {
          this.master.lastCycle = { ms: e.cycleMs, offers: e.offers ?? 0, at: e.timestamp };
        }
        for (const [role, { dominantShare }] of Object.entries(e.roles)) {
          const view = this.roles[role];
          if (view !== undefined) view.dominantShare = dominantShare;
          else this.roles[role] = { weight: 1, allocated: {}, dominantShare };
        }
        for (const [id, { dominantShare }] of Object.entries(e.frameworks)) {
          const fw = this.frameworks.get(id);
          if (fw !== undefined) fw.dominantShare = dominantShare;
        }
        return true;
    }
  }

  /** One offer of a `cluster.offersSent`; false when its agent or framework is unknown. */
  #offerSent(e: SentOffer, since: number): boolean {
    if (this.offers.has(e.offerId)) return true;
    const offer: OfferView = {
      offerId: e.offerId,
      frameworkId: e.frameworkId,
      agentId: e.agentId,
      role: e.role,
      resources: e.resources,
      since,
    };
    this.offers.set(e.offerId, offer);
    const agent = this.agents.get(e.agentId);
    if (agent !== undefined) add(agent.offered, scalarsOf(e.resources), 1);
    const fw = this.frameworks.get(e.frameworkId);
    if (fw !== undefined) fw.offers++;
    return agent !== undefined && fw !== undefined;
  }

  #endOffer(offerId: string): void {
    const offer = this.offers.get(offerId);
    if (offer === undefined) return;
    this.offers.delete(offerId);
    const agent = this.agents.get(offer.agentId);
    if (agent !== undefined) add(agent.offered, scalarsOf(offer.resources), -1);
    const fw = this.frameworks.get(offer.frameworkId);
    if (fw !== undefined) fw.offers--;
  }

  #taskUpdated(e: Extract<ClusterEvent, { type: "cluster.taskUpdated" }>): boolean {
    const key = taskKey(e.frameworkId, e.taskId);
    const before = this.tasks.get(key);
    const wasActive = before !== undefined && !isTerminal(before.state);
    const active = !isTerminal(e.state);
    const fw = this.frameworks.get(e.frameworkId);
    const role = before?.role ?? (fw?.roles.length === 1 ? fw.roles[0] : undefined);
    const task: TaskView = {
      key,
      id: e.taskId,
      frameworkId: e.frameworkId,
      agentId: e.agentId,
      name: e.name,
      state: e.state,
      resources: e.resources,
      role,
      healthy: e.healthy ?? before?.healthy,
      reason: e.reason,
      message: e.message,
      since: before?.state === e.state ? before.since : e.timestamp,
    };
    this.tasks.set(key, task);
    if (wasActive !== active) {
      const sign = active ? 1 : -1;
      const scalars = scalarsOf(e.resources);
      const agent = this.agents.get(e.agentId);
      if (agent !== undefined) {
        agent.tasks += sign;
        add(agent.used, scalars, sign);
      }
      if (fw !== undefined) {
        fw.tasks += sign;
        add(fw.used, scalars, sign);
      }
    }
    if (!active && (before === undefined || wasActive)) {
      this.#completed.push(key);
      this.#trimCompleted();
    }
    // a task on an agent we do not know (and not one that was never launched): missed events
    return this.agents.has(e.agentId) || !active || e.previousState === undefined;
  }

  #trimCompleted(): void {
    while (this.#completed.length > this.#limits.completedTasks) {
      const key = this.#completed.shift() as string;
      const task = this.tasks.get(key);
      if (task !== undefined && isTerminal(task.state)) this.tasks.delete(key);
    }
  }

  /**
   * What each role holds (its tasks that are not terminal and its outstanding
   * offers, with its sub-roles'), as the master counts a role's allocation.
   */
  roleAllocations(): Record<string, Scalars> {
    const out: Record<string, Scalars> = {};
    const charge = (role: string | undefined, r: ResourcesJson) => {
      if (role === undefined) return;
      const scalars = scalarsOf(r);
      const parts = role.split("/");
      for (let i = 1; i <= parts.length; i++) {
        const path = parts.slice(0, i).join("/");
        const into = out[path] ?? {};
        out[path] = into;
        add(into, scalars, 1);
      }
    };
    for (const t of this.tasks.values()) if (!isTerminal(t.state)) charge(t.role, t.resources);
    for (const o of this.offers.values()) charge(o.role, o.resources);
    return out;
  }

  /** Cluster totals: resources of active agents, used and offered. */
  totals(): { total: Scalars; used: Scalars; offered: Scalars } {
    const total: Scalars = {};
    const used: Scalars = {};
    const offered: Scalars = {};
    for (const a of this.agents.values()) {
      if (a.status !== "active") continue;
      add(total, a.total, 1);
      add(used, a.used, 1);
      add(offered, a.offered, 1);
    }
    return { total, used, offered };
  }

  /** A point of the time series as of `now`. */
  sample(now: number): Sample {
    const shares: Record<string, number> = {};
    for (const [role, view] of Object.entries(this.roles)) shares[role] = view.dominantShare;
    return { t: now, ...this.totals(), shares };
  }

  /** Counts by key. */
  countBy<T>(items: Iterable<T>, key: (item: T) => string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const item of items) {
      const k = key(item);
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }

  /** The model as JSON. */
  snapshot(): ModelSnapshot {
    return {
      seq: this.seq,
      takenAt: this.takenAt,
      master: this.master,
      agents: [...this.agents.values()],
      frameworks: [...this.frameworks.values()],
      tasks: [...this.tasks.values()],
      offers: [...this.offers.values()],
      roles: this.roles,
      samples: this.samples,
      events: this.events,
    };
  }

  /** Replaces everything by a snapshot the actor served. */
  loadSnapshot(s: ModelSnapshot): void {
    this.agents.clear();
    this.frameworks.clear();
    this.tasks.clear();
    this.offers.clear();
    this.#completed.length = 0;
    this.seq = s.seq;
    this.takenAt = s.takenAt;
    this.master = s.master;
    for (const a of s.agents) this.agents.set(a.id, a);
    for (const f of s.frameworks) this.frameworks.set(f.id, f);
    for (const t of s.tasks) {
      this.tasks.set(t.key, t);
      if (isTerminal(t.state)) this.#completed.push(t.key);
    }
    for (const o of s.offers) this.offers.set(o.offerId, o);
    this.roles = s.roles;
    this.samples = s.samples;
    this.events = s.events;
    this.version++;
  }
}

/**
 * The master's Prometheus gauges, computed from its in-memory state when
 * `/metrics` is scraped (never on the message path). Mesos's master metrics
 * (monitoring.md: `master/tasks_running`, `master/slaves_active`,
 * `master/outstanding_offers`, `master/cpus_used`, `master/elected`,
 * `allocator/mesos/roles/<role>/shares/dominant`) in Prometheus form.
 */
import type { Metrics } from "../../infra/metrics.ts";
import type { Resources } from "../../protocol/resources.ts";
import { clusterTotal } from "./allocator.ts";
import { gangsJson } from "./gang.ts";
import type { MasterContext } from "./model.ts";
import { roleSummaries } from "./roles.ts";
import { taskStateLabel } from "./task-state-labels.ts";

/** What the gauges read: the serving core's context, or nothing while standing by. */
export interface MasterGaugeSource {
  context(): MasterContext | undefined;
  /** Whether this master leads and serves now. */
  elected(): boolean;
  /** When this master started (clock milliseconds), and the clock's now. */
  startTime: number;
  now(): number;
}

function addScalars(into: Map<string, number>, resources: Resources): void {
  resources.forEachScalar((name, milli) => {
    into.set(name, (into.get(name) ?? 0) + milli);
  });
}

/** Registers the master's gauges on its registry (once). */
export function registerMasterGauges(metrics: Metrics, source: MasterGaugeSource): void {
  const p = metrics.prefix;
  metrics.gauge(`${p}elected`, "1 when this master leads and serves, 0 otherwise", [], (g) =>
    g.set(source.elected() ? 1 : 0),
  );
  metrics.gauge(`${p}uptime_seconds`, "Seconds since this master started", [], (g) =>
    g.set((source.now() - source.startTime) / 1000),
  );
  metrics.gauge(`${p}agents`, "Agents known to the leader, by status", ["status"], (g) => {
    const ctx = source.context();
    if (ctx === undefined) return;
    const counts = new Map<string, number>();
    for (const agent of ctx.agents.values()) {
      counts.set(agent.status, (counts.get(agent.status) ?? 0) + 1);
    }
    for (const [status, n] of counts) g.set({ status }, n);
  });
  metrics.gauge(`${p}frameworks`, "Frameworks known to the leader, by status", ["status"], (g) => {
    const ctx = source.context();
    if (ctx === undefined) return;
    const counts = new Map<string, number>();
    for (const f of ctx.frameworks.values()) counts.set(f.status, (counts.get(f.status) ?? 0) + 1);
    for (const [status, n] of counts) g.set({ status }, n);
  });
  metrics.gauge(
    `${p}tasks`,
    "Tasks the leader holds, by state (live ones and the retained completed ones)",
    ["state"],
    (g) => {
      const ctx = source.context();
      if (ctx === undefined) return;
      const counts = new Map<string, number>();
      const count = (state: string) => counts.set(state, (counts.get(state) ?? 0) + 1);
      for (const f of ctx.frameworks.values()) {
        for (const task of f.tasks.values()) count(task.state);
        for (const task of f.completed) count(task.state);
      }
      for (const [state, n] of counts) g.set({ state: taskStateLabel(state) }, n);
    },
  );
  metrics.gauge(`${p}outstanding_offers`, "Offers sent and not answered yet", [], (g) => {
    const ctx = source.context();
    if (ctx !== undefined) g.set(ctx.offers.size);
  });
  metrics.gauge(
    `${p}resources`,
    "Scalar resources of the cluster: total, used by tasks and executors, offered, held for gangs",
    ["resource", "kind"],
    (g) => {
      const ctx = source.context();
      if (ctx === undefined) return;
      const total = new Map<string, number>();
      const used = new Map<string, number>();
      const offered = new Map<string, number>();
      const held = new Map<string, number>();
      addScalars(total, clusterTotal(ctx));
      for (const r of ctx.gangs.heldOnAgent.values()) addScalars(held, r);
      // the frameworks' running sums: a few per framework, not one set per agent
      for (const framework of ctx.frameworks.values()) {
        for (const r of framework.used.values()) addScalars(used, r);
        for (const r of framework.offered.values()) addScalars(offered, r);
      }
      for (const [kind, sums] of [
        ["total", total],
        ["used", used],
        ["offered", offered],
        ["held", held],
      ] as const) {
        for (const resource of total.keys()) {
          g.set({ resource, kind }, (sums.get(resource) ?? 0) / 1000);
        }
      }
    },
  );
  metrics.gauge(
    "agora_allocator_role_dominant_share",
    "Each role's dominant share of the cluster (allocated to its frameworks, sub-roles included)",
    ["role"],
    (g) => {
      const ctx = source.context();
      if (ctx === undefined) return;
      for (const [role, summary] of Object.entries(roleSummaries(ctx, clusterTotal(ctx)))) {
        g.set({ role }, summary.dominantShare);
      }
    },
  );
  metrics.gauge(
    `${p}gangs`,
    "Gangs the leader keeps (scheduler.requestGang), by state: HOLDING, BACKING_OFF, OFFERED",
    ["state"],
    (g) => {
      const ctx = source.context();
      if (ctx === undefined) return;
      const counts = new Map<string, number>([
        ["HOLDING", 0],
        ["BACKING_OFF", 0],
        ["OFFERED", 0],
      ]);
      for (const gang of gangsJson(ctx)) counts.set(gang.state, (counts.get(gang.state) ?? 0) + 1);
      for (const [state, n] of counts) g.set({ state }, n);
    },
  );
  metrics.gauge(
    `${p}recovery_paused`,
    "1 while a new leader waits for the registry's agents to reregister before allocating",
    [],
    (g) => g.set(source.context()?.recovery?.paused === true ? 1 : 0),
  );
}

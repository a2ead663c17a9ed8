/** The pages of the web UI, each a function of the model. */
import type { ComponentChildren } from "preact";
import type {
  AgentView,
  FrameworkView,
  OfferView,
  Sample,
  Scalars,
  TaskView,
  UiModel,
} from "../model.ts";
import { isTerminal } from "../model.ts";
import { Chart, color } from "./chart.ts";
import { ago, attributes, num, pct, resources, shortState } from "./format.ts";
import { html } from "./html.ts";
import { type Column, VirtualTable } from "./table.ts";

/** Where the page is: `#/<page>/<id>?q=<query>`. */
export interface Route {
  page: string;
  id?: string;
  query: URLSearchParams;
}

export interface PageProps {
  model: UiModel;
  route: Route;
  now: number;
}

const esc = encodeURIComponent;
export const agentLink = (id: string) => html`<a href=${`#/agents/${esc(id)}`}>${id}</a>`;
export const frameworkLink = (m: UiModel, id: string) =>
  html`<a href=${`#/frameworks/${esc(id)}`}>${m.frameworks.get(id)?.name ?? id}</a>`;

function Card(props: {
  title: string;
  children: ComponentChildren;
  testid?: string;
  wide?: boolean;
}) {
  return html`<section class=${props.wide ? "card wide" : "card"} data-testid=${props.testid}>
    <h3>${props.title}</h3>
    ${props.children}
  </section>`;
}

function Counts(props: { counts: Record<string, number>; testid: string }) {
  const entries = Object.entries(props.counts).sort(([a], [b]) => a.localeCompare(b));
  return html`<dl class="counts" data-testid=${props.testid}>
    ${entries.length === 0 ? html`<dd>none</dd>` : null}
    ${entries.map(
      ([k, v]) => html`<div><dt>${shortState(k)}</dt><dd data-count=${k}>${v}</dd></div>`,
    )}
  </dl>`;
}

const seriesOf = (samples: Sample[], pick: (s: Sample) => number | undefined) =>
  samples.map((s) => pick(s) ?? null);

function ResourceChart(props: { samples: Sample[]; name: string }) {
  const { samples, name } = props;
  const at = (part: Scalars) => part[name];
  return html`<${Chart}
    title=${name}
    times=${samples.map((s) => s.t)}
    series=${[
      { label: "total", color: color(0), values: seriesOf(samples, (s) => at(s.total)) },
      { label: "used", color: color(1), values: seriesOf(samples, (s) => at(s.used)) },
      { label: "offered", color: color(2), values: seriesOf(samples, (s) => at(s.offered)) },
      {
        label: "idle",
        color: color(3),
        values: seriesOf(samples, (s) => {
          const t = at(s.total);
          return t === undefined ? undefined : t - (at(s.used) ?? 0) - (at(s.offered) ?? 0);
        }),
      },
    ]}
  />`;
}

export function Overview({ model }: PageProps) {
  const { total, used, offered } = model.totals();
  const names = Object.keys(total).sort();
  const agents = model.countBy(model.agents.values(), (a) => a.status);
  const tasks = model.countBy(model.tasks.values(), (t) => t.state);
  const m = model.master;
  const standbys = m.masters.filter((x) => !x.leader);
  return html`<div class="grid">
    <${Card} title="Agents" testid="agents-card">
      <div class="big" data-testid="agent-count">${model.agents.size}</div>
      <${Counts} counts=${agents} testid="agents-by-status" />
    <//>
    <${Card} title="Tasks" testid="tasks-card">
      <div class="big" data-testid="task-count">${model.tasks.size}</div>
      <${Counts} counts=${tasks} testid="tasks-by-state" />
    <//>
    <${Card} title="Frameworks">
      <div class="big" data-testid="framework-count">${model.frameworks.size}</div>
      <div>${model.offers.size} offers outstanding</div>
    <//>
    <${Card} title="Masters">
      <div>leader: <b data-testid="leader">${m.leaderId ?? "none"}</b></div>
      <div>standbys: ${standbys.length === 0 ? "none" : standbys.map((s) => s.id).join(", ")}</div>
      <div>policy: ${m.policy}</div>
      <div data-testid="allocation-cycle">
        allocation cycle: ${
          m.lastCycle === undefined
            ? "not reported yet"
            : `${m.lastCycle.ms.toFixed(2)} ms, ${m.lastCycle.offers} offers`
        }
      </div>
      ${
        m.recovery?.paused
          ? html`<div class="warn">recovering: ${m.recovery.reregistered}/${m.recovery.expected} agents back</div>`
          : null
      }
    <//>
    <${Card} title="Resources" wide=${true}>
      <table class="plain">
        <tr><th></th><th>total</th><th>used</th><th>offered</th><th>idle</th></tr>
        ${names.map((n) => {
          const t = total[n] ?? 0;
          const u = used[n] ?? 0;
          const o = offered[n] ?? 0;
          return html`<tr><th>${n}</th><td>${num(t)}</td><td>${num(u)}</td><td>${num(o)}</td><td>${num(t - u - o)}</td></tr>`;
        })}
      </table>
    <//>
  </div>
  <div class="charts">
    ${["cpus", "mem"].map((n) => html`<${ResourceChart} samples=${model.samples} name=${n} />`)}
  </div>`;
}

const agentColumns = (now: number): Column<AgentView>[] => [
  { title: "agent", width: "14em", cell: (a) => agentLink(a.id) },
  { title: "hostname", width: "8em", cell: (a) => a.hostname },
  {
    title: "status",
    width: "7em",
    cell: (a) =>
      html`<span class=${`st-${a.status}`}>${a.status}</span>${
        a.maintenance === "" ? "" : html` <span class="warn">${a.maintenance.toLowerCase()}</span>`
      }`,
  },
  { title: "total", width: "1.4fr", cell: (a) => resources(a.total) },
  { title: "used", width: "1fr", cell: (a) => resources(a.used) },
  { title: "offered", width: "1fr", cell: (a) => resources(a.offered) },
  { title: "tasks", width: "5em", cell: (a) => a.tasks },
  { title: "attributes", width: "1fr", cell: (a) => attributes(a.attributes) },
  { title: "since", width: "5em", cell: (a) => ago(a.since, now) },
];

function filterRows<T>(rows: Iterable<T>, q: string, text: (row: T) => string): T[] {
  const out: T[] = [];
  const needle = q.toLowerCase();
  for (const row of rows)
    if (needle === "" || text(row).toLowerCase().includes(needle)) out.push(row);
  return out;
}

function Search(props: { route: Route; placeholder: string }) {
  const q = props.route.query.get("q") ?? "";
  return html`<input
    class="search"
    type="search"
    placeholder=${props.placeholder}
    value=${q}
    data-testid="search"
    onInput=${(e: Event) => {
      const params = new URLSearchParams(props.route.query);
      params.set("q", (e.currentTarget as HTMLInputElement).value);
      history.replaceState(null, "", `#/${props.route.page}?${params}`);
      dispatchEvent(new HashChangeEvent("hashchange"));
    }}
  />`;
}

export function Agents(props: PageProps) {
  const { model, route, now } = props;
  if (route.id !== undefined) return AgentDetail(props);
  const q = route.query.get("q") ?? "";
  const rows = filterRows(
    model.agents.values(),
    q,
    (a) => `${a.id} ${a.hostname} ${a.status} ${a.maintenance}`,
  );
  return html`<${Search} route=${route} placeholder="agent id, hostname or status" />
    <${VirtualTable} rows=${rows} columns=${agentColumns(now)} rowKey=${(a: AgentView) => a.id} testid="agents-table" />`;
}

function AgentDetail({ model, route, now }: PageProps) {
  const a = model.agents.get(route.id as string);
  if (a === undefined) return html`<p>No agent ${route.id} (removed?)</p>`;
  const tasks = [...model.tasks.values()].filter((t) => t.agentId === a.id);
  return html`<h2>Agent ${a.id}</h2>
    <table class="plain">
      <tr><th>hostname</th><td>${a.hostname}</td></tr>
      <tr><th>status</th><td>${a.status}${a.maintenance === "" ? "" : ` (${a.maintenance.toLowerCase()})`}</td></tr>
      <tr><th>resources</th><td>${resources(a.resources)}</td></tr>
      <tr><th>used</th><td>${resources(a.used)}</td></tr>
      <tr><th>offered</th><td>${resources(a.offered)}</td></tr>
      <tr><th>attributes</th><td>${attributes(a.attributes)}</td></tr>
    </table>
    <h3>Tasks</h3>
    <${VirtualTable} rows=${tasks} columns=${taskColumns(model, now)} rowKey=${(t: TaskView) => t.key} height=${300} />`;
}

const frameworkColumns = (m: UiModel, now: number): Column<FrameworkView>[] => [
  { title: "framework", width: "1fr", cell: (f) => frameworkLink(m, f.id) },
  { title: "id", width: "1fr", cell: (f) => f.id },
  { title: "roles", width: "8em", cell: (f) => f.roles.join(", ") },
  {
    title: "state",
    width: "9em",
    cell: (f) => (f.active ? "connected" : html`<span class="warn">failing over</span>`),
  },
  { title: "dominant share", width: "8em", cell: (f) => pct(f.dominantShare) },
  { title: "tasks", width: "5em", cell: (f) => f.tasks },
  { title: "offers", width: "5em", cell: (f) => f.offers },
  { title: "used", width: "1fr", cell: (f) => resources(f.used) },
  { title: "since", width: "4em", cell: (f) => ago(f.since, now) },
];

export function Frameworks(props: PageProps) {
  const { model, route, now } = props;
  if (route.id !== undefined) {
    const f = model.frameworks.get(route.id);
    if (f === undefined) return html`<p>No framework ${route.id} (removed?)</p>`;
    const tasks = [...model.tasks.values()].filter((t) => t.frameworkId === f.id);
    return html`<h2>Framework ${f.name}</h2>
      <${VirtualTable} rows=${[f]} columns=${frameworkColumns(model, now)} rowKey=${(x: FrameworkView) => x.id} height=${30} />
      <h3>Tasks</h3>
      <${VirtualTable} rows=${tasks} columns=${taskColumns(model, now)} rowKey=${(t: TaskView) => t.key} height=${400} />`;
  }
  return html`<${VirtualTable}
    rows=${[...model.frameworks.values()]}
    columns=${frameworkColumns(model, now)}
    rowKey=${(f: FrameworkView) => f.id}
    testid="frameworks-table"
  />`;
}

const taskColumns = (m: UiModel, now: number): Column<TaskView>[] => [
  { title: "task", width: "1fr", cell: (t) => html`<span data-task=${t.id}>${t.id}</span>` },
  {
    title: "state",
    width: "8em",
    cell: (t) =>
      html`<span class=${isTerminal(t.state) ? "st-done" : "st-live"} data-task-state=${t.id}>${shortState(t.state)}</span>`,
  },
  { title: "agent", width: "1fr", cell: (t) => agentLink(t.agentId) },
  { title: "framework", width: "1fr", cell: (t) => frameworkLink(m, t.frameworkId) },
  { title: "resources", width: "1fr", cell: (t) => resources(t.resources) },
  {
    title: "health",
    width: "5em",
    cell: (t) => (t.healthy === undefined ? "-" : t.healthy ? "healthy" : "unhealthy"),
  },
  { title: "in state", width: "5em", cell: (t) => ago(t.since, now) },
  { title: "reason", width: "1fr", cell: (t) => t.message ?? t.reason ?? "" },
];

export function Tasks({ model, route, now }: PageProps) {
  const q = route.query.get("q") ?? "";
  const state = route.query.get("state") ?? "";
  const all = [...model.tasks.values()];
  const rows = filterRows(
    state === "" ? all : all.filter((t) => t.state === state),
    q,
    (t) => `${t.id} ${t.name} ${t.agentId} ${t.frameworkId} ${t.state}`,
  );
  const states = Object.keys(model.countBy(all, (t) => t.state)).sort();
  return html`<div class="toolbar">
      <${Search} route=${route} placeholder="task, agent, framework or state" />
      <span>state:</span>
      <a href="#/tasks" class=${state === "" ? "on" : ""}>all</a>
      ${states.map((s) => html`<a href=${`#/tasks?state=${s}`} class=${state === s ? "on" : ""}>${shortState(s)}</a>`)}
    </div>
    <${VirtualTable} rows=${rows} columns=${taskColumns(model, now)} rowKey=${(t: TaskView) => t.key} testid="tasks-table" />`;
}

export function Roles({ model }: PageProps) {
  const roles = Object.entries(model.roles).sort(([a], [b]) => a.localeCompare(b));
  const allocations = model.roleAllocations();
  const samples = model.samples;
  const names = roles.map(([r]) => r);
  return html`<table class="plain wide" data-testid="roles-table">
      <tr><th>role</th><th>weight</th><th>guarantee</th><th>limit</th><th>allocated</th><th>dominant share</th></tr>
      ${roles.map(
        ([role, r]) => html`<tr>
          <th>${role}</th>
          <td>${r.weight}</td>
          <td>${resources(r.quota?.guarantee)}</td>
          <td>${resources(r.quota?.limit)}</td>
          <td>${resources(allocations[role] ?? {})}</td>
          <td><span class="bar"><span style=${{ width: pct(r.dominantShare) }}></span></span>
            <span data-role-share=${role}>${pct(r.dominantShare)}</span></td>
        </tr>`,
      )}
    </table>
    <h3>Fairness: each role's dominant share over time</h3>
    <${Chart}
      title="dominant share"
      percent=${true}
      times=${samples.map((s) => s.t)}
      series=${names.map((n, i) => ({ label: n, color: color(i), values: samples.map((s) => s.shares[n] ?? null) }))}
      testid="fairness-chart"
    />`;
}

export function Offers({ model, now }: PageProps) {
  const columns: Column<OfferView>[] = [
    { title: "offer", width: "1fr", cell: (o) => o.offerId },
    { title: "framework", width: "1fr", cell: (o) => frameworkLink(model, o.frameworkId) },
    { title: "agent", width: "1fr", cell: (o) => agentLink(o.agentId) },
    { title: "role", width: "6em", cell: (o) => o.role },
    { title: "resources", width: "1fr", cell: (o) => resources(o.resources) },
    { title: "age", width: "5em", cell: (o) => ago(o.since, now) },
  ];
  return html`<${VirtualTable} rows=${[...model.offers.values()]} columns=${columns} rowKey=${(o: OfferView) => o.offerId} testid="offers-table" />`;
}

export function EventLog({ model, now }: PageProps) {
  const rows = model.events.map((e, i) => ({ i, e })).reverse();
  const columns: Column<{ i: number; e: (typeof model.events)[number] }>[] = [
    { title: "age", width: "4em", cell: ({ e }) => ago(e.timestamp, now) },
    { title: "type", width: "13em", cell: ({ e }) => e.type.replace(/^cluster\./, "") },
    {
      title: "what",
      width: "1fr",
      cell: ({ e }) => {
        const { type: _t, timestamp: _ts, ...rest } = e;
        return JSON.stringify(rest);
      },
    },
  ];
  return html`<${VirtualTable} rows=${rows} columns=${columns} rowKey=${(r: { i: number }) => String(model.events.length - r.i)} testid="event-log" />`;
}

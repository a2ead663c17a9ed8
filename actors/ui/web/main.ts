/**
 * The browser side of the web UI: loads the snapshot, follows the actor's
 * server-sent events, applies the batches to its own {@link UiModel} once per
 * animation frame (however many came in between) and redraws then.
 */
import { render } from "preact";
import { type ChangeBatch, type ModelSnapshot, UiModel } from "../model.ts";
import { html } from "./html.ts";
import {
  Agents,
  EventLog,
  Frameworks,
  Offers,
  Overview,
  type PageProps,
  Roles,
  type Route,
  Tasks,
} from "./pages.ts";

const PAGES: Record<string, { title: string; view: (p: PageProps) => unknown }> = {
  overview: { title: "Overview", view: Overview },
  agents: { title: "Agents", view: Agents },
  frameworks: { title: "Frameworks", view: Frameworks },
  tasks: { title: "Tasks", view: Tasks },
  roles: { title: "Roles", view: Roles },
  offers: { title: "Offers", view: Offers },
  events: { title: "Events", view: EventLog },
};

/** What a benchmark or test reads from the page. */
interface UiStats {
  snapshotMs?: number;
  firstPaintMs?: number;
  changesApplied: number;
  batchesApplied: number;
  frames: number;
  snapshots: number;
  lastSeq: number;
}
const stats: UiStats = {
  changesApplied: 0,
  batchesApplied: 0,
  frames: 0,
  snapshots: 0,
  lastSeq: 0,
};
(globalThis as unknown as { agoraUi: UiStats }).agoraUi = stats;

const model = new UiModel();
let loaded = false;
let loading = 0;
let lastSeq = 0;
let queue: ChangeBatch[] = [];
let frame = 0;
let connected = false;

function route(): Route {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path = "", query = ""] = hash.split("?");
  const [page = "overview", id] = path.split("/").map(decodeURIComponent);
  return { page: page === "" ? "overview" : page, id, query: new URLSearchParams(query) };
}

function App() {
  const r = route();
  const page = PAGES[r.page] ?? PAGES.overview!;
  return html`<header>
      <b class="logo">agora</b>
      <nav>
        ${Object.entries(PAGES).map(
          ([key, p]) =>
            html`<a href=${`#/${key}`} class=${key === r.page ? "on" : ""}>${p.title}</a>`,
        )}
      </nav>
      <span class=${connected ? "live" : "offline"} data-testid="connection">${connected ? "live" : "offline"}</span>
    </header>
    <main data-testid=${`page-${r.page}`}>
      ${loaded ? page.view({ model, route: r, now: Date.now() }) : html`<p>Loading the cluster's state…</p>`}
    </main>`;
}

const root = document.getElementById("app") as HTMLElement;
const draw = () => render(html`<${App} />`, root);

function onFrame() {
  frame = 0;
  if (loaded) {
    for (const batch of queue) {
      if (batch.seq <= lastSeq) continue;
      if (batch.seq !== lastSeq + 1) {
        queue = [];
        void loadSnapshot();
        return;
      }
      for (const c of batch.changes) model.apply(c);
      lastSeq = batch.seq;
      stats.changesApplied += batch.changes.length;
      stats.batchesApplied++;
    }
    stats.lastSeq = lastSeq;
    queue = [];
  }
  draw();
  stats.frames++;
}

function schedule() {
  if (frame === 0) frame = requestAnimationFrame(onFrame);
}

async function loadSnapshot() {
  const mine = ++loading;
  const started = performance.now();
  loaded = false;
  const snap = (await (await fetch("/ui/api/snapshot")).json()) as ModelSnapshot;
  if (mine !== loading) return;
  model.loadSnapshot(snap);
  lastSeq = snap.seq;
  loaded = true;
  stats.snapshots++;
  stats.snapshotMs = performance.now() - started;
  if (stats.firstPaintMs === undefined) {
    onFrame();
    stats.firstPaintMs = performance.now();
  } else schedule();
}

const events = new EventSource("/ui/api/events");
events.addEventListener("hello", () => {
  connected = true;
  void loadSnapshot();
});
events.addEventListener("reset", () => void loadSnapshot());
events.addEventListener("changes", (m: MessageEvent<string>) => {
  queue.push(JSON.parse(m.data) as ChangeBatch);
  schedule();
});
events.addEventListener("error", () => {
  connected = false;
  schedule();
});
addEventListener("hashchange", schedule);
// "in state" and "age" columns move with time even when nothing happens
setInterval(schedule, 1000);
draw();

/**
 * The `agora ui` actor: an observer of the cluster that serves the web UI.
 * It takes the master's state (`operator.getState`, in parts when large),
 * follows the cluster events (`<p>.events.>`), keeps a {@link UiModel}, and
 * serves over HTTP the browser bundle (`/ui/`), the model as a snapshot
 * (`/ui/api/snapshot`) and the changes as server-sent events
 * (`/ui/api/events`, one batch per flush interval). It takes a new snapshot
 * only when it sees a gap: a NATS reconnect, or an event the model cannot
 * place, or a new holder of the registry's leader lease (a master
 * failover). It runs outside the master so that the
 * allocating master's event loop never serializes JSON for browsers.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { Backoff } from "../../infra/backoff.ts";
import type { Clock, Timer } from "../../infra/clock.ts";
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_UI_FLUSH_MS,
  DEFAULT_UI_RESNAPSHOT_DELAY_MS,
  DEFAULT_UI_SAMPLE_MS,
  UI_SNAPSHOT_RETRY_MAX_MS,
  UI_SNAPSHOT_RETRY_MS,
} from "../../infra/defaults.ts";
import { serve } from "../../infra/dispatch.ts";
import { type HttpHandler, type HttpServer, startHttpServer } from "../../infra/http.ts";
import type { Logger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import { requestState } from "../../infra/request.ts";
import { MESSAGE_TYPES } from "../../protocol/registry.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { buildUiBundle, type UiBundle } from "./bundle.ts";
import { type LeaderWatch, watchLeader } from "./leader-watch.ts";
import { type ClusterEvent, type ClusterEventType, type UiChange, UiModel } from "./model.ts";
import { SseClients } from "./sse.ts";

const CLUSTER_TYPES = MESSAGE_TYPES.filter((t): t is ClusterEventType => t.startsWith("cluster."));

/** What the UI actor needs. */
export interface UiDeps {
  nc: NatsConnection;
  subjects: Subjects;
  logger: Logger;
  clock: Clock;
  /** HTTP port; 0 picks a free one. */
  port: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** @default DEFAULT_UI_FLUSH_MS */
  flushMs?: number;
  /** @default DEFAULT_UI_SAMPLE_MS */
  sampleMs?: number;
  /** @default DEFAULT_UI_RESNAPSHOT_DELAY_MS */
  resnapshotDelayMs?: number;
  /** @default DEFAULT_REQUEST_TIMEOUT_MS */
  requestTimeoutMs?: number;
  /** A prebuilt bundle (tests share one); built at start otherwise. */
  bundle?: UiBundle;
  /** The operator principal its state requests go out as (`master.operator.<it>`). @default "default" */
  principal?: string;
}

/** A running UI actor. */
export interface UiActor {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** `http://host:port/ui/` once started. */
  readonly url: string;
  readonly model: UiModel;
  readonly metrics: Metrics;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates the UI actor. */
export function createUi(deps: UiDeps): UiActor {
  const { nc, subjects, clock } = deps;
  const logger = deps.logger.child({ actor: "ui" });
  const metrics = new Metrics();
  const model = new UiModel();
  const clients = new SseClients(metrics);
  const flushMs = deps.flushMs ?? DEFAULT_UI_FLUSH_MS;
  const sampleMs = deps.sampleMs ?? DEFAULT_UI_SAMPLE_MS;
  const resnapshotDelayMs = deps.resnapshotDelayMs ?? DEFAULT_UI_RESNAPSHOT_DELAY_MS;
  // a master that does not answer is asked again from 1 s, doubling up to half a minute
  const snapshotRetry = new Backoff({
    clock,
    initialMs: Math.max(resnapshotDelayMs, UI_SNAPSHOT_RETRY_MS),
    maxMs: Math.max(resnapshotDelayMs, UI_SNAPSHOT_RETRY_MAX_MS),
  });
  const timeoutMs = deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;

  let http: HttpServer | undefined;
  let sub: Subscription | undefined;
  let leaderWatch: LeaderWatch | undefined;
  const timers: Timer[] = [];
  let pending: UiChange[] = [];
  /** Events that came while a snapshot was on its way; applied on top of it. */
  let held: ClusterEvent[] | undefined;
  let snapshotTimer: Timer | undefined;
  let stopped = false;

  const flush = () => {
    if (pending.length === 0) return;
    model.seq++;
    clients.changes({ seq: model.seq, changes: pending });
    metrics.inc("ui_batches_sent");
    pending = [];
  };

  const change = (c: UiChange) => {
    if (!model.apply(c)) {
      metrics.inc("ui_gaps");
      logger.info({ type: c.type }, "event does not fit the model: taking a new snapshot");
      scheduleSnapshot();
    }
    pending.push(c);
  };

  const snapshot = async (): Promise<void> => {
    if (held !== undefined || stopped) return;
    held = [];
    try {
      const reply = await requestState(nc, subjects.masterOperator(deps.principal), timeoutMs);
      const late = held;
      held = undefined;
      model.loadState(reply.state, clock.now());
      snapshotRetry.reset();
      for (const e of late) model.apply(e);
      pending = [];
      model.seq++;
      clients.reset(model.seq);
      metrics.inc("ui_snapshots");
      logger.info(
        { agents: model.agents.size, tasks: model.tasks.size, frameworks: model.frameworks.size },
        "state snapshot loaded",
      );
    } catch (err) {
      const late = held ?? [];
      held = undefined;
      for (const e of late) change(e);
      metrics.inc("ui_snapshot_failures");
      logger.warn({ err: String(err) }, "no state from the master: trying again");
      scheduleSnapshot(snapshotRetry.next());
    }
  };

  function scheduleSnapshot(delay = resnapshotDelayMs): void {
    if (stopped) return;
    snapshotTimer?.cancel();
    snapshotTimer = clock.after(delay, () => {
      snapshotTimer = undefined;
      void snapshot();
    });
  }

  const watchStatus = async () => {
    for await (const s of nc.status()) {
      if (stopped) return;
      if (s.type === "reconnect") {
        metrics.inc("ui_reconnects");
        scheduleSnapshot();
      }
    }
  };

  const routes = (bundle: UiBundle): Record<string, HttpHandler> => ({
    "/": () => ({ status: 302, headers: { location: "/ui/" }, body: "" }),
    "/ui/api/snapshot": () => {
      flush();
      return { body: model.snapshot() };
    },
    "/ui/api/events": (req, res) => {
      flush();
      clients.open(req, res, model.seq);
      return undefined;
    },
    "/ui/*": (_req, _res, url) => {
      const name = url.pathname.slice("/ui/".length) || "index.html";
      // every page of the single-page app is index.html
      const file =
        bundle.files.get(name) ?? (name.includes(".") ? undefined : bundle.files.get("index.html"));
      if (file === undefined) return { status: 404, body: { error: `no such file: ${name}` } };
      return {
        contentType: file.contentType,
        body: file.body,
        headers: { "cache-control": "no-cache" },
      };
    },
  });

  const actor: UiActor = {
    model,
    metrics,
    get url() {
      return http === undefined ? "" : `${http.url}/ui/`;
    },
    async start() {
      const bundle = deps.bundle ?? (await buildUiBundle());
      sub = serve(nc, subjects.eventsAll(), { types: CLUSTER_TYPES, logger, metrics }, (event) => {
        if (held !== undefined) held.push(event);
        else change(event);
        return undefined;
      });
      await nc.flush();
      leaderWatch = await watchLeader(nc, subjects.prefix, logger, metrics, (leader) => {
        metrics.inc("ui_leader_changes");
        logger.info(leader, "a new leader: taking a new snapshot");
        scheduleSnapshot();
      });
      await snapshot();
      timers.push(clock.every(flushMs, flush));
      timers.push(
        clock.every(sampleMs, () =>
          change({ type: "ui.sample", sample: model.sample(clock.now()) }),
        ),
      );
      void watchStatus();
      http = await startHttpServer({
        port: deps.port,
        host: deps.host,
        routes: routes(bundle),
        logger,
      });
      logger.info({ url: actor.url, bundleMs: Math.round(bundle.buildMs) }, "web UI serving");
    },
    async stop() {
      stopped = true;
      snapshotTimer?.cancel();
      for (const t of timers) t.cancel();
      sub?.unsubscribe();
      leaderWatch?.stop();
      clients.closeAll();
      await http?.close();
    },
    [Symbol.asyncDispose]() {
      return actor.stop();
    },
  };
  return actor;
}

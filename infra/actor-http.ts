/**
 * The HTTP endpoints every long-running actor serves when given `--http-port`:
 * `/metrics` (its Prometheus registry), `/health`, and, where the actor has one,
 * `/state`. Built on {@link startHttpServer}; nothing here runs per message.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { type HttpHandler, type HttpServer, startHttpServer } from "./http.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";

/** What `/health` answers: 200 with `body` when `ok`, 503 otherwise. */
export interface HealthReport {
  ok: boolean;
  body: Record<string, unknown>;
}

/** Options of {@link startActorHttp}. */
export interface ActorHttpOptions {
  port: number;
  host: string;
  metrics: Metrics;
  logger: Logger;
  health: () => HealthReport;
  /** The actor's state JSON, served at `/state`; no `/state` without it. */
  state?: () => unknown;
  /** Further routes (exact paths, or `/x/*` prefixes). */
  routes?: Record<string, HttpHandler>;
}

/**
 * Starts the actor's HTTP server (process metrics are added to its registry
 * then) and logs its URL.
 */
export async function startActorHttp(options: ActorHttpOptions): Promise<HttpServer> {
  const { metrics, logger, health, state } = options;
  metrics.collectProcessMetrics();
  const routes: Record<string, HttpHandler> = {
    "/metrics": async () => ({
      contentType: metrics.contentType,
      body: await metrics.exposition(),
    }),
    "/health": () => {
      const report = health();
      return { status: report.ok ? 200 : 503, body: report.body };
    },
    ...options.routes,
  };
  if (state !== undefined) {
    routes["/state"] = async () => ({ body: (await state()) as object });
  }
  const server = await startHttpServer({
    port: options.port,
    host: options.host,
    routes,
    logger,
  });
  logger.info({ url: server.url, paths: Object.keys(routes) }, "http endpoints listening");
  return server;
}

/** Whether a NATS connection is up now, followed from its status events. */
export interface ConnectionWatch {
  connected(): boolean;
  stop(): void;
}

/** Follows `nc`'s disconnect/reconnect events (for `/health`: 503 while NATS is lost). */
export function watchConnection(nc: NatsConnection): ConnectionWatch {
  let up = true;
  const iterator = nc.status()[Symbol.asyncIterator]();
  void (async () => {
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        if (next.value.type === "disconnect") up = false;
        else if (next.value.type === "reconnect") up = true;
      }
    } catch {
      // the connection closed: connected() reports it
    }
  })();
  return {
    connected: () => up && !nc.isClosed(),
    stop: () => void iterator.return?.(),
  };
}

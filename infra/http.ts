/**
 * The one small HTTP server every actor that serves HTTP uses (`/metrics`,
 * `/health`, `/state`, the web UI): exact-path routes on node:http, GET and
 * HEAD only, errors answered as JSON and never thrown out of a handler.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./logger.ts";

/** What a route answers. */
export interface HttpReply {
  status?: number;
  /** `content-type`; default `application/json` for objects, `text/plain` for strings. */
  contentType?: string;
  headers?: Record<string, string>;
  body: string | Uint8Array | object;
}

/**
 * A route: gets the request (and its URL) and answers; a handler that takes
 * over the response itself (server-sent events) returns `undefined`.
 */
export type HttpHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
) => HttpReply | undefined | Promise<HttpReply | undefined>;

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Address to bind. @default "127.0.0.1" */
  host?: string;
  /** Exact path → handler; a path ending in `/*` matches every path under it. */
  routes: Record<string, HttpHandler>;
  logger?: Logger;
}

/** A listening server. */
export interface HttpServer {
  /** `http://host:port` as bound. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

function route(routes: Record<string, HttpHandler>, path: string): HttpHandler | undefined {
  const exact = routes[path];
  if (exact !== undefined) return exact;
  let best: { len: number; handler: HttpHandler } | undefined;
  for (const [pattern, handler] of Object.entries(routes)) {
    if (!pattern.endsWith("/*")) continue;
    const base = pattern.slice(0, -1);
    if (path.startsWith(base) && (best === undefined || base.length > best.len)) {
      best = { len: base.length, handler };
    }
  }
  return best?.handler;
}

function send(res: ServerResponse, reply: HttpReply, head: boolean): void {
  const isText = typeof reply.body === "string";
  const isBytes = reply.body instanceof Uint8Array;
  const body = isText || isBytes ? (reply.body as string | Uint8Array) : JSON.stringify(reply.body);
  const type =
    reply.contentType ??
    (isText
      ? "text/plain; charset=utf-8"
      : isBytes
        ? "application/octet-stream"
        : "application/json");
  res.writeHead(reply.status ?? 200, {
    "content-type": type,
    "content-length": Buffer.byteLength(body),
    ...reply.headers,
  });
  res.end(head ? undefined : body);
}

async function handle(
  options: HttpServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const method = req.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") {
    send(
      res,
      { status: 405, headers: { allow: "GET, HEAD" }, body: { error: "method not allowed" } },
      false,
    );
    return;
  }
  const handler = route(options.routes, url.pathname);
  if (handler === undefined) {
    send(res, { status: 404, body: { error: `no such path: ${url.pathname}` } }, method === "HEAD");
    return;
  }
  try {
    const reply = await handler(req, res, url);
    if (reply !== undefined && !res.headersSent) send(res, reply, method === "HEAD");
  } catch (err) {
    options.logger?.warn({ path: url.pathname, err: String(err) }, "http handler failed");
    if (!res.headersSent) send(res, { status: 500, body: { error: "internal error" } }, false);
    else res.destroy();
  }
}

/** Starts listening; resolves once bound. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const host = options.host ?? "127.0.0.1";
  const server: Server = createServer((req, res) => {
    void handle(options, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A local HTTP server for fetcher tests: serves files from a map, counts the
 * requests per path and lets a test wait for the n-th request of a path.
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A route: a body to serve, or a handler. */
export type Route =
  | Buffer
  | string
  | ((req: http.IncomingMessage, res: http.ServerResponse) => void);

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  base: string;
  routes: Map<string, Route>;
  /** Requests seen per path. */
  hits(path: string): number;
  /** Resolves once `path` has been requested `n` times. */
  waitForHits(path: string, n: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a server on a free port of 127.0.0.1. */
export async function startServer(routes: Record<string, Route> = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const counts = new Map<string, number>();
  const waiters: { path: string; n: number; resolve: () => void }[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const n = (counts.get(url.pathname) ?? 0) + 1;
    counts.set(url.pathname, n);
    for (const w of [...waiters]) {
      if (w.path === url.pathname && n >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
    const route = table.get(url.pathname);
    if (route === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not here");
    } else if (typeof route === "function") {
      route(req, res);
    } else {
      const body = Buffer.from(route);
      res.writeHead(200, { "content-length": body.length }).end(body);
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    routes: table,
    hits: (p) => counts.get(p) ?? 0,
    waitForHits: (p, n) =>
      (counts.get(p) ?? 0) >= n
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ path: p, n, resolve })),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

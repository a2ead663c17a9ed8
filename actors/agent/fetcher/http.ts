/**
 * HTTP(S) downloads: GET with bounded redirects, a stall timeout on the
 * injected clock (Mesos's `--fetcher_stall_timeout`: no byte for that long,
 * headers or body, aborts the download) and any non-2xx status a failure that
 * names the URI and the status ("GET http://h/x.tar.gz: 404 Not Found").
 */
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { Transform } from "node:stream";
import type { Clock, Timer } from "../../../infra/clock.ts";
import { formatDuration } from "../../../infra/durations.ts";
import { fetchFailed, reason } from "./errors.ts";
import { redactUri } from "./uri.ts";

/** What {@link openHttp} needs. */
export interface HttpOptions {
  clock: Clock;
  stallTimeoutMs: number;
  maxRedirects: number;
  signal?: AbortSignal;
}

/** An open download: its announced size (Content-Length) and its body. */
export interface HttpBody {
  size: number | undefined;
  stream: Transform;
  /** The URL finally answered (after redirects), redacted. */
  url: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Aborts a download when no progress was made for `ms` on `clock`. */
class StallWatch {
  #last: number;
  #timer: Timer | undefined;
  #done = false;

  constructor(
    readonly clock: Clock,
    readonly ms: number,
    readonly onStall: () => void,
  ) {
    this.#last = clock.now();
    this.#arm(ms);
  }

  #arm(ms: number): void {
    this.#timer = this.clock.after(ms, () => {
      if (this.#done) return;
      const idle = this.clock.now() - this.#last;
      if (idle >= this.ms) {
        this.#done = true;
        this.onStall();
      } else this.#arm(this.ms - idle);
    });
  }

  progress(): void {
    this.#last = this.clock.now();
  }

  stop(): void {
    this.#done = true;
    this.#timer?.cancel();
  }
}

function get(url: URL, signal: AbortSignal | undefined) {
  const lib = url.protocol === "https:" ? https : http;
  return lib.get(url, {
    agent: false,
    headers: { "user-agent": "agora-fetcher", "accept-encoding": "identity" },
    ...(signal === undefined ? {} : { signal }),
  });
}

/** Opens a GET of `start`, following redirects; resolves once a 2xx answer's headers arrived. */
export function openHttp(start: URL, options: HttpOptions): Promise<HttpBody> {
  const display = redactUri(start.href);
  return new Promise<HttpBody>((resolve, reject) => {
    let settled = false;
    let current: ReturnType<typeof get> | undefined;
    let response: IncomingMessage | undefined;
    let body: Transform | undefined;
    const fail = (err: Error) => {
      watch.stop();
      if (!settled) {
        settled = true;
        reject(err);
      } else body?.destroy(err);
      response?.destroy();
      current?.destroy();
    };
    const watch = new StallWatch(options.clock, options.stallTimeoutMs, () =>
      fail(
        fetchFailed(
          `GET ${display}: stalled, nothing received for ${formatDuration(options.stallTimeoutMs)} (--fetcher-stall-timeout)`,
          { retryable: true },
        ),
      ),
    );
    const request = (url: URL, redirects: number) => {
      const shown = redactUri(url.href);
      const req = get(url, options.signal);
      current = req;
      req.on("error", (err) => {
        if (settled && body !== undefined) return; // the body pipeline reports it
        const aborted = options.signal?.aborted === true;
        fail(
          fetchFailed(`GET ${shown}: ${aborted ? "aborted" : reason(err)}`, {
            retryable: !aborted,
            cause: err,
          }),
        );
      });
      req.on("response", (res) => {
        watch.progress();
        response = res;
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (REDIRECTS.has(status) && location !== undefined) {
          res.resume();
          res.destroy();
          if (redirects >= options.maxRedirects) {
            fail(fetchFailed(`GET ${display}: more than ${options.maxRedirects} redirects`));
            return;
          }
          let next: URL;
          try {
            next = new URL(location, url);
          } catch {
            fail(fetchFailed(`GET ${shown}: ${status} redirect to a malformed location`));
            return;
          }
          if (next.protocol !== "http:" && next.protocol !== "https:") {
            fail(fetchFailed(`GET ${shown}: ${status} redirect to unsupported ${next.protocol}`));
            return;
          }
          request(next, redirects + 1);
          return;
        }
        if (status < 200 || status > 299) {
          res.resume();
          res.destroy();
          const text = res.statusMessage || http.STATUS_CODES[status] || "";
          fail(
            fetchFailed(`GET ${shown}: ${status}${text === "" ? "" : ` ${text}`}`, {
              retryable: status >= 500 || status === 429 || status === 408,
            }),
          );
          return;
        }
        const length = Number.parseInt(res.headers["content-length"] ?? "", 10);
        body = new Transform({
          transform(chunk: Buffer, _enc, done) {
            watch.progress();
            done(null, chunk);
          },
          flush(done) {
            watch.stop();
            done();
          },
        });
        body.on("close", () => {
          watch.stop();
          if (!res.complete) res.destroy(); // the reader gave up: free the connection
        });
        res.on("error", (err) =>
          body?.destroy(
            fetchFailed(`GET ${shown}: ${reason(err)}`, { retryable: true, cause: err }),
          ),
        );
        res.pipe(body);
        settled = true;
        resolve({
          size: Number.isFinite(length) && length >= 0 ? length : undefined,
          stream: body,
          url: shown,
        });
      });
    };
    request(start, 0);
  });
}

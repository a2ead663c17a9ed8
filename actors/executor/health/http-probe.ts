/**
 * HTTP(S) health check: a GET to `scheme://127.0.0.1:<port><path>`, healthy
 * on a status from 200 to 399 (Mesos's rule for its built-in executors;
 * `statuses` is ignored as there). Redirects are not followed: a 3xx is
 * healthy. No proxy is used (Node's http client reads no proxy variables), and
 * an https certificate is not verified, as Mesos's `curl -k`. Only the status
 * line matters: the body is dropped unread.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { CHECK_HOST, describe, type ProbeResult } from "./probe.ts";

/** What an HTTP probe requests. */
export interface HttpTarget {
  scheme: "http" | "https";
  port: number;
  path: string;
}

/** True for a status Mesos's built-in executors count as healthy. */
function healthyStatus(status: number): boolean {
  return status >= 200 && status < 400;
}

/** GETs the target; settles on the response's status, an error, or abort. */
export function httpProbe(target: HttpTarget, signal: AbortSignal): Promise<ProbeResult> {
  const url = `${target.scheme}://${CHECK_HOST}:${target.port}${target.path}`;
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ ok: false, message: "aborted" });
      return;
    }
    let settled = false;
    const done = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      req.destroy();
      resolve(result);
    };
    const request = target.scheme === "https" ? httpsRequest : httpRequest;
    const req = request({
      host: CHECK_HOST,
      port: target.port,
      path: target.path,
      method: "GET",
      agent: false,
      headers: { "user-agent": "agora-health-check", connection: "close" },
      ...(target.scheme === "https" ? { rejectUnauthorized: false } : {}),
    });
    const onAbort = () => done({ ok: false, message: `no answer from ${url} yet` });
    signal.addEventListener("abort", onAbort, { once: true });
    req.once("response", (res) => {
      const status = res.statusCode ?? 0;
      // the body is not read; closing the socket under it must not raise an unhandled error
      res.on("error", () => {});
      res.resume();
      done(
        healthyStatus(status)
          ? { ok: true }
          : { ok: false, message: `unexpected HTTP response code ${status} from ${url}` },
      );
    });
    req.on("error", (err) => done({ ok: false, message: `GET ${url} failed: ${describe(err)}` }));
    req.end();
  });
}

/**
 * TCP health check: healthy when a connection to `127.0.0.1:<port>` is
 * established (Mesos's `mesos-tcp-connect`); the connection is closed at once.
 */
import { connect } from "node:net";
import { CHECK_HOST, describe, type ProbeResult } from "./probe.ts";

/** Connects to `127.0.0.1:port`; settles on connect, error or abort. */
export function tcpProbe(port: number, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ ok: false, message: "aborted" });
      return;
    }
    const socket = connect({ host: CHECK_HOST, port });
    const done = (result: ProbeResult) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () =>
      done({ ok: false, message: `no connection to ${CHECK_HOST}:${port} yet` });
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => done({ ok: true }));
    socket.on("error", (err) =>
      done({ ok: false, message: `connection to ${CHECK_HOST}:${port} failed: ${describe(err)}` }),
    );
  });
}

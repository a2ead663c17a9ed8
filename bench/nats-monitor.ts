/**
 * The bench's nats-server with its HTTP monitoring port on, and the counters
 * read from it (`/varz`): every message published to the server (`in_msgs`)
 * and delivered by it (`out_msgs`). They count the messages of a measurement
 * exactly, without a subscriber on `>` that would double the server's work.
 */
import net from "node:net";
import { type NatsServer, startNatsServer } from "../infra/nats-server.ts";

/** Counters of `/varz`. */
export interface ServerCounters {
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
}

/** A free TCP port on the loopback interface (free when this returns; good enough for a bench). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The bench's server: nats-server with monitoring on a free port. */
export async function startMonitoredNatsServer(): Promise<{
  server: NatsServer;
  monitorUrl: string;
}> {
  const port = await freePort();
  const server = await startNatsServer({ args: ["-m", String(port)] });
  return { server, monitorUrl: `http://127.0.0.1:${port}` };
}

/** The server's message counters, or undefined when monitoring does not answer. */
export async function serverCounters(
  monitorUrl: string | undefined,
): Promise<ServerCounters | undefined> {
  if (monitorUrl === undefined) return undefined;
  try {
    const res = await fetch(`${monitorUrl}/varz`);
    if (!res.ok) return undefined;
    const v = (await res.json()) as Record<string, unknown>;
    const n = (k: string) => (typeof v[k] === "number" ? (v[k] as number) : 0);
    return {
      inMsgs: n("in_msgs"),
      outMsgs: n("out_msgs"),
      inBytes: n("in_bytes"),
      outBytes: n("out_bytes"),
    };
  } catch {
    return undefined;
  }
}

/** `b - a`, field by field. */
export function counterDelta(
  a: ServerCounters | undefined,
  b: ServerCounters | undefined,
): ServerCounters | undefined {
  if (a === undefined || b === undefined) return undefined;
  return {
    inMsgs: b.inMsgs - a.inMsgs,
    outMsgs: b.outMsgs - a.outMsgs,
    inBytes: b.inBytes - a.inBytes,
    outBytes: b.outBytes - a.outBytes,
  };
}

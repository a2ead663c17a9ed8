/**
 * The far end of the NATS baseline: a subscriber that counts what it receives
 * (and when) or a responder that echoes every request. It runs in-process on
 * its own connection, or in a child process (this file is the child's entry)
 * so that, as in the real bench, sender and receiver each have a CPU of their own.
 *
 * Child protocol over the IPC channel: the parent sends one {@link PeerSpec};
 * the child answers `{kind: "ready"}` once subscribed, then a
 * {@link PeerProgress} every {@link PROGRESS_INTERVAL_MS}, and a last one
 * after `{kind: "stop"}`, before it exits.
 */
import { fork } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { closeGracefully, connect } from "../infra/connect.ts";

/** What the peer does. */
export interface PeerSpec {
  kind: "start";
  url: string;
  /** `count`: count messages; `echo`: reply to each request with its own payload. */
  mode: "count" | "echo";
  subject: string;
  /** Messages received before the clock starts (warm-up); they are not counted. */
  skip?: number;
}

/** Messages received so far, and when the first and the last arrived (ms, the peer's clock). */
export interface PeerProgress {
  kind: "progress";
  count: number;
  /** Warm-up messages received (not counted). */
  skipped: number;
  firstAt: number;
  lastAt: number;
  /** Set on the report sent after `stop`. */
  final?: boolean;
}

/** A running peer. */
export interface Peer {
  /** The latest progress known (from the child: at most one interval old). */
  progress(): PeerProgress;
  /** Resolves on the next progress report (in-process: at once). */
  nextProgress(): Promise<PeerProgress>;
  /** Stops the peer and returns its final progress. */
  stop(): Promise<PeerProgress>;
}

/** How often a child peer reports its progress. */
const PROGRESS_INTERVAL_MS = 20;
/** How long a child peer may take to connect and subscribe. */
const CHILD_READY_TIMEOUT_MS = 15_000;

function subscribe(
  nc: NatsConnection,
  spec: PeerSpec,
): { sub: Subscription; progress: PeerProgress } {
  const progress: PeerProgress = { kind: "progress", count: 0, skipped: 0, firstAt: 0, lastAt: 0 };
  const skip = spec.skip ?? 0;
  const sub = nc.subscribe(spec.subject, {
    callback: (err, m) => {
      if (err) return;
      if (spec.mode === "echo") m.respond(m.data);
      if (progress.skipped < skip) {
        progress.skipped++;
        return;
      }
      const now = performance.now();
      if (progress.count === 0) progress.firstAt = now;
      progress.lastAt = now;
      progress.count++;
    },
  });
  return { sub, progress };
}

/** Starts a peer on its own connection in this process. */
export async function startInProcessPeer(spec: PeerSpec): Promise<Peer> {
  const nc = await connect({ servers: spec.url, name: `baseline-${spec.mode}` });
  const { progress } = subscribe(nc, spec);
  await nc.flush();
  return {
    progress: () => ({ ...progress }),
    // yield to I/O, or a waiting publisher would starve the subscriber it waits for
    nextProgress: () => new Promise((resolve) => setImmediate(() => resolve({ ...progress }))),
    async stop() {
      await nc.flush();
      const last = { ...progress };
      await closeGracefully(nc);
      return last;
    },
  };
}

/** Starts a peer in a child Node process (this file run through tsx). */
export async function startChildPeer(spec: PeerSpec): Promise<Peer> {
  const file = fileURLToPath(import.meta.url);
  const child = fork(file, [], {
    cwd: path.resolve(path.dirname(file), ".."),
    execArgv: ["--import=tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let latest: PeerProgress = { kind: "progress", count: 0, skipped: 0, firstAt: 0, lastAt: 0 };
  let waiters: Array<(p: PeerProgress) => void> = [];
  let onReady: (() => void) | undefined;
  let onFinal: (() => void) | undefined;
  let exitError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitError = new Error(`baseline peer exited (code ${code}, signal ${signal})`);
      for (const w of waiters) w(latest);
      waiters = [];
      resolve();
    });
  });
  child.on("message", (raw) => {
    const msg = raw as PeerProgress | { kind: "ready" };
    if (msg.kind === "ready") onReady?.();
    else if (msg.kind === "progress") {
      latest = msg;
      if (latest.final) onFinal?.();
      const ws = waiters;
      waiters = [];
      for (const w of ws) w(latest);
    }
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("baseline peer did not become ready in time"));
    }, CHILD_READY_TIMEOUT_MS);
    onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    void exited.then(() => {
      clearTimeout(timer);
      reject(exitError);
    });
    child.send(spec);
  });
  return {
    progress: () => latest,
    nextProgress: () =>
      exitError !== undefined
        ? Promise.reject(exitError)
        : new Promise<PeerProgress>((resolve) => waiters.push(resolve)),
    async stop() {
      if (exitError === undefined && !latest.final) {
        const final = new Promise<void>((resolve) => {
          onFinal = resolve;
        });
        child.send({ kind: "stop" });
        await Promise.race([final, exited]);
      }
      await exited;
      return latest;
    },
  };
}

/** The child's main: serve one spec until told to stop. */
async function childMain(): Promise<void> {
  const send = (m: object) => process.send?.(m);
  const spec = await new Promise<PeerSpec>((resolve) => {
    process.once("message", (m) => resolve(m as PeerSpec));
  });
  const nc = await connect({ servers: spec.url, name: `baseline-${spec.mode}` });
  const { progress } = subscribe(nc, spec);
  await nc.flush();
  send({ kind: "ready" });
  const timer = setInterval(() => send(progress), PROGRESS_INTERVAL_MS);
  await new Promise<void>((resolve) => {
    process.on("message", (m) => {
      if ((m as { kind?: string }).kind === "stop") resolve();
    });
    process.once("disconnect", () => resolve());
  });
  clearInterval(timer);
  await nc.flush().catch(() => undefined);
  send({ ...progress, final: true });
  await closeGracefully(nc);
  process.disconnect?.();
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  childMain().catch((err: unknown) => {
    process.stderr.write(`baseline peer failed: ${err instanceof Error ? err.message : err}\n`);
    process.exit(1);
  });
}

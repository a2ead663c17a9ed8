/**
 * Spawning real `nats-server` processes for tests, benchmarks and `agora dev`:
 * a single server with JetStream, or a small routed cluster with replicated
 * JetStream, each on free loopback ports with its own temporary store dir.
 *
 * Every started server is tracked and killed when the Node process exits, so a
 * crashed test run leaves no server behind.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { access, constants, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { machineSettings } from "./config.ts";
import { inheritedEnvironment } from "./inherited-env.ts";

const execFileAsync = promisify(execFile);

/** Where Debian and Ubuntu install the server binary. */
const SYSTEM_BINARY = "/usr/sbin/nats-server";
/** How long a server may take from spawn to accepting connections. */
const READY_TIMEOUT_MS = 15_000;
/** How long `stop()` waits after SIGINT before it sends SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** How long a cluster may take to elect a JetStream meta leader. */
const JETSTREAM_READY_TIMEOUT_MS = 20_000;
/** How many bytes of the server's output are kept for error messages. */
const OUTPUT_TAIL_BYTES = 8_192;

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** Enables JetStream (`-js`) with the store in the server's temp dir. Default `true`. */
  jetstream?: boolean;
  /** Client port; `-1` (the default) lets the server pick a free one. */
  port?: number;
  /** Address to bind. Default `127.0.0.1`. */
  host?: string;
  /** Extra command line arguments, appended last. */
  args?: string[];
  /** `--server_name`; required by JetStream in a cluster. */
  serverName?: string;
  /** `--cluster_name`. */
  clusterName?: string;
  /** Port for route connections (`--cluster nats://HOST:PORT`); `-1` for a random one. */
  clusterPort?: number;
  /** Route URLs of the other cluster members (`--routes`). */
  routes?: string[];
  /**
   * JetStream store dir. By default the server's fresh temp dir. A dir given here is
   * never removed by {@link NatsServer.stop}.
   */
  storeDir?: string;
  /** How long to wait until the server accepts connections. Default 15 s. */
  readyTimeoutMs?: number;
}

/** How a server process ended. */
export interface NatsServerExit {
  /** The exit code, or `null` when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or `null`. */
  signal: NodeJS.Signals | null;
}

/** A running `nats-server` child process. */
export interface NatsServer {
  /** Client URL, `nats://127.0.0.1:PORT`. */
  readonly url: string;
  /** Client port. */
  readonly port: number;
  /** Process id of the server. */
  readonly pid: number;
  /** The child process. */
  readonly process: ChildProcess;
  /** The server's temp dir (`agora-nats-*`), removed by {@link NatsServer.stop}. */
  readonly tempDir: string;
  /** The JetStream store dir (the temp dir unless {@link NatsServerOptions.storeDir} was given). */
  readonly storeDir: string;
  /** Route URL, `nats://127.0.0.1:CPORT`, when the server is clustered. */
  readonly clusterUrl?: string;
  /** Settles when the process has exited (after the child's `exit` event). */
  readonly exited: Promise<NatsServerExit>;
  /** The last few KB of the server's log (stderr). */
  logTail(): string;
  /**
   * Stops the server: SIGINT, waits for the exit, SIGKILL after 5 s if it is still
   * alive, then removes the temp dir. Idempotent; also cleans up after {@link kill}.
   */
  stop(): Promise<void>;
  /**
   * Sends a signal without any cleanup, for fault-injection tests. Await
   * {@link exited} to wait for the process to end; {@link stop} still removes the dir.
   */
  kill(signal?: NodeJS.Signals): boolean;
  /** Same as {@link stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Enables JetStream on every node and waits for a meta leader. Default `true`. */
  jetstream?: boolean;
  /** Address to bind. Default `127.0.0.1`. */
  host?: string;
  /** `--cluster_name`. Default `agora`. */
  clusterName?: string;
  /** Extra command line arguments for every node. */
  args?: string[];
  /** Per-node readiness timeout. Default 15 s. */
  readyTimeoutMs?: number;
  /** How long to wait for the JetStream meta leader. Default 20 s. */
  jetstreamReadyTimeoutMs?: number;
}

/** A running cluster of routed `nats-server` processes. */
export interface NatsCluster {
  /** The nodes, `n1` first. */
  readonly servers: NatsServer[];
  /** Client URL of every node, in node order. */
  readonly urls: string[];
  /** All client URLs joined by commas, for `--nats` flags and `AGORA_NATS_URL`. */
  readonly url: string;
  /** Stops every node and removes their dirs. Idempotent. */
  stop(): Promise<void>;
  /** Same as {@link stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** A spawned server process and its temp dir, killed and removed at process exit. */
interface Tracked {
  process: ChildProcess;
  dir: string;
}

const running = new Set<Tracked>();
let exitHookInstalled = false;

function track(entry: Tracked): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const { process: child, dir } of running) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        try {
          rmSync(dir, { recursive: true, force: true });
        } catch {
          // best effort at exit
        }
      }
    });
  }
  running.add(entry);
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function lookUp(): Promise<string | undefined> {
  for (const dir of machineSettings().searchPath) {
    const candidate = path.join(dir, "nats-server");
    if (await isExecutable(candidate)) return candidate;
  }
  if (await isExecutable(SYSTEM_BINARY)) return SYSTEM_BINARY;
  return undefined;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function aptInstall(): Promise<void> {
  const env = { ...inheritedEnvironment(), DEBIAN_FRONTEND: "noninteractive" };
  const install = () =>
    execFileAsync("apt-get", ["install", "-y", "nats-server"], { env, maxBuffer: 16 << 20 });
  try {
    await install();
  } catch {
    await execFileAsync("apt-get", ["update"], { env, maxBuffer: 16 << 20 });
    await install();
  }
}

const INSTALL_HINT =
  "nats-server not found. Install it with `apt-get install nats-server`, or download a binary " +
  "from https://github.com/nats-io/nats-server/releases, or set NATS_SERVER_BIN to its path.";

let found: Promise<string> | undefined;

/**
 * Finds the `nats-server` binary: `$NATS_SERVER_BIN`, then `PATH`, then
 * `/usr/sbin/nats-server`. When it is missing on Debian/Ubuntu and the process
 * runs as root, installs it with `apt-get install -y nats-server` (after
 * `apt-get update` if needed) and looks again.
 *
 * @returns the path of the binary.
 * @throws Error explaining how to install it when it cannot be found.
 */
export function findNatsServer(): Promise<string> {
  found ??= locate().catch((err: unknown) => {
    found = undefined;
    throw err;
  });
  return found;
}

async function locate(): Promise<string> {
  const fromEnv = machineSettings().natsServerBin;
  if (fromEnv !== undefined) {
    if (await isExecutable(fromEnv)) return fromEnv;
    throw new Error(`NATS_SERVER_BIN=${fromEnv} is not an executable file. ${INSTALL_HINT}`);
  }
  const first = await lookUp();
  if (first !== undefined) return first;
  if ((await exists("/etc/debian_version")) && process.getuid?.() === 0) {
    try {
      await aptInstall();
    } catch (err) {
      throw new Error(`apt-get install nats-server failed: ${String(err)}. ${INSTALL_HINT}`, {
        cause: err,
      });
    }
    const second = await lookUp();
    if (second !== undefined) return second;
  }
  throw new Error(INSTALL_HINT);
}

/** Keeps the last `limit` bytes of a stream of text. */
class Tail {
  #text = "";
  constructor(private readonly limit: number) {}
  push(chunk: string): void {
    this.#text += chunk;
    if (this.#text.length > this.limit) this.#text = this.#text.slice(-this.limit);
  }
  toString(): string {
    return this.#text;
  }
}

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

function probeHost(host: string): string {
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

/** Resolves when a TCP connection to host:port succeeds; rejects when it fails. */
function tcpProbe(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", (err) => {
      socket.destroy();
      reject(err);
    });
  });
}

async function readPortsFile(dir: string, pid: number): Promise<number | undefined> {
  const suffix = `_${pid}.ports`;
  const name = (await readdir(dir)).find((f) => f.endsWith(suffix));
  if (name === undefined) return undefined;
  const parsed: unknown = JSON.parse(await readFile(path.join(dir, name), "utf8"));
  if (typeof parsed !== "object" || parsed === null || !("nats" in parsed)) return undefined;
  const urls = parsed.nats;
  if (!Array.isArray(urls) || typeof urls[0] !== "string") return undefined;
  const port = Number(new URL(urls[0]).port);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

const CLIENT_RE = /Listening for client connections on (\S+):(\d+)/;
const ROUTE_RE = /Listening for route connections on (\S+):(\d+)/;
const READY_RE = /Server is ready/;

/**
 * Starts a real `nats-server` on a free loopback port with JetStream in a fresh
 * temp dir (`$TMPDIR/agora-nats-*`). Resolves once the server logged "Server is
 * ready" and a TCP connection to its client port succeeded.
 *
 * @throws Error with the tail of the server's stderr if it exits before it is
 *   ready, or after 15 s without readiness.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = await findNatsServer();
  const host = options.host ?? "127.0.0.1";
  const jetstream = options.jetstream ?? true;
  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const tempDir = await mkdtemp(path.join(os.tmpdir(), "agora-nats-"));
  const storeDir = options.storeDir ?? tempDir;

  const args = ["-a", host, "-p", String(options.port ?? -1), "--ports_file_dir", tempDir];
  if (jetstream) args.push("-js", "-sd", storeDir);
  if (options.serverName !== undefined) args.push("--server_name", options.serverName);
  if (options.clusterName !== undefined) args.push("--cluster_name", options.clusterName);
  if (options.clusterPort !== undefined || (options.routes?.length ?? 0) > 0) {
    const bindHost = host.includes(":") ? `[${host}]` : host;
    args.push("--cluster", `nats://${bindHost}:${options.clusterPort ?? -1}`);
  }
  if (options.routes !== undefined && options.routes.length > 0) {
    args.push("--routes", options.routes.join(","));
  }
  args.push(...(options.args ?? []));

  let child: ChildProcess;
  try {
    child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    await rm(tempDir, { recursive: true, force: true });
    throw err;
  }

  const stderrTail = new Tail(OUTPUT_TAIL_BYTES);
  const stdoutTail = new Tail(OUTPUT_TAIL_BYTES);
  const exited = new Promise<NatsServerExit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    // A spawn failure (ENOENT, EACCES) emits "error" and no "exit".
    child.once("error", () => {
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
  // "close" follows "exit" once both pipes are read to the end.
  const outputClosed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  // Keep reading both pipes for the whole life of the server: a full pipe would block it.
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => stdoutTail.push(chunk));

  const clustered = options.clusterPort !== undefined || (options.routes?.length ?? 0) > 0;
  let clientPort: number | undefined;
  let clusterPort: number | undefined;
  let port = 0;
  let pid = 0;
  // Startup is done once "Server is ready" was logged and, when clustered, the route
  // listener too (nats-server logs it after "Server is ready").
  let notifyStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    notifyStarted = resolve;
  });
  let sawReady = false;
  let parsing = true;
  let pending = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderrTail.push(chunk);
    if (!parsing) return;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const client = CLIENT_RE.exec(line);
      if (client) clientPort = Number(client[2]);
      const route = ROUTE_RE.exec(line);
      if (route) clusterPort = Number(route[2]);
      if (READY_RE.test(line)) sawReady = true;
      if (sawReady && (!clustered || clusterPort !== undefined)) {
        parsing = false;
        pending = "";
        notifyStarted();
        break;
      }
    }
  });

  const describeOutput = (): string => {
    const err = stderrTail.toString().trim();
    if (err !== "") return `stderr:\n${err}`;
    const out = stdoutTail.toString().trim();
    return out === "" ? "(no output)" : `stdout:\n${out}`;
  };

  let spawnError: Error | undefined;
  child.once("error", (err) => {
    spawnError = err;
  });

  // Track the process from the start so an exit during startup still kills it.
  const tracked: Tracked = { process: child, dir: tempDir };
  track(tracked);

  const killAndClean = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill("SIGKILL");
      await exited;
    }
    running.delete(tracked);
    await rm(tempDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const exitedEarly = exited.then(() => "exited" as const);

  try {
    const first = await Promise.race([started.then(() => "ready" as const), exitedEarly, timedOut]);
    if (first === "exited") {
      const how = await exited;
      // Read the last words of the server before quoting them.
      await Promise.race([outputClosed, new Promise((resolve) => setTimeout(resolve, 1_000))]);
      const cause = spawnError === undefined ? "" : ` (${spawnError.message})`;
      throw new Error(
        `nats-server exited before it was ready (code ${how.code}, signal ${how.signal})` +
          `${cause}; args: ${args.join(" ")}\n${describeOutput()}`,
        spawnError === undefined ? undefined : { cause: spawnError },
      );
    }
    if (first === "timeout") {
      throw new Error(
        `nats-server did not become ready within ${timeoutMs} ms; args: ${args.join(" ")}\n` +
          describeOutput(),
      );
    }
    // "Server is ready" was logged: find the port and check that it accepts connections.
    if (child.pid === undefined) throw new Error("nats-server has no pid");
    pid = child.pid;
    const probe = probeHost(urlHost(host));
    for (;;) {
      if (clientPort === undefined) clientPort = await readPortsFile(tempDir, pid);
      if (clientPort !== undefined) {
        try {
          await tcpProbe(probe, clientPort);
          port = clientPort;
          break;
        } catch {
          // not accepting yet
        }
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`nats-server exited right after it was ready\n${describeOutput()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `nats-server logged "Server is ready" but port ${clientPort ?? "(unknown)"} ` +
            `did not accept a connection within ${timeoutMs} ms\n${describeOutput()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } catch (err) {
    await killAndClean();
    throw err;
  } finally {
    clearTimeout(timer);
  }

  // Let a process that forgot to stop its server still exit; the exit hook kills it.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) {
    if (stream instanceof net.Socket) stream.unref();
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGINT");
        let grace: NodeJS.Timeout | undefined;
        const graceful = await Promise.race([
          exited.then(() => true),
          new Promise<boolean>((resolve) => {
            grace = setTimeout(() => resolve(false), STOP_GRACE_MS);
          }),
        ]);
        clearTimeout(grace);
        if (!graceful) {
          child.kill("SIGKILL");
          await exited;
        }
      }
      running.delete(tracked);
      await rm(tempDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const server: NatsServer = {
    url: `nats://${urlHost(host)}:${port}`,
    port,
    pid,
    process: child,
    tempDir,
    storeDir,
    ...(clusterPort === undefined ? {} : { clusterUrl: `nats://${urlHost(host)}:${clusterPort}` }),
    exited,
    logTail: () => stderrTail.toString(),
    stop,
    kill: (signal: NodeJS.Signals = "SIGKILL") => child.kill(signal),
    [Symbol.asyncDispose]: stop,
  };
  return server;
}

/** Starts of a cluster on new ports when a node found its cluster port taken meanwhile. */
const CLUSTER_START_ATTEMPTS = 3;

/** Returns `count` distinct free TCP ports on `host` by binding port 0. */
async function freePorts(count: number, host: string): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, host, () => resolve());
      });
      const address = srv.address();
      if (address === null || typeof address === "string") throw new Error("no port bound");
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(
      servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))),
    );
  }
}

/** Polls the JetStream account info on `url` until the meta leader answers. */
async function waitForJetStream(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const nc = await natsConnect({
    servers: url,
    name: "agora-nats-cluster-probe",
    ignoreClusterUpdates: true,
    timeout: Math.min(timeoutMs, 5_000),
  });
  let lastError: unknown;
  try {
    for (;;) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 1_000, checkAPI: false });
        await jsm.getAccountInfo();
        return;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `JetStream on ${url} was not ready within ${timeoutMs} ms (no meta leader?): ` +
            String(lastError),
          { cause: lastError },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await nc.close();
  }
}

/**
 * Starts `size` servers (`n1`..`nN`) forming one routed cluster named `agora`
 * on loopback, each with JetStream in its own temp dir. Resolves once every node
 * is ready and (with JetStream) every node gets an answer to a JetStream account
 * info request, which needs an elected meta leader.
 *
 * @throws Error when a node fails to start or JetStream is not ready within 20 s;
 *   the nodes already started are stopped first.
 */
export async function startNatsCluster(
  size = 3,
  options: NatsClusterOptions = {},
): Promise<NatsCluster> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`cluster size must be >= 1: ${size}`);
  const host = options.host ?? "127.0.0.1";
  const jetstream = options.jetstream ?? true;
  // The free ports are closed again before the nodes bind them, so another process can take
  // one in between: the nodes are then started again on new ports, a few times.
  let servers: NatsServer[] = [];
  for (let attempt = 1; ; attempt++) {
    const clusterPorts = await freePorts(size, host);
    const routeUrls = clusterPorts.map((p) => `nats://${urlHost(host)}:${p}`);
    const results = await Promise.allSettled(
      clusterPorts.map((clusterPort, i) =>
        startNatsServer({
          jetstream,
          host,
          serverName: `n${i + 1}`,
          clusterName: options.clusterName ?? "agora",
          clusterPort,
          routes: routeUrls.filter((_, j) => j !== i),
          ...(options.args === undefined ? {} : { args: options.args }),
          ...(options.readyTimeoutMs === undefined
            ? {}
            : { readyTimeoutMs: options.readyTimeoutMs }),
        }),
      ),
    );
    servers = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed === undefined) break;
    await Promise.all(servers.map((s) => s.stop()));
    const portTaken = String(failed.reason).includes("address already in use");
    if (!portTaken || attempt >= CLUSTER_START_ATTEMPTS) throw failed.reason;
  }
  const stopAll = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };

  if (jetstream) {
    const timeoutMs = options.jetstreamReadyTimeoutMs ?? JETSTREAM_READY_TIMEOUT_MS;
    try {
      await Promise.all(servers.map((s) => waitForJetStream(s.url, timeoutMs)));
    } catch (err) {
      await stopAll();
      throw err;
    }
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= stopAll();
    return stopping;
  };
  const urls = servers.map((s) => s.url);
  return { servers, urls, url: urls.join(","), stop, [Symbol.asyncDispose]: stop };
}

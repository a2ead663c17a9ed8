/**
 * The master under test, in a child process of its own so that its memory
 * and CPU can be read from /proc: `node bin/agora.js master --nats URL` when
 * the CLI has the command, else `bench/master-main.ts` (createMaster behind
 * the same flags). Ready once it answers `operator.getState`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { NatsConnection } from "@nats-io/nats-core";
import { encode } from "../protocol/codec.ts";
import type { Subjects } from "../protocol/subjects.ts";

/** The repository root (this file is in bench/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** How the master is available in this checkout, or why it is not. */
export type MasterAvailability =
  | { available: true; via: "cli" | "createMaster" }
  | { available: false; reason: string };

/**
 * Finds out whether a master can be benchmarked (it may not be written yet).
 * @param root the repository to look in (default this one)
 */
export async function masterAvailability(root = REPO_ROOT): Promise<MasterAvailability> {
  const entry = path.join(root, "actors", "master", "index.ts");
  if (!existsSync(entry)) return { available: false, reason: "actors/master/index.ts is missing" };
  let mod: Record<string, unknown>;
  try {
    // a computed specifier: the bench must compile and run before the master exists
    mod = (await import(entry)) as Record<string, unknown>;
  } catch (err) {
    return {
      available: false,
      reason: `actors/master/index.ts does not load: ${err instanceof Error ? err.message : err}`,
    };
  }
  if (typeof mod.createMaster !== "function") {
    return { available: false, reason: "actors/master/index.ts does not export createMaster" };
  }
  const cli = existsSync(path.join(root, "cli", "commands", "master.ts"));
  return { available: true, via: cli ? "cli" : "createMaster" };
}

/** Options of {@link startMasterProcess}. */
export interface MasterProcessOptions {
  url: string;
  subjects: Subjects;
  via: "cli" | "createMaster";
  /** `AGORA_LOG_LEVEL` of the master. @default "warn" */
  logLevel?: string;
  /** Extra master flags. */
  args?: string[];
  /** Node flags before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** @default 20 s */
  readyTimeoutMs?: number;
  /** `--master-id` of the master (also the subject of its `master.instance.<id>`). */
  masterId?: string;
  /**
   * When it counts as started: `leader` once it answers on `master.operator`
   * (only a leader serves it), `instance` once it answers on its own
   * `master.instance.<masterId>` (a standby does too). @default "leader"
   */
  ready?: "leader" | "instance";
}

/** A running master child process. */
export interface MasterProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** How it was started, for the report. */
  readonly command: string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** Sends SIGKILL; resolves once it has exited. */
  kill(): Promise<void>;
  /** Whether it has exited. */
  exited(): boolean;
  /** The last 8 KiB of its stderr. */
  stderr(): string;
  /**
   * Its memory after a full garbage collection (`heap-probe.mjs`, preloaded
   * with `--expose-gc`): undefined when the probe does not answer in 10 s.
   */
  heap(): Promise<HeapFigures | undefined>;
}

/** `process.memoryUsage()` of the master after a full garbage collection. */
export interface HeapFigures {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** What the master's JavaScript holds: heap in use plus memory outside the heap (buffers). */
export function liveBytes(heap: HeapFigures): number {
  return heap.heapUsed + heap.external;
}

const HEAP_PROBE = path.join(REPO_ROOT, "bench", "heap-probe.mjs");
const HEAP_LINE = /^heap-probe (\{.*\})$/m;

/** Starts the master and waits until it answers on its operator subject. */
export async function startMasterProcess(
  nc: NatsConnection,
  options: MasterProcessOptions,
): Promise<MasterProcess> {
  const args = [
    "--expose-gc",
    // bytecode of code not run lately is dropped on GC: heap figures taken
    // minutes apart would count that as memory freed
    "--no-flush-bytecode",
    // a larger young generation (default 16 MB): fewer scavenges at tens of thousands of
    // messages per second, which shortens the latency tail (README, Performance)
    "--max-semi-space-size=32",
    `--import=${pathToFileURL(HEAP_PROBE).href}`,
    ...(options.nodeArgs ?? []),
    ...(options.via === "cli"
      ? [path.join(REPO_ROOT, "bin", "agora.js"), "master"]
      : ["--import=tsx", path.join(REPO_ROOT, "bench", "master-main.ts")]),
  ];
  args.push("--nats", options.url, "--prefix", options.subjects.prefix);
  if (options.masterId !== undefined) args.push("--master-id", options.masterId);
  args.push(...(options.args ?? []));
  const readySubject =
    options.ready === "instance"
      ? options.masterId === undefined
        ? undefined
        : options.subjects.masterInstance(options.masterId)
      : options.subjects.masterOperator();
  if (readySubject === undefined) throw new Error("ready: instance needs a masterId");
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, AGORA_LOG_LEVEL: options.logLevel ?? "warn" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  let heapWaiter: ((figures: HeapFigures) => void) | undefined;
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    const line = HEAP_LINE.exec(chunk);
    if (line?.[1] !== undefined && heapWaiter !== undefined) {
      heapWaiter(JSON.parse(line[1]) as HeapFigures);
      heapWaiter = undefined;
      chunk = chunk.replace(HEAP_LINE, "");
    }
    stderr = (stderr + chunk).slice(-8192);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const stop = async () => {
    if (!gone) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  const probe = encode({ type: "operator.getState" });
  for (;;) {
    if (gone) throw new Error(`the master exited before it was ready:\n${stderr.trim()}`);
    try {
      await nc.request(readySubject, probe, { timeout: 1000 });
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the master did not answer within the deadline:\n${stderr.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  if (child.pid === undefined) throw new Error("the master child has no pid");
  return {
    pid: child.pid,
    child,
    command: `node ${args
      .map((a) =>
        a.startsWith("--import=file:")
          ? `--import=./${path.relative(REPO_ROOT, fileURLToPath(a.slice("--import=".length)))}`
          : path.isAbsolute(a)
            ? path.relative(REPO_ROOT, a)
            : a,
      )
      .join(" ")}`,
    stop,
    kill: async () => {
      if (!gone) child.kill("SIGKILL");
      await exited;
    },
    exited: () => gone,
    stderr: () => stderr,
    heap: () => {
      if (gone) return Promise.resolve(undefined);
      return new Promise<HeapFigures | undefined>((resolve) => {
        const timer = setTimeout(() => {
          heapWaiter = undefined;
          resolve(undefined);
        }, 10_000);
        heapWaiter = (figures) => {
          clearTimeout(timer);
          resolve(figures);
        };
        child.kill("SIGUSR2");
      });
    },
  };
}

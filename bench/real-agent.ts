/**
 * A real `agora agent` child process for the bench (bin/agora.js agent),
 * and the cleanup of what it leaves: processes still running in its work
 * dir (executors and their tasks, which outlive a killed agent by design).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./master-process.ts";

/** Options of {@link startRealAgent}. */
export interface RealAgentOptions {
  url: string;
  prefix: string;
  workDir: string;
  resources: string;
  hostname: string;
  logLevel: string;
  /** Extra agent flags. */
  args?: string[];
}

/** A running agent process. */
export interface RealAgent {
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  /** The last 4 KiB of its stderr. */
  stderr(): string;
  exited(): boolean;
  /** SIGKILL; resolves once it has exited. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

export function startRealAgent(options: RealAgentOptions): RealAgent {
  const child = spawn(
    process.execPath,
    [
      path.join(REPO_ROOT, "bin", "agora.js"),
      "agent",
      "--nats",
      options.url,
      "--prefix",
      options.prefix,
      "--work-dir",
      options.workDir,
      "--resources",
      options.resources,
      "--hostname",
      options.hostname,
      ...(options.args ?? []),
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, AGORA_LOG_LEVEL: options.logLevel },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  let gone = false;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      gone = true;
      resolve();
    }),
  );
  return {
    child,
    pid: child.pid,
    stderr: () => stderr,
    exited: () => gone,
    kill: async () => {
      if (!gone) child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      if (gone) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * SIGKILLs every process of this user whose working directory is inside
 * `workDir` (the executors and tasks a bench agent started); returns how many.
 */
export function killProcessesIn(workDir: string): number {
  return signalProcessesIn(workDir, "SIGKILL");
}

/**
 * Sends `signal` to every process of this user whose working directory is
 * inside `workDir` (`nodeOnly`: only those running this Node, e.g. the
 * executors and not their tasks); returns how many.
 */
export function signalProcessesIn(
  workDir: string,
  signal: NodeJS.Signals,
  nodeOnly = false,
): number {
  const root = path.resolve(workDir);
  let signalled = 0;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (nodeOnly && readlinkSync(`/proc/${entry}/exe`) !== process.execPath) continue;
    } catch {
      continue;
    }
    if (cwd !== root && !cwd.startsWith(`${root}${path.sep}`)) continue;
    try {
      process.kill(pid, signal);
      signalled++;
    } catch {
      // gone meanwhile
    }
  }
  return signalled;
}

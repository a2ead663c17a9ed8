/**
 * Running the `agora` executable as a user types it: `node bin/agora.js ...`
 * as a child process, with its output collected line by line.
 */

import { type ChildProcess, spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Recorder } from "../../../actors/scheduler/recorder.ts";

/** The executable's entry point. */
export const AGORA_BIN = fileURLToPath(new URL("../../../bin/agora.js", import.meta.url));

/** How a finished `agora` process ended. */
export interface AgoraResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `agora` process. */
export interface AgoraProcess {
  child: ChildProcess;
  /** Lines of stdout and stderr, as they come. */
  stdout: Recorder<string>;
  stderr: Recorder<string>;
  /** Settles when the process has exited. */
  result: Promise<AgoraResult>;
}

/** A clean environment: no NATS URL or prefix leaking in from the test's shell. */
/**
 * `AGORA_HOME` of the commands a test file runs: its own, so that `agora dev`'s
 * credentials (`$AGORA_HOME/dev`) are shared by the file's commands and never the user's.
 */
const TEST_AGORA_HOME = path.join(os.tmpdir(), `agora-test-home-${process.pid}`);

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AGORA_LOG_LEVEL: "warn",
    AGORA_HOME: TEST_AGORA_HOME,
    ...extra,
  };
  delete env.AGORA_NATS_URL;
  delete env.AGORA_SUBJECT_PREFIX;
  return env;
}

function lines(stream: NodeJS.ReadableStream | null, recorder: Recorder<string>): () => string {
  let all = "";
  let pending = "";
  stream?.setEncoding("utf8");
  stream?.on("data", (chunk: string) => {
    all += chunk;
    pending += chunk;
    const parts = pending.split("\n");
    pending = parts.pop() ?? "";
    for (const line of parts) recorder.push(line);
  });
  return () => all;
}

/** Starts `agora ARGS...`. */
export function startAgora(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): AgoraProcess {
  const child = spawn(process.execPath, [AGORA_BIN, ...args], {
    env: childEnv(options.env),
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout = new Recorder<string>();
  const stderr = new Recorder<string>();
  const out = lines(child.stdout, stdout);
  const err = lines(child.stderr, stderr);
  const result = new Promise<AgoraResult>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal, stdout: out(), stderr: err() }));
  });
  return { child, stdout, stderr, result };
}

/** Runs `agora ARGS...` to its end; SIGKILLs it after `timeoutMs`. */
export async function runAgora(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<AgoraResult> {
  const proc = startAgora(args, options);
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  try {
    return await proc.result;
  } finally {
    clearTimeout(timer);
  }
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

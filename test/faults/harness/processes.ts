/**
 * Real processes of the fault tier: `node bin/agora.js ...` and fixture
 * programs as children, each with its output in a log file of the test's
 * temp dir; signals (SIGKILL, SIGSTOP/SIGCONT, SIGINT); and the /proc
 * look-ups that find executors and tasks, which outlive their agent by
 * design and so must be found and killed by where they run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { readdir, readFile, readlink } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** The executable's entry point. */
export const AGORA_BIN = fileURLToPath(new URL("../../../bin/agora.js", import.meta.url));

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process of a test. */
export class Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Settles when the process has exited. */
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  #paused = false;
  #ended = false;

  constructor(
    /** A short name for messages: `master m1`, `agent a1`... */
    readonly name: string,
    file: string,
    args: string[],
    /** Where stdout and stderr go (appended). */
    readonly logFile: string,
    options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: boolean } = {},
  ) {
    const out = openSync(logFile, "a");
    try {
      this.child = spawn(file, args, {
        env: options.env ?? childEnv(),
        cwd: options.cwd,
        stdio: [options.stdin === true ? "pipe" : "ignore", out, out],
      });
    } finally {
      closeSync(out);
    }
    if (this.child.pid === undefined) throw new Error(`${name} did not start`);
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.#exit === undefined;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** True once the test killed or stopped it on purpose. */
  get endedByTest(): boolean {
    return this.#ended;
  }

  /** Sends a signal (false when the process is gone). */
  signal(signal: NodeJS.Signals): boolean {
    if (!this.alive) return false;
    if (signal === "SIGSTOP") this.#paused = true;
    if (signal === "SIGCONT") this.#paused = false;
    return this.child.kill(signal);
  }

  /** `kill -9`, and waits for the exit. */
  async kill(): Promise<Exit> {
    this.#ended = true;
    this.signal("SIGKILL");
    return this.exited;
  }

  /** SIGSTOP: the process freezes (timers, sockets and all). */
  pause(): void {
    this.signal("SIGSTOP");
  }

  /** SIGCONT. */
  resume(): void {
    this.signal("SIGCONT");
  }

  /**
   * A clean stop: SIGINT (a paused process is continued first), SIGKILL after
   * `graceMs`. Resolves with the exit.
   */
  async stop(graceMs = 5_000): Promise<Exit> {
    this.#ended = true;
    if (!this.alive) return this.#exit as Exit;
    if (this.#paused) this.resume();
    this.signal("SIGINT");
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal("SIGKILL");
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, forced]);
    clearTimeout(timer);
    return this.exited;
  }

  /** The last `bytes` of the process's output, for failure messages. */
  logTail(bytes = 4_000): string {
    try {
      const text = readFileSync(this.logFile, "utf8");
      return text.slice(-bytes);
    } catch {
      return "";
    }
  }
}

/** The environment of a child: no NATS URL or prefix leaking in from the test's shell. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AGORA_LOG_LEVEL: "warn", ...extra };
  delete env.AGORA_NATS_URL;
  delete env.AGORA_SUBJECT_PREFIX;
  return env;
}

/** One process as /proc shows it. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  cwd: string;
  /** Its environment (empty when unreadable). */
  env: Map<string, string>;
  cmdline: string[];
}

async function procInfo(pid: number): Promise<ProcInfo | undefined> {
  try {
    const [stat, cwd, environ, cmdline] = await Promise.all([
      readFile(`/proc/${pid}/stat`, "utf8"),
      readlink(`/proc/${pid}/cwd`),
      readFile(`/proc/${pid}/environ`, "utf8").catch(() => ""),
      readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => ""),
    ]);
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") return undefined;
    const env = new Map<string, string>();
    for (const entry of environ.split("\0")) {
      const eq = entry.indexOf("=");
      if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    return { pid, ppid: Number(fields[1]), cwd, env, cmdline: cmdline.split("\0").filter(Boolean) };
  } catch {
    return undefined;
  }
}

/** Every live (not zombie) process whose working directory is under `dir`. */
export async function processesUnder(dir: string): Promise<ProcInfo[]> {
  const out: ProcInfo[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const info = await procInfo(pid);
    if (info !== undefined && (info.cwd === dir || info.cwd.startsWith(`${dir}/`))) out.push(info);
  }
  return out;
}

/**
 * SIGKILLs every process whose working directory is under `dir` (executors
 * and tasks outlive their agent by design), until none is left.
 */
export async function killProcessesUnder(dir: string): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const left = await processesUnder(dir);
    if (left.length === 0) return;
    for (const p of left) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The executor of a task and the processes it started, as found under an agent's work dir. */
export interface TaskProcesses {
  executor: ProcInfo | undefined;
  /** Everything below the executor that carries the executor's id (the task's processes). */
  tasks: ProcInfo[];
}

/**
 * The processes of the executor whose `AGORA_EXECUTOR_ID` (its task's: `MESOS_EXECUTOR_ID`) is `executorId`
 * (the task id for command tasks) under `workDir`: the executor is the one
 * whose parent is not one of them.
 */
export async function taskProcesses(workDir: string, executorId: string): Promise<TaskProcesses> {
  const mine = (await processesUnder(workDir)).filter(
    (p) => (p.env.get("AGORA_EXECUTOR_ID") ?? p.env.get("MESOS_EXECUTOR_ID")) === executorId,
  );
  const pids = new Set(mine.map((p) => p.pid));
  const executor = mine.find((p) => !pids.has(p.ppid));
  return { executor, tasks: mine.filter((p) => p !== executor) };
}

/** True while a process with this pid exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Dirs whose processes are killed when this process exits (a crashed or timed-out test run). */
const guarded = new Set<string>();
let exitHook = false;

/** The synchronous /proc sweep of {@link killProcessesUnder}, for an exit hook. */
function killUnderSync(dir: string): void {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) process.kill(Number(entry), "SIGKILL");
    } catch {
      // gone, or not ours
    }
  }
}

/**
 * Kills every process under `dir` when this process exits, whatever the
 * reason (the normal cleanup is asynchronous and may never run when a worker
 * is torn down). Returns the function that stops guarding the dir.
 */
export function guardDir(dir: string): () => void {
  guarded.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const d of guarded) killUnderSync(d);
    });
  }
  return () => guarded.delete(dir);
}

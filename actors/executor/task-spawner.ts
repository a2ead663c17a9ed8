/**
 * The default executor's task spawner: tasks' processes are started by a
 * small helper process (./spawner-helper.ts says why) rather than by the
 * executor itself. {@link TaskSpawner.spawn} takes what
 * {@link spawnTaskProcess} takes and returns a {@link TaskChild} that emits
 * what a `ChildProcess` emits to its executor: `spawn` (its `pid` is set),
 * `error` (the program did not start) and `exit` (code, signal); and `lost`
 * when the helper died while the task ran, so its exit will never be known
 * (the executor then kills what is left and fails the task).
 *
 * The helper starts on the first spawn, and again on the next spawn after
 * it died. Requests of one event-loop turn leave in one write.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import path from "node:path";
import type { Logger } from "../../infra/logger.ts";
import { SPAWNER_HELPER_SOURCE } from "./spawner-helper.ts";
import { type TaskProcessSpec, taskProgram } from "./task-process.ts";

/** Node flags of the helper: no V8 worker threads, a young generation of 1 MiB (forks cost ~15% less). */
const HELPER_NODE_FLAGS = ["--single-threaded", "--max-semi-space-size=1"];

/** The events of a {@link TaskChild}. */
interface TaskChildEvents {
  spawn: [];
  error: [Error];
  exit: [number | null, NodeJS.Signals | null];
  lost: [];
}

/** A task's process started through the helper: the part of `ChildProcess` an executor uses. */
export class TaskChild extends EventEmitter<TaskChildEvents> {
  /** The process id, once `spawn` was emitted. */
  pid: number | undefined;
}

/** A reply of the helper, as validated here. */
type Reply =
  | { id: number; ev: "spawn"; pid: number }
  | { id: number; ev: "error"; message: string }
  | { id: number; ev: "exit"; code: number | null; signal: NodeJS.Signals | null };

/** The helper's reply in `line`, or undefined when it is not one. */
function parseReply(line: string): Reply | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r.id !== "number") return undefined;
  if (r.ev === "spawn" && typeof r.pid === "number") return { id: r.id, ev: "spawn", pid: r.pid };
  if (r.ev === "error" && typeof r.message === "string")
    return { id: r.id, ev: "error", message: r.message };
  if (
    r.ev === "exit" &&
    (typeof r.code === "number" || r.code === null) &&
    (typeof r.signal === "string" || r.signal === null)
  ) {
    return { id: r.id, ev: "exit", code: r.code, signal: r.signal as NodeJS.Signals | null };
  }
  return undefined;
}

/** One running helper process and the children it was asked for. */
interface Helper {
  process: ChildProcess;
  children: Map<number, TaskChild>;
  /** Requests not written yet (they leave at the end of the turn). */
  pending: string[];
  input: string;
}

/** Starts tasks' processes through the helper; see the module comment. */
export class TaskSpawner {
  readonly #logger: Logger;
  #helper: Helper | undefined;
  #nextId = 1;
  #scheduled = false;
  #closed = false;

  constructor(options: { logger: Logger }) {
    this.#logger = options.logger;
  }

  /**
   * Asks the helper to start the task's process (joins of its cgroups, its
   * user, its sandbox's `stdout` and `stderr`, as {@link spawnTaskProcess}).
   * @throws Error when the program cannot be built (a user that vanished), or after {@link close}
   */
  spawn(spec: TaskProcessSpec): TaskChild {
    if (this.#closed) throw new Error("the task spawner is closed");
    const program = taskProgram(spec);
    const helper = this.#ensureHelper();
    const id = this.#nextId++;
    const child = new TaskChild();
    helper.children.set(id, child);
    helper.pending.push(
      JSON.stringify({
        id,
        file: program.argv[0],
        args: program.argv.slice(1),
        cwd: spec.sandbox,
        env: spec.env,
        stdout: path.join(spec.sandbox, "stdout"),
        stderr: path.join(spec.sandbox, "stderr"),
        ...(program.uid === undefined ? {} : { uid: program.uid, gid: program.gid }),
      }),
    );
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    return child;
  }

  /** Ends the helper (its children are not signalled: the executor kills its tasks itself). */
  close(): void {
    this.#closed = true;
    this.#helper?.process.stdin?.end();
  }

  #flush(): void {
    this.#scheduled = false;
    const helper = this.#helper;
    if (helper === undefined || helper.pending.length === 0) return;
    const text = `${helper.pending.join("\n")}\n`;
    helper.pending = [];
    helper.process.stdin?.write(text);
  }

  #ensureHelper(): Helper {
    if (this.#helper !== undefined) return this.#helper;
    // small and single-threaded (a fork copies the page tables of the whole process), and with
    // no environment of the executor's (its NODE_OPTIONS, its credentials): each request carries
    // its task's
    const proc = spawn(process.execPath, [...HELPER_NODE_FLAGS, "-e", SPAWNER_HELPER_SOURCE], {
      stdio: ["pipe", "pipe", "inherit"],
      env: {},
    });
    const helper: Helper = { process: proc, children: new Map(), pending: [], input: "" };
    this.#helper = helper;
    proc.stdin?.on("error", () => {}); // a helper that died: handled on `exit`
    proc.stdout?.setEncoding("utf8");
    proc.stdout?.on("data", (chunk: string) => this.#onData(helper, chunk));
    proc.once("error", (err) => this.#onGone(helper, `could not start: ${err.message}`));
    proc.once("exit", (code, signal) =>
      this.#onGone(helper, signal === null ? `exited with status ${code}` : `killed by ${signal}`),
    );
    return helper;
  }

  #onData(helper: Helper, chunk: string): void {
    helper.input += chunk;
    let at = helper.input.indexOf("\n");
    while (at >= 0) {
      const line = helper.input.slice(0, at);
      helper.input = helper.input.slice(at + 1);
      at = helper.input.indexOf("\n");
      const reply = parseReply(line);
      if (reply === undefined) {
        this.#logger.warn(
          { line: line.slice(0, 200) },
          "the task spawner sent a line it should not",
        );
        continue;
      }
      const child = helper.children.get(reply.id);
      if (child === undefined) continue;
      if (reply.ev === "spawn") {
        child.pid = reply.pid;
        child.emit("spawn");
      } else if (reply.ev === "error") {
        helper.children.delete(reply.id);
        child.emit("error", new Error(reply.message));
      } else {
        helper.children.delete(reply.id);
        child.emit("exit", reply.code, reply.signal);
      }
    }
  }

  #onGone(helper: Helper, why: string): void {
    if (this.#helper === helper) this.#helper = undefined;
    helper.pending = [];
    if (helper.children.size === 0) return;
    const children = [...helper.children.values()];
    helper.children.clear();
    if (!this.#closed) this.#logger.error({ why }, "the task spawner ended with tasks in flight");
    for (const child of children) {
      if (child.pid === undefined) child.emit("error", new Error(`the task spawner ${why}`));
      else child.emit("lost");
    }
  }
}

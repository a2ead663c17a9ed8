/**
 * Command health check, as Mesos's: the command runs as `/bin/sh -c value`
 * (or the program with its arguments when `shell` is false) with the task's
 * environment plus the command's own; exit status 0 is healthy. It runs in a
 * process group of its own so that an abort (the check's timeout) SIGKILLs it
 * and everything it started, as Mesos's `os::killtree`. Its stdout and stderr
 * are kept, bounded to their last {@link HEALTH_CHECK_OUTPUT_BYTES}, for the
 * failure message. The probe settles once the command has exited and its
 * output has ended; what the command left running in its group is SIGKILLed
 * at its exit, so no check process outlives the probe.
 */
import { spawn } from "node:child_process";
import { HEALTH_CHECK_OUTPUT_BYTES } from "../../../infra/defaults.ts";
import { inheritedEnvironment } from "../../../infra/inherited-env.ts";
import type { CommandInfo } from "../../../protocol/common.ts";
import { signalGroup } from "../../shared/process-tree.ts";
import { commandProgram } from "../../shared/programs.ts";
import { describe, type ProbeResult } from "./probe.ts";

/** Where a command check runs. */
export interface CommandProbeOptions {
  /** Working directory (the task's sandbox). @default the executor's */
  cwd?: string;
  /** Base environment (the task's); the command's `environment` is laid over it. @default the executor's */
  env?: NodeJS.ProcessEnv;
  /** Bytes of output kept for the failure message. @default HEALTH_CHECK_OUTPUT_BYTES */
  outputBytes?: number;
  /** The user the check runs as (the task's), when it is not the executor's. */
  uid?: number;
  gid?: number;
}

/** The last `max` bytes written to it. */
class Tail {
  #chunks: Buffer[] = [];
  #bytes = 0;
  #dropped = false;

  constructor(readonly max: number) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (this.#bytes > this.max && this.#chunks.length > 0) {
      const first = this.#chunks[0]!;
      const excess = this.#bytes - this.max;
      this.#dropped = true;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#bytes -= first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#bytes -= excess;
      }
    }
  }

  text(): string {
    const text = Buffer.concat(this.#chunks).toString("utf8").trim();
    return this.#dropped && text !== "" ? `…${text}` : text;
  }
}

/** Runs the command once; settles after it has exited (or could not start). */
export function commandProbe(
  command: CommandInfo,
  signal: AbortSignal,
  options: CommandProbeOptions = {},
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ ok: false, message: "aborted" });
      return;
    }
    const program = commandProgram(command);
    const output = new Tail(options.outputBytes ?? HEALTH_CHECK_OUTPUT_BYTES);
    let settled = false;
    const done = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const withOutput = (message: string) => {
      const text = output.text();
      return text === "" ? message : `${message}: ${text}`;
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(program.file, program.args, {
        cwd: options.cwd,
        env: { ...(options.env ?? inheritedEnvironment()), ...(command.environment ?? {}) },
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
      });
    } catch (err) {
      done({ ok: false, message: `the command could not start: ${describe(err)}` });
      return;
    }
    let aborted = false;
    let exited = false;
    const onAbort = () => {
      aborted = true;
      if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
      // exited, but something outside its group holds the pipes: stop waiting for them
      if (exited) {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }
    };
    signal.addEventListener("abort", onAbort, { once: true });
    child.stdout?.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => output.push(chunk));
    child.once("error", (err) => {
      // only a failed spawn ends here without an exit; a late error after the exit is ignored
      if (child.pid === undefined) {
        done({ ok: false, message: `the command could not start: ${describe(err)}` });
      }
    });
    child.once("exit", () => {
      exited = true;
      // what the command left behind in its group goes with it (it may hold the pipes, too)
      if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
      if (aborted) {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }
    });
    // after the exit and the end of its output
    child.once("close", (code, sig) => {
      if (aborted) done({ ok: false, message: withOutput("the command was killed") });
      else if (code === 0) done({ ok: true });
      else if (sig !== null)
        done({ ok: false, message: withOutput(`the command was terminated by ${sig}`) });
      else done({ ok: false, message: withOutput(`the command exited with status ${code}`) });
    });
  });
}

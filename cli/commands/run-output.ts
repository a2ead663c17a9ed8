/**
 * `agora run`'s view of its task's output: it follows the sandbox's `stdout`
 * and `stderr` on the agent with `files.read` (Mesos's `/files/read`, as
 * `mesos task log --follow` does) and writes them, whole, to its own stdout
 * and stderr as they come. It reads every 150 ms while data keeps coming and
 * backs off to 1 s when the files are idle; after the task's terminal update
 * it reads both files to their end. When the agent cannot be reached the
 * terminal update's output tail is printed instead, saying so.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { Backoff } from "../../infra/backoff.ts";
import { type Clock, systemClock } from "../../infra/clock.ts";
import { request } from "../../infra/request.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { FILES_READ_MAX_LENGTH } from "../../protocol/files.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { printError } from "../command.ts";

/** The first delay between reads, and the one while data keeps coming. */
const FOLLOW_MIN_MS = 150;
/** The longest delay between reads of idle files. */
const FOLLOW_MAX_MS = 1000;
/** Deadline of one `files.read`. */
const READ_TIMEOUT_MS = 3000;
/** Failed reads in a row after the task ended before the agent counts as unreachable. */
const FINAL_READ_ATTEMPTS = 3;

type SandboxFileName = "stdout" | "stderr";

/** Where a followed file goes. */
export interface OutputSink {
  write(data: Uint8Array): Promise<void>;
}

/** A sink writing to a Node stream, waiting for `drain` so nothing piles up in memory. */
export function streamSink(stream: NodeJS.WritableStream): OutputSink {
  return {
    write: (data) =>
      new Promise<void>((resolve) => {
        if (stream.write(data)) resolve();
        else stream.once("drain", () => resolve());
      }),
  };
}

/** What the follower needs. */
export interface OutputFollowerOptions {
  nc: NatsConnection;
  subjects: Subjects;
  frameworkId: string;
  /** The framework's principal: its `files.read` go on `agent.<p>.<agentId>.files.<principal>`. */
  principal: string;
  taskId: string;
  agentId: string;
  /** The agent principal of the agent (the offer's `agentPrincipal`). @default "default" */
  agentPrincipal?: string | undefined;
  hostname: string | undefined;
  /** @default systemClock */
  clock?: Clock;
  /** @default the process's stdout and stderr */
  sinks?: Record<SandboxFileName, OutputSink>;
}

/** Follows a task's sandbox `stdout` and `stderr` until the task ended and both are read whole. */
export class OutputFollower {
  readonly #o: OutputFollowerOptions;
  readonly #clock: Clock;
  readonly #sinks: Record<SandboxFileName, OutputSink>;
  readonly #offsets: Record<SandboxFileName, number> = { stdout: 0, stderr: 0 };
  #ended = false;
  #wake: (() => void) | undefined;
  #sandboxShown = false;
  #failures = 0;
  #lastError: AgoraError | undefined;
  #loop: Promise<boolean> | undefined;

  constructor(options: OutputFollowerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#sinks = options.sinks ?? {
      stdout: streamSink(process.stdout),
      stderr: streamSink(process.stderr),
    };
  }

  /** Starts following (once). */
  start(): void {
    this.#loop ??= this.#follow();
  }

  /**
   * The task is terminal: reads both files to their end. Resolves true when
   * they were read whole, false when the agent could not be reached (then
   * `fallback`, the terminal update's output tail, is printed with a line saying so).
   */
  async finish(fallback: Uint8Array | undefined): Promise<boolean> {
    this.#ended = true;
    this.start();
    this.#wake?.();
    const whole = await (this.#loop as Promise<boolean>);
    if (!whole) {
      const reason = this.#lastError?.message ?? "no reply";
      if (fallback !== undefined && fallback.byteLength > 0) {
        printError(
          `could not read the sandbox from agent ${this.#o.agentId} (${reason}); the last ${fallback.byteLength} bytes of stdout follow`,
        );
        await this.#sinks.stdout.write(fallback);
      } else if (this.#lastError?.code === ErrorCode.NotFound && !this.#sandboxShown) {
        printError(`agent ${this.#o.agentId} has no sandbox of task ${this.#o.taskId}: no output`);
      } else {
        printError(
          `could not read the sandbox from agent ${this.#o.agentId} (${reason}); the task's output was not printed`,
        );
      }
    }
    return whole;
  }

  async #follow(): Promise<boolean> {
    // idle reads back off from FOLLOW_MIN_MS, doubling to FOLLOW_MAX_MS; any output starts over
    const idle = new Backoff({
      initialMs: FOLLOW_MIN_MS,
      maxMs: FOLLOW_MAX_MS,
      clock: this.#clock,
    });
    for (;;) {
      const ended = this.#ended;
      let progressed = false;
      let complete = true;
      let failed = false;
      for (const file of ["stdout", "stderr"] as const) {
        try {
          const r = await this.#read(file);
          progressed ||= r.got > 0;
          complete &&= r.eof;
        } catch (err) {
          failed = true;
          complete = false;
          this.#lastError = AgoraError.from(err);
          // The sandbox is gone (or never was): there is nothing more to read.
          if (this.#lastError.code === ErrorCode.NotFound && ended) return false;
        }
      }
      if (failed && ended) this.#failures++;
      if (ended && complete) return true;
      if (ended && this.#failures >= FINAL_READ_ATTEMPTS) return false;
      if (progressed) idle.reset();
      // A full read means more is waiting: read again at once.
      if (progressed && !complete) continue;
      await this.#sleep(ended ? FOLLOW_MIN_MS : idle.next());
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.after(ms, () => {
        this.#wake = undefined;
        resolve();
      });
      this.#wake = () => {
        timer.cancel();
        this.#wake = undefined;
        resolve();
      };
    });
  }

  async #read(file: SandboxFileName): Promise<{ got: number; eof: boolean }> {
    const { nc, subjects, frameworkId, taskId, agentId } = this.#o;
    const reply = await request(
      nc,
      subjects.agentFilesOf(agentId, this.#o.principal, this.#o.agentPrincipal),
      {
        type: "files.read",
        frameworkId,
        taskId,
        file,
        offset: this.#offsets[file],
        length: FILES_READ_MAX_LENGTH,
      },
      ["files.data"],
      READ_TIMEOUT_MS,
    );
    if (!this.#sandboxShown) {
      this.#sandboxShown = true;
      const host = this.#o.hostname === undefined ? "" : ` (${this.#o.hostname})`;
      printError(
        `task ${taskId} sandbox: agent ${agentId}${host}${reply.sandbox === undefined ? "" : ` ${reply.sandbox}`}`,
      );
    }
    if (reply.size < this.#offsets[file]) {
      // The file shrank (truncated by the task): say so rather than skip silently.
      printError(`${file} of task ${taskId} was truncated; following it from its start`);
      this.#offsets[file] = 0;
      return { got: 0, eof: false };
    }
    const got = reply.data.byteLength;
    if (got > 0) await this.#sinks[file].write(reply.data);
    this.#offsets[file] = reply.offset + got;
    return { got, eof: reply.eof === true || reply.offset + got >= reply.size };
  }
}

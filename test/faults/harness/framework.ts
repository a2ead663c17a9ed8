/**
 * The test's side of the recording framework (test/fixtures/recording-framework.ts):
 * starting it as a process, reading what it recorded, sending it commands.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isTerminalState, type TaskState, type TaskStatus } from "../../../protocol/common.ts";
import type { RecordLine } from "../../fixtures/recording-framework.ts";
import { childEnv, Proc } from "./processes.ts";
import { eventually } from "./wait.ts";

const FIXTURE = fileURLToPath(new URL("../../fixtures/recording-framework.ts", import.meta.url));

/** What the framework knows of one task. */
export interface FrameworkTask {
  taskId: string;
  agentId: string;
  /** Every update received for the task, in order (duplicates included). */
  updates: TaskStatus[];
  /** The state of the last update, if any. */
  latest: TaskState | undefined;
  /** Distinct uuids of terminal updates received. */
  terminalUuids: Set<string>;
  /** Terminal states received (a terminal state never changes: at most one). */
  terminalStates: Set<TaskState>;
}

/** Everything the framework's processes recorded so far. */
export interface FrameworkReport {
  lines: RecordLine[];
  /** Launched tasks that the master accepted (or may have). */
  tasks: Map<string, FrameworkTask>;
  /** Updates for tasks the framework never launched. */
  strangers: TaskStatus[];
  /** Uuids acknowledged successfully. */
  acked: Set<string>;
  subscriptions: Array<Extract<RecordLine, { kind: "subscribed" }>>;
}

/** Parses a record file (a torn last line is ignored). */
export function readReport(file: string): FrameworkReport {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    // nothing recorded yet
  }
  const lines: RecordLine[] = [];
  for (const raw of text.split("\n")) {
    if (raw === "") continue;
    try {
      lines.push(JSON.parse(raw) as RecordLine);
    } catch {
      // torn by a SIGKILL
    }
  }
  const tasks = new Map<string, FrameworkTask>();
  const abandoned = new Set<string>();
  const strangers: TaskStatus[] = [];
  const acked = new Set<string>();
  const subscriptions: FrameworkReport["subscriptions"] = [];
  for (const line of lines) {
    switch (line.kind) {
      case "launched":
        tasks.set(line.taskId, {
          taskId: line.taskId,
          agentId: line.agentId,
          updates: [],
          latest: undefined,
          terminalUuids: new Set(),
          terminalStates: new Set(),
        });
        break;
      case "acceptFailed":
        for (const id of line.taskIds) abandoned.add(id);
        break;
      case "update": {
        const task = tasks.get(line.status.taskId);
        if (task === undefined) {
          strangers.push(line.status);
          break;
        }
        task.updates.push(line.status);
        task.latest = line.status.state;
        if (isTerminalState(line.status.state)) {
          task.terminalStates.add(line.status.state);
          if (line.status.uuid !== undefined) task.terminalUuids.add(line.status.uuid);
        }
        break;
      }
      case "acked":
        acked.add(line.uuid);
        break;
      case "subscribed":
        subscriptions.push(line);
        break;
      default:
        break;
    }
  }
  for (const id of abandoned) tasks.delete(id);
  return { lines, tasks, strangers, acked, subscriptions };
}

/** Options of a recording framework process. */
export interface RecordingFrameworkOptions {
  nats: string;
  prefix: string;
  frameworkId: string;
  /** The JSON lines file; shared by the processes of one framework (failover). */
  recordFile: string;
  logFile: string;
  name?: string;
  failoverTimeoutSeconds?: number;
  tasks?: number;
  tasksPerAgent?: number;
  /** The process's working directory (the test's dir, so that cleanup finds it). */
  cwd?: string;
}

/** A running recording framework process. */
export class RecordingFramework {
  readonly proc: Proc;

  constructor(readonly options: RecordingFrameworkOptions) {
    const args = [
      "--import",
      import.meta.resolve("tsx"),
      FIXTURE,
      "--nats",
      options.nats,
      "--prefix",
      options.prefix,
      "--framework-id",
      options.frameworkId,
      "--record",
      options.recordFile,
      "--name",
      options.name ?? "recorder",
      "--failover-timeout",
      String(options.failoverTimeoutSeconds ?? 60),
      "--tasks",
      String(options.tasks ?? 4),
      "--tasks-per-agent",
      String(options.tasksPerAgent ?? 2),
    ];
    this.proc = new Proc(
      `framework ${options.frameworkId}`,
      process.execPath,
      args,
      options.logFile,
      {
        env: childEnv(),
        stdin: true,
      },
    );
  }

  get frameworkId(): string {
    return this.options.frameworkId;
  }

  /** What every process of this framework recorded so far. */
  report(): FrameworkReport {
    return readReport(this.options.recordFile);
  }

  /** Sends a command line to the process. */
  send(cmd: { cmd: "kill"; taskId: string } | { cmd: "reconcile" | "stop" | "teardown" }): void {
    this.proc.child.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Waits until `check` finds what it wants in the report. */
  waitFor<T>(
    check: (report: FrameworkReport) => T | undefined | false,
    what: string,
    timeoutMs?: number,
  ): Promise<T> {
    return eventually(
      () => check(this.report()),
      what,
      timeoutMs,
      () => this.proc.logTail(),
    );
  }

  /** Waits until `count` tasks are launched and every one of them is RUNNING at the framework. */
  waitRunning(count: number, timeoutMs?: number): Promise<FrameworkTask[]> {
    return this.waitFor(
      (r) => {
        const tasks = [...r.tasks.values()];
        return tasks.length >= count && tasks.every((t) => t.latest === "TASK_RUNNING") && tasks;
      },
      `${count} tasks running at framework ${this.frameworkId}`,
      timeoutMs,
    );
  }
}

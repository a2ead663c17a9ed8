/**
 * Helpers of the agent recovery tests: `agora agent` as a real child process
 * (killed with SIGKILL and restarted on the same work dir) against the
 * protocol-level test master, and what its checkpoint says.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { isAlive } from "../../../actors/shared/process-tree.ts";
import { executorDir } from "../../../actors/shared/sandbox.ts";
import { connect } from "../../../infra/connect.ts";
import type { FrameworkRef } from "../../../protocol/agents.ts";
import { type TaskInfo, TaskState } from "../../../protocol/common.ts";
import type { Subjects } from "../../../protocol/subjects.ts";
import { eventually } from "../../helpers/wait.ts";
import { type AgoraProcess, startAgora } from "../cli/helpers.ts";
import {
  commandTask,
  processesWithEnv,
  TestMaster,
  testFramework,
  testSubjects,
} from "./helpers.ts";

/** One recovery scenario: a NATS connection, a test master, a work dir and agent processes. */
export interface RecoveryFixture {
  nc: NatsConnection;
  subjects: Subjects;
  master: TestMaster;
  workDir: string;
  /** Starts `agora agent` on the fixture's work dir. */
  startAgent(extra?: string[]): AgoraProcess;
  /** SIGKILLs an agent process and waits for its end. */
  kill(agent: AgoraProcess): Promise<void>;
  /** The checkpointed pid of an executor. */
  executorPid(frameworkId: string, executorId: string): Promise<number>;
  /** Index into `master.received` of the next message. */
  mark(): number;
  /** Waits for a heartbeat received after `from`: the agent is (re)registered and listening. */
  registered(from?: number): Promise<void>;
  /**
   * Starts `agora agent` (with `extra`), waits for its registration, runs a command task of a
   * new framework on it and waits for TASK_RUNNING.
   */
  runningTask(command: string, extra?: string[]): Promise<RunningTask>;
  /** The latest run directory (sandbox) of an executor. */
  sandbox(frameworkId: string, executorId: string): string;
  dispose(): Promise<void>;
}

/** A task of {@link RecoveryFixture.runningTask}, and the agent that runs it. */
export interface RunningTask {
  agent: AgoraProcess;
  framework: FrameworkRef;
  task: TaskInfo;
}

/** A task that runs until a file `go` appears in its sandbox, then prints done. */
export const WAIT_FOR_GO = "while [ ! -f go ]; do sleep 0.05; done; echo done";

export async function startRecoveryFixture(url: string): Promise<RecoveryFixture> {
  const nc = await connect({ servers: url, name: "recovery-test" });
  const subjects = testSubjects();
  const master = new TestMaster(nc, subjects, { heartbeatIntervalSeconds: 0.5 });
  await master.start();
  const workDir = await mkdtemp(path.join(os.tmpdir(), "agora-recovery-"));
  const agents: AgoraProcess[] = [];
  const fixture: RecoveryFixture = {
    nc,
    subjects,
    master,
    workDir,
    startAgent(extra = []) {
      const agent = startAgora([
        "agent",
        "--nats",
        url,
        "--prefix",
        subjects.prefix,
        "--work-dir",
        workDir,
        "--hostname",
        "recovery-host",
        "--registration-backoff",
        "100ms",
        "--executor-shutdown-grace-period",
        "1s",
        ...(extra.includes("--resources") ? [] : ["--resources", "cpus:4;mem:4096;disk:10000"]),
        // Generous under a loaded machine: a reconnect must not lose this race by slowness.
        ...(extra.includes("--executor-reregistration-timeout")
          ? []
          : ["--executor-reregistration-timeout", "10s"]),
        ...extra,
      ]);
      agents.push(agent);
      return agent;
    },
    async kill(agent) {
      agent.child.kill("SIGKILL");
      await agent.result;
    },
    async executorPid(frameworkId, executorId) {
      const file = path.join(
        workDir,
        "meta",
        "frameworks",
        encodeURIComponent(frameworkId),
        "executors",
        encodeURIComponent(executorId),
        "executor.json",
      );
      await eventually(() => existsSync(file), "the executor checkpoint");
      return (JSON.parse(await readFile(file, "utf8")) as { pid: number }).pid;
    },
    mark: () => master.received.length,
    async runningTask(command, extra = []) {
      const agent = fixture.startAgent(extra);
      await fixture.registered();
      const framework = testFramework();
      const task = commandTask(master, command);
      master.runTask(framework, [task]);
      await master.waitForState(task.taskId, TaskState.Running);
      return { agent, framework, task };
    },
    sandbox: (frameworkId, executorId) =>
      path.join(executorDir(workDir, master.agentId, frameworkId, executorId), "runs", "latest"),
    async registered(from = 0) {
      await master.waitFor("a heartbeat", () =>
        master.received.slice(from).some((r) => r.msg.type === "agent.heartbeat"),
      );
    },
    async dispose() {
      if (process.env.TEST_LOG) {
        for (const agent of agents) process.stderr.write(`${agent.stderr.items.join("\n")}\n`);
      }
      for (const agent of agents) {
        if (agent.child.exitCode === null && agent.child.signalCode === null) {
          agent.child.kill("SIGKILL");
          await agent.result;
        }
      }
      // Nothing of the scenario may outlive it: its executors (the prefix) and their tasks
      // (which inherit no AGORA_* variable, but MESOS_AGENT_ID), orphaned when an executor
      // was killed by a test
      const pids = [
        ...(await processesWithEnv("AGORA_SUBJECT_PREFIX", subjects.prefix)),
        ...(await processesWithEnv("AGORA_AGENT_ID", master.agentId)),
      ];
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      await master.stop().catch(() => {});
      await nc.drain().catch(() => {});
      await rm(workDir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/**
 * Live processes that run for a task: the executor (`AGORA_EXECUTOR_ID`) and the task's own
 * (`MESOS_EXECUTOR_ID`: a task inherits no AGORA_* variable).
 */
export function taskProcesses(taskId: string): Promise<number[]> {
  return processesWithEnv("AGORA_EXECUTOR_ID", taskId);
}

/** Waits until no process of the task is alive. */
export async function waitForNoProcesses(taskId: string, timeoutMs?: number): Promise<void> {
  await eventually(
    async () => (await taskProcesses(taskId)).length === 0,
    `no process of ${taskId}`,
    timeoutMs,
  );
}

/** Waits until `pid` has exited. */
export async function waitForExit(pid: number): Promise<void> {
  await eventually(() => !isAlive(pid) || isZombie(pid), `pid ${pid} to exit`);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/**
 * The files under a directory, recursively (relative paths). The agent may
 * remove a directory while it is walked: the walk is then taken again.
 */
export async function listFiles(dir: string): Promise<string[]> {
  for (;;) {
    try {
      const out: string[] = [];
      for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
        if (entry.isFile()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
      }
      return out;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || !existsSync(dir)) throw err;
    }
  }
}

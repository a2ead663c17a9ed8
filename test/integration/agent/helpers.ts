/**
 * Helpers of the agent's integration tests: a protocol-level test master (a
 * plain NATS client that answers registrations, records what agents send and
 * sends them commands), agent construction with a temp work dir, and waits.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { type AgentConfig, resolveAgentConfig } from "../../../actors/agent/config.ts";
import { type Agent, createAgent } from "../../../actors/agent/index.ts";
import type { ProgramSource } from "../../../actors/agent/launcher.ts";
import { executorDir } from "../../../actors/shared/sandbox.ts";
import { connect } from "../../../infra/connect.ts";
import { createRootLogger, type Logger, silentLogger } from "../../../infra/logger.ts";
import type { FrameworkRef } from "../../../protocol/agents.ts";
import { encode } from "../../../protocol/codec.ts";
import type { TaskInfo, TaskStatus } from "../../../protocol/common.ts";
import type { Message, MessageOf } from "../../../protocol/registry.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { unbatch } from "../../helpers/messages.ts";
import { eventually, WAIT_MS } from "../../helpers/wait.ts";

/** A logger for tests: silent unless `TEST_LOG` is set. */
export function testLogger(): Logger {
  return process.env.TEST_LOG ? createRootLogger({ level: process.env.TEST_LOG }) : silentLogger();
}

/** What the test master received, in order. */
export interface Received {
  subject: string;
  msg: Message;
  /** Reply subject of a request. */
  reply: string | undefined;
}

/** Options of a {@link TestMaster}. */
export interface TestMasterOptions {
  /** The id given to a registering agent. */
  agentId?: string;
  heartbeatIntervalSeconds?: number;
  /** Acknowledge every update that carries a uuid. @default true */
  autoAck?: boolean;
}

/** A master speaking the agent protocol, written against the wire contract only. */
export class TestMaster {
  readonly received: Received[] = [];
  readonly agentId: string;
  autoAck: boolean;
  readonly #listeners = new Set<() => void>();
  #subs: Subscription[] = [];

  constructor(
    readonly nc: NatsConnection,
    readonly subjects: Subjects,
    readonly options: TestMasterOptions = {},
  ) {
    this.agentId = options.agentId ?? `agent-${randomUUID().slice(0, 8)}`;
    this.autoAck = options.autoAck ?? true;
  }

  /** Subscribes to the master's subjects. */
  async start(): Promise<void> {
    this.#subs = [
      this.nc.subscribe(this.subjects.masterRegisterAll(), { callback: (_e, m) => this.#on(m) }),
      this.nc.subscribe(this.subjects.masterAgentAll(), { callback: (_e, m) => this.#on(m) }),
    ];
    await this.nc.flush();
  }

  /** Unsubscribes: the master is gone. */
  async stop(): Promise<void> {
    for (const sub of this.#subs) sub.unsubscribe();
    this.#subs = [];
    await this.nc.flush();
  }

  #on(m: Msg): void {
    let messages: Message[];
    try {
      messages = unbatch(m.data);
    } catch {
      return;
    }
    for (const msg of messages) this.#onMessage(m, msg);
  }

  #onMessage(m: Msg, msg: Message): void {
    this.received.push({ subject: m.subject, msg, reply: m.reply || undefined });
    const registered: Message = {
      type: "agent.registered",
      agentId: msg.type === "agent.reregister" ? msg.agentId : this.agentId,
      masterId: "test-master",
      heartbeatIntervalSeconds: this.options.heartbeatIntervalSeconds ?? 0.2,
    };
    if (msg.type === "agent.register" || msg.type === "agent.reregister") {
      m.respond(encode(registered));
    } else if (m.reply) {
      m.respond(encode({ type: "ok" }));
    }
    if (this.autoAck && msg.type === "agent.update" && msg.status.uuid !== undefined) {
      this.acknowledge(msg.frameworkId, msg.status);
    }
    for (const listener of this.#listeners) listener();
  }

  /** Messages of one type received so far. */
  messages<T extends Message["type"]>(type: T): MessageOf<T>[] {
    return this.received.filter((r) => r.msg.type === type).map((r) => r.msg as MessageOf<T>);
  }

  /** The statuses received for a task, in order (retries included). */
  updates(taskId: string): TaskStatus[] {
    return this.messages("agent.update")
      .map((u) => u.status)
      .filter((s) => s.taskId === taskId);
  }

  /** Waits until `check` holds on what was received. */
  waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = WAIT_MS): Promise<T> {
    // Checked at each message received (and every second besides).
    return eventually(check, what, timeoutMs, {
      everyMs: 1000,
      wake: (wake) => {
        this.#listeners.add(wake);
        return () => this.#listeners.delete(wake);
      },
    });
  }

  /** Waits for a status of a task in `state`. */
  waitForState(taskId: string, state: string, timeoutMs = 30_000): Promise<TaskStatus> {
    return this.waitFor(
      `${taskId} in ${state}`,
      () => this.updates(taskId).find((s) => s.state === state),
      timeoutMs,
    ).catch((err: unknown) => {
      // name what the task did instead, so a failure in CI says where it stopped
      const seen = this.updates(taskId).map((s) =>
        [s.state, s.reason, s.message].filter((x) => x !== undefined).join(" "),
      );
      throw new Error(`${(err as Error).message} (saw: ${seen.join("; ") || "no update"})`);
    });
  }

  /** Sends a message to the agent. */
  send(msg: Message, agentId = this.agentId): void {
    this.nc.publish(this.subjects.agent(agentId), encode(msg));
  }

  runTask(framework: FrameworkRef, tasks: TaskInfo[]): void {
    this.send({ type: "agent.runTask", framework, tasks });
  }

  acknowledge(frameworkId: string, status: TaskStatus): void {
    this.send({
      type: "agent.acknowledge",
      frameworkId,
      taskId: status.taskId,
      uuid: status.uuid!,
    });
  }
}

/** A framework for tests. */
export function testFramework(name = "test"): FrameworkRef {
  return { frameworkId: `fw-${randomUUID().slice(0, 8)}`, name, role: "*" };
}

/** A command task for the agent of `master`. */
export function commandTask(
  master: TestMaster,
  value: string,
  extra: Partial<TaskInfo> = {},
): TaskInfo {
  return {
    taskId: `task-${randomUUID().slice(0, 8)}`,
    name: value.slice(0, 40),
    agentId: master.agentId,
    resources: { cpus: 0.1, mem: 32 },
    command: { value },
    ...extra,
  };
}

/** A fresh subject prefix, so that tests of one file do not see each other. */
export function testSubjects(): Subjects {
  return new Subjects(`t${randomUUID().slice(0, 8)}`);
}

/** Everything one test needs: a connection, a test master and an agent in a temp dir. */
export interface AgentFixture {
  nc: NatsConnection;
  subjects: Subjects;
  master: TestMaster;
  agent: Agent;
  config: AgentConfig;
  workDir: string;
  /** The sandbox of a command task (`runs/latest`). */
  sandbox(frameworkId: string, executorId: string): string;
  /** Reads a file of a sandbox, "" when missing. */
  readSandbox(frameworkId: string, executorId: string, file: string): Promise<string>;
  /** Waits until a sandbox file contains `text`. */
  waitForSandbox(
    frameworkId: string,
    executorId: string,
    file: string,
    text: string,
  ): Promise<void>;
  /** Shuts the agent's executors down, stops everything, removes the work dir. */
  dispose(): Promise<void>;
}

/** Starts a test master and an agent against the NATS server at `url`. */
export async function startAgentFixture(
  url: string,
  options: {
    config?: Partial<AgentConfig>;
    master?: TestMasterOptions;
    startMaster?: boolean;
    workDir?: string;
    onShutdown?: (reason: string | undefined) => void;
    /** How the agent starts the command executor. @default the agent's own */
    commandExecutor?: ProgramSource;
  } = {},
): Promise<AgentFixture> {
  const nc = await connect({ servers: url, name: "agent-test" });
  const subjects = testSubjects();
  const master = new TestMaster(nc, subjects, options.master);
  if (options.startMaster !== false) await master.start();
  const workDir = options.workDir ?? (await mkdtemp(path.join(os.tmpdir(), "agora-agent-")));
  const config = resolveAgentConfig({
    env: {},
    overrides: {
      nats: url,
      prefix: subjects.prefix,
      workDir,
      hostname: "test-host",
      resources: "cpus:4;mem:4096;disk:10000",
      attributes: "rack:r1;zone:a;generation:3",
      registrationBackoff: 50,
      executorShutdownGracePeriod: 1000,
      ...options.config,
    },
  });
  const agent = createAgent({
    nc,
    logger: testLogger(),
    subjects,
    config,
    natsUrl: url,
    requestTimeoutMs: 1000,
    onShutdown: options.onShutdown,
    commandExecutor: options.commandExecutor,
  });
  await agent.start();
  if (options.startMaster !== false) {
    await eventually(() => agent.registered(), "the agent to register");
  }
  const sandbox = (frameworkId: string, executorId: string) =>
    path.join(executorDir(workDir, master.agentId, frameworkId, executorId), "runs", "latest");
  return {
    nc,
    subjects,
    master,
    agent,
    config,
    workDir,
    sandbox,
    async readSandbox(frameworkId, executorId, file) {
      try {
        return await readFile(path.join(sandbox(frameworkId, executorId), file), "utf8");
      } catch {
        return "";
      }
    },
    async waitForSandbox(frameworkId, executorId, file, text) {
      const where = path.join(sandbox(frameworkId, executorId), file);
      await eventually(
        () => existsSync(where) && readFileSync(where, "utf8").includes(text),
        `${text} in ${where}`,
      );
    },
    async dispose() {
      await agent.shutdown("test over");
      await master.stop().catch(() => {});
      await nc.drain().catch(() => {});
      if (options.workDir === undefined) await rm(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * Pids of live processes whose environment holds `NAME=value` (Linux). For an
 * `AGORA_*` name, `MESOS_*` of the same id matches too: a task's own processes
 * inherit no AGORA_* variable, only the MESOS_* ids.
 */
export async function processesWithEnv(name: string, value: string): Promise<number[]> {
  const needles = [`${name}=${value}`];
  if (name.startsWith("AGORA_")) needles.push(`MESOS_${name.slice(6)}=${value}`);
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const environ = await readFile(`/proc/${entry}/environ`, "utf8");
      const vars = environ.split("\0");
      if (needles.some((n) => vars.includes(n))) pids.push(Number(entry));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

/**
 * A whole cluster of real processes for one fault test: nats-server(s) on
 * free ports, `agora master` and `agora agent` children with short timeouts,
 * recording frameworks, and an observer connection of the test's own (state
 * requests, the cluster event stream). Everything lives under one temp dir;
 * `cleanup()` (registered as the test's teardown, so it runs when the test
 * fails too) kills every process it started and every process still running
 * under that dir (executors and tasks outlive their agent by design).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import type { ExecutionContext } from "ava";
import type { Recorder } from "../../../actors/scheduler/recorder.ts";
import { type ClusterEvent, watchClusterEvents } from "../../../cli/cluster-events.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import {
  type NatsCluster,
  type NatsServer,
  startNatsCluster,
  startNatsServer,
} from "../../../infra/nats-server.ts";
import { requestState } from "../../../infra/request.ts";
import type { MasterState } from "../../../protocol/operator.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { type Features, features } from "./features.ts";
import { RecordingFramework, type RecordingFrameworkOptions } from "./framework.ts";
import { AGORA_BIN, guardDir, killProcessesUnder, Proc } from "./processes.ts";
import { eventually } from "./wait.ts";

/**
 * The short timeouts of the tier. Agents heartbeat every ping timeout and are
 * unreachable after `maxAgentPingTimeouts` silent ones (1 s); schedulers are
 * disconnected after 3 silent heartbeat intervals (1.5 s).
 */
export const TIMEOUTS = {
  agentPingTimeout: "250ms",
  maxAgentPingTimeouts: 4,
  frameworkHeartbeatInterval: "500ms",
  maxFrameworkHeartbeatTimeouts: 3,
  allocationInterval: "100ms",
  // Longer than the default 1.5 s: on a loaded 2-core CI machine a leader whose renewals
  // stall for 1.2 s fences itself (correctly, but then the test's expected leader changes).
  leaderLease: "3s",
  agentReregisterTimeout: "5s",
  statusUpdateRetryMin: "300ms",
  statusUpdateRetryMax: "2s",
  registrationBackoff: "100ms",
  executorShutdownGracePeriod: "500ms",
  executorReregistrationTimeout: "2s",
} as const;

/** The resources of every agent of the tier. */
export const AGENT_RESOURCES = "cpus:2;mem:1024;ports:[31000-31009]";

/** Options of {@link FaultCluster.start}. */
export interface FaultClusterOptions {
  /** Subject prefix, unique per test. */
  prefix: string;
  /** One server (default) or a 3-node cluster. */
  nats?: "single" | "cluster3";
  /** Agent ping timeout override (e.g. longer in tests that must not lose agents). */
  agentPingTimeout?: string;
}

/** A master process. */
export interface MasterProcess {
  id: string;
  proc: Proc;
  args: string[];
}

/** An agent process (one per hostname; a restart keeps the work dir). */
export interface AgentProcess {
  name: string;
  workDir: string;
  proc: Proc;
  args: string[];
  /** How many processes ran under this name. */
  generation: number;
}

/** A cluster of real processes. See the module comment. */
export class FaultCluster {
  readonly subjects: Subjects;
  readonly masters = new Map<string, MasterProcess>();
  readonly agents = new Map<string, AgentProcess>();
  readonly frameworks: RecordingFramework[] = [];
  nats: NatsServer | undefined;
  natsCluster: NatsCluster | undefined;
  /** The JetStream store dir of the single server, kept across its restarts. */
  readonly natsStoreDir: string;
  #observer: NatsConnection | undefined;
  #events: Recorder<ClusterEvent> | undefined;
  #stopEvents: (() => void) | undefined;
  #cleaned = false;
  readonly #unguard: () => void;

  private constructor(
    readonly dir: string,
    readonly options: FaultClusterOptions,
    readonly features: Features,
  ) {
    this.subjects = new Subjects(options.prefix);
    this.natsStoreDir = path.join(dir, "nats-store");
    this.#unguard = guardDir(dir);
  }

  /**
   * Starts NATS and the observer in a fresh temp dir; registers the cleanup
   * as the test's teardown.
   */
  static async start(t: ExecutionContext, options: FaultClusterOptions): Promise<FaultCluster> {
    const dir = await mkdtemp(path.join(os.tmpdir(), `agora-fault-${options.prefix}-`));
    const cluster = new FaultCluster(dir, options, await features());
    t.teardown(() => cluster.cleanup());
    await mkdir(cluster.natsStoreDir, { recursive: true });
    if (options.nats === "cluster3") {
      cluster.natsCluster = await startNatsCluster(3);
    } else {
      cluster.nats = await startNatsServer({ storeDir: cluster.natsStoreDir });
    }
    cluster.#observer = await connect({ servers: cluster.natsUrl, name: "fault-observer" });
    const watch = await watchClusterEvents(cluster.#observer, cluster.subjects, silentLogger());
    cluster.#events = watch.recorder;
    cluster.#stopEvents = () => watch.stop();
    return cluster;
  }

  /** Every client URL, comma-joined. */
  get natsUrl(): string {
    if (this.natsCluster !== undefined) return this.natsCluster.url;
    if (this.nats === undefined) throw new Error("no nats-server");
    return this.nats.url;
  }

  /** The test's own NATS connection (reconnects forever). */
  get observer(): NatsConnection {
    if (this.#observer === undefined) throw new Error("the cluster is not started");
    return this.#observer;
  }

  /** Every cluster event the observer received. */
  get events(): Recorder<ClusterEvent> {
    if (this.#events === undefined) throw new Error("the cluster is not started");
    return this.#events;
  }

  #log(name: string): string {
    return path.join(this.dir, `${name.replace(/[^A-Za-z0-9_-]/g, "_")}.log`);
  }

  #common(): string[] {
    return ["--nats", this.natsUrl, "--prefix", this.subjects.prefix];
  }

  // ---- masters ------------------------------------------------------------

  /** The flags of a master of the tier (HA flags only where this checkout has them). */
  masterArgs(id: string, extra: string[] = []): string[] {
    const f = this.features;
    const args = [
      "master",
      ...this.#common(),
      "--master-id",
      id,
      "--allocation-interval",
      TIMEOUTS.allocationInterval,
      "--agent-ping-timeout",
      this.options.agentPingTimeout ?? TIMEOUTS.agentPingTimeout,
      "--max-agent-ping-timeouts",
      String(TIMEOUTS.maxAgentPingTimeouts),
      "--framework-heartbeat-interval",
      TIMEOUTS.frameworkHeartbeatInterval,
      "--max-framework-heartbeat-timeouts",
      String(TIMEOUTS.maxFrameworkHeartbeatTimeouts),
    ];
    if (f.leaderLease) args.push("--leader-lease", TIMEOUTS.leaderLease);
    if (f.agentReregisterTimeout) {
      args.push("--agent-reregister-timeout", TIMEOUTS.agentReregisterTimeout);
    }
    if (f.registryReplicas && this.natsCluster !== undefined) {
      args.push("--registry-replicas", "3");
    }
    return [...args, ...extra];
  }

  /** Starts `agora master --master-id ID`. */
  startMaster(id: string, extra: string[] = []): MasterProcess {
    const args = this.masterArgs(id, extra);
    const proc = new Proc(
      `master ${id}`,
      process.execPath,
      [AGORA_BIN, ...args],
      this.#log(`master-${id}`),
    );
    const master = { id, proc, args };
    this.masters.set(id, master);
    return master;
  }

  /** The master process with this id. */
  master(id: string): MasterProcess {
    const m = this.masters.get(id);
    if (m === undefined) throw new Error(`no master ${id}`);
    return m;
  }

  // ---- agents -------------------------------------------------------------

  #agentArgs(name: string, workDir: string, extra: string[]): string[] {
    const f = this.features;
    const args = [
      "agent",
      ...this.#common(),
      "--hostname",
      name,
      "--work-dir",
      workDir,
      "--resources",
      AGENT_RESOURCES,
      "--status-update-retry-min",
      TIMEOUTS.statusUpdateRetryMin,
      "--status-update-retry-max",
      TIMEOUTS.statusUpdateRetryMax,
      "--registration-backoff",
      TIMEOUTS.registrationBackoff,
      "--executor-shutdown-grace-period",
      TIMEOUTS.executorShutdownGracePeriod,
    ];
    if (f.agentRecover) args.push("--recover", "reconnect");
    if (f.executorReregistrationTimeout) {
      args.push("--executor-reregistration-timeout", TIMEOUTS.executorReregistrationTimeout);
    }
    return [...args, ...extra];
  }

  /** Starts `agora agent --hostname NAME` with its own work dir. */
  async startAgent(name: string, extra: string[] = []): Promise<AgentProcess> {
    const workDir = path.join(this.dir, "agents", name);
    await mkdir(workDir, { recursive: true });
    const args = this.#agentArgs(name, workDir, extra);
    const proc = new Proc(
      `agent ${name}`,
      process.execPath,
      [AGORA_BIN, ...args],
      this.#log(`agent-${name}`),
      {
        cwd: this.dir,
      },
    );
    const agent = { name, workDir, proc, args, generation: 1 };
    this.agents.set(name, agent);
    return agent;
  }

  /** Starts the agent NAME again with the same work dir and flags (its old process must be gone). */
  restartAgent(name: string): AgentProcess {
    const agent = this.agent(name);
    if (agent.proc.alive) throw new Error(`agent ${name} still runs`);
    agent.generation++;
    agent.proc = new Proc(
      `agent ${name}#${agent.generation}`,
      process.execPath,
      [AGORA_BIN, ...agent.args],
      this.#log(`agent-${name}`),
      { cwd: this.dir },
    );
    return agent;
  }

  /** The agent process with this name. */
  agent(name: string): AgentProcess {
    const a = this.agents.get(name);
    if (a === undefined) throw new Error(`no agent ${name}`);
    return a;
  }

  // ---- frameworks ---------------------------------------------------------

  /** Starts a recording framework process (another one with the same id is a failover). */
  startFramework(
    options: Omit<RecordingFrameworkOptions, "nats" | "prefix" | "recordFile" | "logFile">,
  ): RecordingFramework {
    const generation = this.frameworks.filter((f) => f.frameworkId === options.frameworkId).length;
    const framework = new RecordingFramework({
      ...options,
      nats: this.natsUrl,
      prefix: this.subjects.prefix,
      recordFile: path.join(this.dir, `framework-${options.frameworkId}.jsonl`),
      logFile: this.#log(`framework-${options.frameworkId}-${generation}`),
      cwd: this.dir,
    });
    this.frameworks.push(framework);
    return framework;
  }

  // ---- nats ---------------------------------------------------------------

  /**
   * Kills the single nats-server (`signal`, SIGKILL by default) and starts it
   * again on the same port with the same JetStream store dir.
   */
  async restartNats(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const old = this.nats;
    if (old === undefined) throw new Error("no single nats-server");
    old.kill(signal);
    await old.exited;
    await old.stop();
    this.nats = await startNatsServer({ port: old.port, storeDir: this.natsStoreDir });
  }

  // ---- state --------------------------------------------------------------

  /** `operator.getState` on `master.operator`, which only the leader serves. */
  async leaderState(timeoutMs = 2_000): Promise<MasterState> {
    const reply = await requestState(this.observer, this.subjects.masterOperator(), timeoutMs);
    return reply.state;
  }

  /** `operator.getState` on `master.instance.<id>`: that one master, leader or not. */
  async instanceState(id: string, timeoutMs = 1_000): Promise<MasterState> {
    const reply = await requestState(this.observer, this.subjects.masterInstance(id), timeoutMs);
    return reply.state;
  }

  /** Waits until a leader answers; returns its state. */
  waitLeader(what = "a leading master", timeoutMs?: number): Promise<MasterState> {
    return eventually(
      async () => {
        const state = await this.leaderState();
        return state.leader && state;
      },
      what,
      timeoutMs,
      () => this.logTails(),
    );
  }

  /** The id the leader gave the agent NAME (the active agent with that hostname). */
  async agentId(name: string): Promise<string> {
    return eventually(
      async () => {
        const state = await this.leaderState();
        return state.agents.find((a) => a.hostname === name && a.active)?.id;
      },
      `agent ${name} active at the leader`,
      undefined,
      () => this.logTails(),
    );
  }

  /** The processes that must still run (not killed by the test) but have exited. */
  deadProcesses(): string[] {
    const procs = [
      ...[...this.masters.values()].map((m) => m.proc),
      ...[...this.agents.values()].map((a) => a.proc),
      ...this.frameworks.map((f) => f.proc),
    ];
    return procs.filter((p) => !p.alive && !p.endedByTest).map((p) => p.name);
  }

  /** The end of every process's log, for failure messages. */
  logTails(bytes = 1_500): string {
    const procs = [
      ...[...this.masters.values()].map((m) => m.proc),
      ...[...this.agents.values()].map((a) => a.proc),
      ...this.frameworks.map((f) => f.proc),
    ];
    return procs
      .map((p) => `--- ${p.name} (${p.alive ? "alive" : "exited"}):\n${p.logTail(bytes)}`)
      .join("\n");
  }

  // ---- cleanup ------------------------------------------------------------

  /** Kills everything, removes the dir (kept when AGORA_FAULTS_KEEP is set). Idempotent. */
  async cleanup(): Promise<void> {
    if (this.#cleaned) return;
    this.#cleaned = true;
    const procs = [
      ...this.frameworks.map((f) => f.proc),
      ...[...this.agents.values()].map((a) => a.proc),
      ...[...this.masters.values()].map((m) => m.proc),
    ];
    await Promise.all(procs.map((p) => p.kill()));
    await killProcessesUnder(this.dir);
    this.#unguard();
    this.#stopEvents?.();
    if (this.#observer !== undefined) {
      await Promise.race([
        closeGracefully(this.#observer).catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, 2_000)),
      ]);
    }
    await this.nats?.stop();
    await this.natsCluster?.stop();
    if (process.env.AGORA_FAULTS_KEEP === undefined) {
      await rm(this.dir, { recursive: true, force: true });
    }
  }
}

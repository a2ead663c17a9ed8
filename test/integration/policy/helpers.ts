/**
 * Helpers of the policy tests: a live master (in this process, so that its
 * books can be audited) with real agents, frameworks on the SchedulerDriver,
 * a policy actor as a real `agora policy serve` process, and an auditor that
 * checks the master's resource accounting after every cluster event.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NatsConnection } from "@nats-io/nats-core";
import { type Agent, createAgent, resolveAgentConfig } from "../../../actors/agent/index.ts";
import type { Master, MasterConfig } from "../../../actors/master/index.ts";
import { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import type { SchedulerEvent } from "../../../actors/scheduler/events.ts";
import { type Recorder, recordEvents } from "../../../actors/scheduler/recorder.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import type { Offer } from "../../../protocol/common.ts";
import type { MasterState } from "../../../protocol/operator.ts";
import { Resources } from "../../../protocol/resources.ts";
import type { Subjects } from "../../../protocol/subjects.ts";
import { tempDir } from "../../helpers/temp-dir.ts";
import { eventually, WAIT_MS } from "../../helpers/wait.ts";
import { type AgoraProcess, startAgora } from "../cli/helpers.ts";
import { startMaster, testLogger } from "../master/helpers.ts";

/** The example policy module, as a user passes it to `agora policy serve --module`. */
export const BINPACK_MODULE = fileURLToPath(
  new URL("../../../examples/policies/binpack.ts", import.meta.url),
);

/** Problems of the state JSON's accounting: per agent, used + offered within its resources. */
export function stateProblems(state: MasterState): string[] {
  const problems: string[] = [];
  let agentsHeld = Resources.empty();
  for (const agent of state.agents) {
    const total = Resources.fromJSON(agent.resources);
    const held = Resources.fromJSON(agent.used).add(Resources.fromJSON(agent.offered));
    if (!total.contains(held))
      problems.push(`agent ${agent.id}: used + offered ${held} > ${total}`);
    agentsHeld = agentsHeld.add(held.quantities());
  }
  let frameworksHeld = Resources.empty();
  for (const framework of state.frameworks) {
    frameworksHeld = frameworksHeld
      .add(Resources.fromJSON(framework.used))
      .add(Resources.fromJSON(framework.offered));
  }
  if (!agentsHeld.equals(frameworksHeld)) {
    problems.push(`agents hold ${agentsHeld} but frameworks ${frameworksHeld}`);
  }
  return problems;
}

/** Audits the master's books after every cluster event it publishes. */
export class Auditor {
  readonly problems: string[] = [];
  events = 0;

  private constructor(
    readonly nc: NatsConnection,
    readonly master: Master,
  ) {}

  static async start(url: string, subjects: Subjects, master: Master): Promise<Auditor> {
    const nc = await connect({ servers: url, name: "auditor" });
    const auditor = new Auditor(nc, master);
    nc.subscribe(subjects.eventsAll(), { callback: () => auditor.check() });
    await nc.flush();
    return auditor;
  }

  /** Checks now: the master's invariants (total = free + offered + used) and the state JSON. */
  check(): void {
    this.events += 1;
    for (const p of this.master.checkInvariants()) this.problems.push(p);
    for (const p of stateProblems(this.master.state())) this.problems.push(p);
  }

  async stop(): Promise<void> {
    await closeGracefully(this.nc);
  }
}

/** A live master with real agents. */
export interface PolicyCluster {
  master: Master;
  agents: Agent[];
  auditor: Auditor;
  stop(): Promise<void>;
}

/**
 * Starts a master, then (after `beforeAgents`, e.g. subscribing frameworks)
 * `agents` real agents with `resources` each, and waits for their registration.
 * Every agent has the same disk and port range, as identical nodes do: the
 * auditor's invariant checks prove that equal ranges of different agents are
 * accounted separately.
 */
export async function startPolicyCluster(options: {
  url: string;
  subjects: Subjects;
  agents: number;
  resources: string;
  master?: Partial<MasterConfig>;
  beforeAgents?: (master: Master) => Promise<void>;
}): Promise<PolicyCluster> {
  const { url, subjects } = options;
  const work = await tempDir("agora-policy-");
  const m = await startMaster(url, subjects, {
    allocationInterval: 100,
    agentPingTimeout: 1000,
    ...options.master,
  });
  const auditor = await Auditor.start(url, subjects, m.master);
  const agents: Agent[] = [];
  const connections: NatsConnection[] = [];
  const stop = async () => {
    await Promise.allSettled(agents.map((a) => a.shutdown("test over")));
    for (const nc of connections) await closeGracefully(nc);
    await auditor.stop();
    await m.stop();
    await work.remove();
  };
  try {
    await options.beforeAgents?.(m.master);
    for (let i = 0; i < options.agents; i++) {
      const hostname = `node${i + 1}`;
      const nc = await connect({ servers: url, name: hostname });
      connections.push(nc);
      const agent = createAgent({
        nc,
        logger: testLogger(),
        subjects,
        natsUrl: url,
        config: resolveAgentConfig({
          argv: [],
          env: {},
          overrides: {
            nats: url,
            prefix: subjects.prefix,
            hostname,
            workDir: path.join(work.dir, hostname),
            resources: `${options.resources};disk:1024;ports:[31000-32000]`,
          },
        }),
      });
      agents.push(agent);
      await agent.start();
    }
    await eventually(() => agents.every((a) => a.registered()), "agents registered");
  } catch (err) {
    await stop();
    throw err;
  }
  return { master: m.master, agents, auditor, stop };
}

/** A framework on the SchedulerDriver. */
export interface TestFramework {
  name: string;
  driver: SchedulerDriver;
  events: Recorder<SchedulerEvent>;
}

/** A framework on the SchedulerDriver, with its events recorded. */
export async function startFramework(
  url: string,
  subjects: Subjects,
  name: string,
  roles: string[] = ["*"],
): Promise<TestFramework> {
  const driver = new SchedulerDriver({
    servers: url,
    subjects,
    framework: { name, roles },
    logger: silentLogger(),
  });
  const events = recordEvents(driver);
  await driver.start();
  return { name, driver, events };
}

/** The offers a framework received, less those rescinded and those in `used`. */
export function offersOf(framework: TestFramework, used: ReadonlySet<string> = new Set()): Offer[] {
  const gone = new Set(used);
  for (const event of framework.events.items) {
    if (event.type === "rescind") gone.add(event.offerId);
  }
  const out: Offer[] = [];
  for (const event of framework.events.items) {
    if (event.type !== "offers") continue;
    for (const offer of event.offers) if (!gone.has(offer.offerId)) out.push(offer);
  }
  return out;
}

/**
 * What the framework has received in offers that are still open, summed. The master books an
 * offer before the framework receives it, so a test that waits on the master's state waits on
 * this too before it uses the offers.
 */
export function receivedBy(framework: TestFramework): Resources {
  let sum = Resources.empty();
  for (const offer of offersOf(framework)) {
    sum = sum.add(Resources.fromJSON(offer.resources).quantities());
  }
  return sum;
}

/** Starts `agora policy serve` and resolves once it serves. */
export async function startPolicyActor(
  url: string,
  subjects: Subjects,
  name: string,
  module = BINPACK_MODULE,
): Promise<AgoraProcess> {
  const proc = startAgora(
    [
      "policy",
      "serve",
      "--name",
      name,
      "--module",
      module,
      "--nats",
      url,
      "--prefix",
      subjects.prefix,
    ],
    { env: { AGORA_LOG_LEVEL: "info" } },
  );
  const started = proc.stderr.waitFor((line) => line.includes("policy actor started"), {
    timeoutMs: WAIT_MS,
    what: "policy actor started",
  });
  const exited = proc.result.then((r) => {
    throw new Error(`agora policy serve exited early (${r.code}): ${r.stderr}`);
  });
  await Promise.race([started, exited]);
  exited.catch(() => {});
  return proc;
}

/** Per framework name: the resources it holds (used + offered) in the state. */
export function heldByFramework(state: MasterState): Record<string, Resources> {
  const out: Record<string, Resources> = {};
  for (const f of state.frameworks) {
    out[f.name] = Resources.fromJSON(f.used).add(Resources.fromJSON(f.offered));
  }
  return out;
}

/**
 * The starting point of every fault case, and how a case is declared: a
 * cluster with its masters and agents up, and a recording framework holding
 * long tasks, all RUNNING and checked once before the fault.
 */
import test, { type ExecutionContext } from "ava";
import { checkAfterFault } from "./check.ts";
import { FaultCluster, type FaultClusterOptions } from "./cluster.ts";
import { missing, type Requirement } from "./features.ts";
import type { RecordingFramework } from "./framework.ts";

/** Per-test deadline: a case runs in seconds, the margin is for a loaded CI machine. */
export const CASE_TIMEOUT_MS = 150_000;

/** Options of {@link startScenario}. */
export interface ScenarioOptions extends FaultClusterOptions {
  /** Master ids, the first started first (it leads). Default `["m1"]`. */
  masters?: string[];
  /** Agent hostnames. Default `["a1", "a2"]`. */
  agents?: string[];
  /** Tasks of the framework; `tasksPerAgent` on each agent. Default 4 and 2. */
  tasks?: number;
  tasksPerAgent?: number;
  frameworkId?: string;
  failoverTimeoutSeconds?: number;
}

/** A started scenario. */
export interface Scenario {
  cluster: FaultCluster;
  framework: RecordingFramework;
  /** The agent ids by hostname. */
  agentIds: Map<string, string>;
  /** The leader at the start. */
  leaderId: string;
}

/** Starts the cluster, its masters and agents, and the framework; waits until its tasks run. */
export async function startScenario(
  t: ExecutionContext,
  options: ScenarioOptions,
): Promise<Scenario> {
  const cluster = await FaultCluster.start(t, options);
  const masters = options.masters ?? ["m1"];
  cluster.startMaster(masters[0]!);
  const leader = await cluster.waitLeader();
  for (const id of masters.slice(1)) cluster.startMaster(id);
  const agentNames = options.agents ?? ["a1", "a2"];
  await Promise.all(agentNames.map((name) => cluster.startAgent(name)));
  const agentIds = new Map<string, string>();
  for (const name of agentNames) agentIds.set(name, await cluster.agentId(name));
  const tasks = options.tasks ?? 4;
  const framework = cluster.startFramework({
    frameworkId: options.frameworkId ?? `fw-${options.prefix}`,
    failoverTimeoutSeconds: options.failoverTimeoutSeconds ?? 60,
    tasks,
    tasksPerAgent: options.tasksPerAgent ?? 2,
  });
  await framework.waitRunning(tasks);
  await checkAfterFault(t, cluster, { tasks });
  return { cluster, framework, agentIds, leaderId: leader.masterId };
}

/**
 * Declares a fault case (serial within its file). When the checkout lacks a
 * feature the case needs, the case is declared skipped with the probe's
 * reason in its title, so that it runs by itself once the feature is there
 * (or when AGORA_FAULTS_FORCE is set, to see how it fails without it).
 */
export async function faultCase(
  title: string,
  needs: Requirement[],
  body: (t: ExecutionContext) => Promise<void>,
): Promise<void> {
  const gaps = await missing(...needs);
  // AGORA_FAULTS_FORCE=1 runs a case whose feature is missing (to see how it fails).
  if (gaps.length > 0 && process.env.AGORA_FAULTS_FORCE === undefined) {
    test.serial.skip(`${title} (skipped: ${gaps.join("; ")})`, () => {});
    return;
  }
  test.serial(title, async (t) => {
    t.timeout(CASE_TIMEOUT_MS);
    await body(t);
  });
}

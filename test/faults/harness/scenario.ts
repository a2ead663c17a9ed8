/**
 * The starting point of every fault case, and how a case is declared: a
 * cluster with its masters and agents up, and a recording framework holding
 * long tasks, all RUNNING and checked once before the fault.
 */
import test, { type ExecutionContext } from "ava";
import { checkAfterFault } from "./check.ts";
import { FaultCluster, type FaultClusterOptions } from "./cluster.ts";
import { type Features, missing, type Requirement } from "./features.ts";
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

/** A case of the matrix: declared by the matrix file once the features are probed. */
export interface FaultCase {
  title: string;
  needs: Requirement[];
  body: (t: ExecutionContext) => Promise<void>;
}

/** A case of the matrix (see {@link declareCases}). */
export function faultCase(
  title: string,
  needs: Requirement[],
  body: (t: ExecutionContext) => Promise<void>,
): FaultCase {
  return { title, needs, body };
}

/**
 * Declares the cases, serial and in order, after a first test that checks the
 * feature probes work. A case whose feature this checkout lacks is declared
 * skipped with the probe's reason in its title, so that it runs by itself
 * once the feature is there (or when AGORA_FAULTS_FORCE is set, to see how it
 * fails without it). AVA wants every test declared synchronously: probe first.
 */
export function declareCases(found: Features, cases: readonly FaultCase[]): void {
  test.serial("fault tier - the feature probes read the agora executable", (t) => {
    t.log(JSON.stringify(found));
    t.true(found.probesWork, "`agora master --help` and `agora agent --help` list their flags");
  });
  for (const c of cases) {
    const gaps = missing(found, ...c.needs);
    if (gaps.length > 0 && process.env.AGORA_FAULTS_FORCE === undefined) {
      test.serial.skip(`${c.title} (skipped: ${gaps.join("; ")})`, () => {});
      continue;
    }
    test.serial(c.title, async (t) => {
      t.timeout(CASE_TIMEOUT_MS);
      await c.body(t);
    });
  }
}

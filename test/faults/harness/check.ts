/**
 * The check run after every fault: every launched task has a known, correct
 * state at its framework that matches the leading master's state (0 tasks
 * unaccounted for), every transition the master applied reached the
 * framework (0 updates lost), a task the test ended has its terminal update
 * at the framework, and no agent's resources are double-booked.
 *
 * `violations()` is pure (state + reports in, a list of findings out);
 * `checkAfterFault()` waits until the cluster has settled into a state with
 * none, and fails the test with the last findings when it never does.
 */
import type { ExecutionContext } from "ava";
import type { ClusterEvent } from "../../../cli/cluster-events.ts";
import { isTerminalState, TaskState } from "../../../protocol/common.ts";
import type { MasterState } from "../../../protocol/operator.ts";
import { Resources } from "../../../protocol/resources.ts";
import type { FaultCluster } from "./cluster.ts";
import type { FrameworkReport } from "./framework.ts";
import { processesUnder } from "./processes.ts";
import { eventually, FAULT_WAIT_MS } from "./wait.ts";

/** Task states whose resources count on their agent. */
const HOLDING: ReadonlySet<string> = new Set([
  TaskState.Staging,
  TaskState.Starting,
  TaskState.Running,
  TaskState.Killing,
]);

/** What the check looks at for one framework. */
export interface FrameworkUnderCheck {
  frameworkId: string;
  report: FrameworkReport;
  /** Tasks the test ended (killed, or killed their processes): each needs its terminal update. */
  ended?: Iterable<string>;
}

/** Input of {@link violations}. */
export interface CheckInput {
  /** The state as the leading master answered it. */
  state: MasterState;
  frameworks: FrameworkUnderCheck[];
  /** Cluster events the test observed (the master's applied transitions among them). */
  events?: readonly ClusterEvent[];
}

function overlaps(a: Array<[number, number]>, b: Array<[number, number]>): boolean {
  for (const [a0, a1] of a) for (const [b0, b1] of b) if (a0 <= b1 && b0 <= a1) return true;
  return false;
}

/** Findings about tasks and updates of one framework. */
function frameworkViolations(
  state: MasterState,
  fw: FrameworkUnderCheck,
  events: readonly ClusterEvent[],
): string[] {
  const out: string[] = [];
  const id = fw.frameworkId;
  const at = state.frameworks.find((f) => f.id === id);
  if (at === undefined) return [`framework ${id} is unknown to the leader ${state.masterId}`];
  if (!at.active) out.push(`framework ${id} is not active at the leader`);
  const masterTasks = new Map(at.tasks.map((task) => [task.id, task]));
  const report = fw.report;
  for (const task of report.tasks.values()) {
    const m = masterTasks.get(task.taskId);
    if (task.latest === undefined) {
      out.push(`task ${task.taskId}: no update at the framework (state unknown)`);
    } else if (task.latest === TaskState.Unknown) {
      out.push(`task ${task.taskId}: TASK_UNKNOWN at the framework`);
    }
    if (m === undefined) {
      out.push(`task ${task.taskId}: launched by the framework, unaccounted for at the leader`);
      continue;
    }
    if (m.state !== task.latest) {
      out.push(
        `task ${task.taskId}: framework says ${task.latest ?? "nothing"}, leader says ${m.state}`,
      );
    }
    if (m.agentId !== task.agentId) {
      out.push(`task ${task.taskId}: launched on ${task.agentId}, leader has it on ${m.agentId}`);
    }
    if (task.terminalStates.size > 1) {
      out.push(
        `task ${task.taskId}: terminal state changed: ${[...task.terminalStates].join(", ")}`,
      );
    }
  }
  for (const m of at.tasks) {
    if (!report.tasks.has(m.id)) {
      out.push(`task ${m.id}: at the leader (${m.state}) but never launched by the framework`);
    }
  }
  for (const status of report.strangers) {
    out.push(`update for task ${status.taskId} that the framework never launched`);
  }
  for (const taskId of fw.ended ?? []) {
    const task = report.tasks.get(taskId);
    if (task === undefined || task.terminalStates.size === 0) {
      out.push(`task ${taskId} was ended by the test but has no terminal update at the framework`);
    }
  }
  // Every transition the leader applied (as the event stream showed it) reached the framework.
  for (const event of events) {
    if (event.type !== "cluster.taskUpdated" || event.frameworkId !== id) continue;
    if (event.state === TaskState.Staging) continue; // Mesos never sends STAGING to frameworks
    const task = report.tasks.get(event.taskId);
    if (task === undefined) continue; // an abandoned launch; unaccounted tasks are found above
    if (!task.updates.some((u) => u.state === event.state)) {
      out.push(
        `update lost: the master moved task ${event.taskId} ${event.previousState ?? "(new)"} → ${event.state}, the framework never got ${event.state}`,
      );
    }
  }
  return out;
}

/** Findings about the agents' resources in the leader's state. */
function resourceViolations(state: MasterState): string[] {
  const out: string[] = [];
  const hostnames = new Map<string, string>();
  const live = new Map<string, Array<{ id: string; resources: Resources }>>();
  for (const fw of state.frameworks) {
    for (const task of fw.tasks) {
      if (!HOLDING.has(task.state)) continue;
      const list = live.get(task.agentId) ?? [];
      list.push({ id: `${fw.id}/${task.id}`, resources: Resources.fromJSON(task.resources) });
      live.set(task.agentId, list);
    }
  }
  for (const agent of state.agents) {
    if (agent.status === "removed") continue;
    if (agent.active) {
      const other = hostnames.get(agent.hostname);
      if (other !== undefined) {
        out.push(`hostname ${agent.hostname} is active twice: agents ${other} and ${agent.id}`);
      }
      hostnames.set(agent.hostname, agent.id);
    }
    const total = Resources.fromJSON(agent.resources);
    const used = Resources.fromJSON(agent.used);
    const offered = Resources.fromJSON(agent.offered);
    if (!total.contains(used.add(offered))) {
      out.push(
        `agent ${agent.id} double-booked: used ${used} + offered ${offered} exceed total ${total}`,
      );
    }
    const tasks = live.get(agent.id) ?? [];
    let sum = Resources.empty();
    for (const task of tasks) sum = sum.add(task.resources);
    if (agent.active && !used.contains(sum.quantities())) {
      out.push(`agent ${agent.id}: its live tasks hold ${sum} but only ${used} is counted used`);
    }
    if (!total.contains(sum.quantities())) {
      out.push(`agent ${agent.id}: live tasks hold ${sum}, more than its total ${total}`);
    }
    for (let i = 0; i < tasks.length; i++) {
      for (let j = i + 1; j < tasks.length; j++) {
        const a = tasks[i]!;
        const b = tasks[j]!;
        if (overlaps(a.resources.ranges("ports"), b.resources.ranges("ports"))) {
          out.push(`agent ${agent.id}: tasks ${a.id} and ${b.id} hold the same ports`);
        }
      }
    }
  }
  for (const agentId of live.keys()) {
    if (!state.agents.some((a) => a.id === agentId)) {
      out.push(`live tasks on agent ${agentId}, which the leader does not know`);
    }
  }
  return out;
}

/**
 * Findings about what really runs: on every agent whose process runs (and is
 * not frozen), each task process under its work dir belongs to a task the
 * leader has live on that agent (nothing runs unmanaged, nothing the leader
 * counts as ended or offers again), and each task the leader has RUNNING
 * there has its processes.
 */
export async function processViolations(
  state: MasterState,
  cluster: FaultCluster,
): Promise<string[]> {
  const out: string[] = [];
  const tasks = new Map<string, { state: string; agentId: string }>();
  for (const fw of state.frameworks) {
    for (const task of fw.tasks) tasks.set(`${fw.id}/${task.executorId ?? task.id}`, task);
  }
  for (const agent of cluster.agents.values()) {
    if (!agent.proc.alive || agent.proc.paused) continue;
    const agentId = state.agents.find((a) => a.hostname === agent.name && a.active)?.id;
    if (agentId === undefined) continue;
    const running = new Set<string>();
    for (const p of await processesUnder(agent.workDir)) {
      // a task's own processes carry MESOS_* ids (it inherits no AGORA_* variable)
      const executorId = p.env.get("AGORA_EXECUTOR_ID") ?? p.env.get("MESOS_EXECUTOR_ID");
      const frameworkId = p.env.get("AGORA_FRAMEWORK_ID") ?? p.env.get("MESOS_FRAMEWORK_ID");
      if (executorId === undefined || frameworkId === undefined) continue;
      const key = `${frameworkId}/${executorId}`;
      if (running.has(key)) continue; // one finding per task, not per process
      running.add(key);
      const task = tasks.get(key);
      if (
        task === undefined ||
        isTerminalState(task.state as TaskState) ||
        task.agentId !== agentId
      ) {
        out.push(
          `process ${p.pid} of task ${key} runs on ${agent.name} (${agentId}), the leader has it ${task === undefined ? "nowhere" : `${task.state} on ${task.agentId}`}`,
        );
      }
    }
    for (const [key, task] of tasks) {
      if (task.agentId === agentId && task.state === TaskState.Running && !running.has(key)) {
        out.push(
          `the leader has task ${key} RUNNING on ${agent.name} (${agentId}), nothing of it runs there`,
        );
      }
    }
  }
  return out;
}

/** Every finding; empty when the cluster is sound. */
export function violations(input: CheckInput): string[] {
  const out: string[] = [];
  if (!input.state.leader) out.push(`the master ${input.state.masterId} answered as a non-leader`);
  for (const fw of input.frameworks) {
    out.push(...frameworkViolations(input.state, fw, input.events ?? []));
  }
  out.push(...resourceViolations(input.state));
  return out;
}

/** Options of {@link checkAfterFault}. */
export interface CheckOptions {
  /** Tasks the test ended, by framework id. */
  ended?: Record<string, Iterable<string>>;
  /** How long the cluster may take to settle. */
  timeoutMs?: number;
  /** The number of tasks each framework must hold (launched and accounted). */
  tasks?: number;
}

/**
 * Waits until the leader's state and every framework's record agree with no
 * finding (the cluster settles after a fault), then asserts it; the test
 * fails with the last findings when it never settles. Also asserts that no
 * process the test did not end has exited. Returns the settled state.
 */
export async function checkAfterFault(
  t: ExecutionContext,
  cluster: FaultCluster,
  options: CheckOptions = {},
): Promise<MasterState | undefined> {
  let last: string[] = ["no state from the leader yet"];
  let settled: MasterState | undefined;
  const frameworkIds = [...new Set(cluster.frameworks.map((f) => f.frameworkId))];
  try {
    settled = await eventually(
      async () => {
        const state = await cluster.leaderState();
        const frameworks = frameworkIds.map((frameworkId) => ({
          frameworkId,
          report: cluster.frameworks.find((f) => f.frameworkId === frameworkId)!.report(),
          ended: options.ended?.[frameworkId] ?? [],
        }));
        last = violations({ state, frameworks, events: cluster.events.items });
        last.push(...(await processViolations(state, cluster)));
        if (options.tasks !== undefined) {
          for (const fw of frameworks) {
            if (fw.report.tasks.size < options.tasks) {
              last.push(
                `framework ${fw.frameworkId} holds ${fw.report.tasks.size} tasks, not ${options.tasks}`,
              );
            }
          }
        }
        return last.length === 0 && state;
      },
      "the cluster to settle with no violation",
      options.timeoutMs ?? FAULT_WAIT_MS,
    );
  } catch {
    t.log(cluster.logTails());
  }
  t.deepEqual(last, [], "violations after the fault");
  t.deepEqual(cluster.deadProcesses(), [], "processes that died");
  return settled;
}

/** True when `state` is terminal (re-exported for the tests). */
export { isTerminalState };

/**
 * Phase `agent-restart`: a real `agora agent` (one process, the built-in
 * command executor running `sleep`) holds `restartTasks` running tasks of
 * one framework (the load framework); it is killed with SIGKILL and started
 * again at once with the same `--work-dir`. Measured from the kill:
 *
 * - the agent reregistered: the master's `cluster.agentReregistered` event
 *   for that agent id (it reregisters once its executors reattached, or
 *   after `--executor-reregistration-timeout`);
 * - every task reattached and reported: the master's state (polled every
 *   50 ms after that event) shows the agent active with every task RUNNING
 *   on it. Tasks it no longer reports would be TASK_LOST there.
 *
 * Needs agent recovery (`--recover` in `agora agent --help`); without it one
 * row says so. Processes left in the work dir are killed at the end.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { nuid } from "@nats-io/nats-core";
import { closeGracefully, connect } from "../../infra/connect.ts";
import { serve } from "../../infra/dispatch.ts";
import { silentLogger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import { request } from "../../infra/request.ts";
import { isTerminalState, TaskState } from "../../protocol/common.ts";
import { ClusterEventKind, Subjects } from "../../protocol/subjects.ts";
import { commandFlags, needsFlag, RECOVER_FLAG } from "../features.ts";
import { type LoadRun, startLoad } from "../load/index.ts";
import { type MasterProcess, masterAvailability, startMasterProcess } from "../master-process.ts";
import { killProcessesIn, type RealAgent, startRealAgent } from "../real-agent.ts";
import { pollUntil, sleep, within } from "../sampling.ts";
import { round } from "../stats.ts";
import { type BenchPhase, type Figure, skipped, targetFigure } from "./types.ts";

const ALLOCATION_INTERVAL = "100ms";
const AGENT_RESOURCES = "cpus:2;mem:4096";
const TASK_SHAPE = "cpus:0.01;mem:16";
const WHAT = "agent restart with running tasks";

type State = Awaited<ReturnType<typeof getState>>;

function getState(nc: Parameters<typeof request>[0], subjects: Subjects) {
  return request(
    nc,
    subjects.masterOperator(),
    { type: "operator.getState" },
    ["operator.state"],
    5000,
  );
}

/** The agent's id, whether it is active, and its RUNNING tasks, in the master's state. */
function agentView(state: State["state"], hostname: string) {
  const agent = state.agents.find((a) => a.hostname === hostname);
  const running =
    agent === undefined
      ? 0
      : state.frameworks
          .flatMap((f) => f.tasks)
          .filter((t) => t.agentId === agent.id && t.state === TaskState.Running).length;
  return { id: agent?.id, active: agent?.active === true, running };
}

export const agentRestartPhase: BenchPhase = {
  name: "agent-restart",
  description:
    "kill -9 a real agent running `sleep` tasks, restart it: tasks reattached and reported",
  async run(ctx) {
    const availability = await masterAvailability();
    if (!availability.available) return skipped(`no master to measure: ${availability.reason}`);
    if (availability.via !== "cli") return skipped("needs the agora CLI for a real agent");
    const flags = await commandFlags("agent");
    if (!flags.has(RECOVER_FLAG)) {
      return {
        status: "skipped",
        reason: `agora agent has no ${RECOVER_FLAG}`,
        figures: [needsFlag(WHAT, "agent", RECOVER_FLAG)],
        details: { available: false },
      };
    }
    const o = ctx.options;
    const n = o.restartTasks;
    const subjects = new Subjects(`bench${nuid.next().toLowerCase()}`);
    const nc = await connect({ servers: ctx.url, name: "bench-control" });
    const workDir = await mkdtemp(path.join(os.tmpdir(), "agora-bench-restart-"));
    const hostname = "bench-restart-agent";
    const agentOptions = {
      url: ctx.url,
      prefix: subjects.prefix,
      workDir,
      resources: AGENT_RESOURCES,
      hostname,
      logLevel: o.masterLogLevel,
      args: [RECOVER_FLAG, "reconnect"],
    };
    let master: MasterProcess | undefined;
    let agent: RealAgent | undefined;
    let load: LoadRun | undefined;
    const reregisteredAt = new Map<string, number>();
    const events = serve(
      nc,
      subjects.event(ClusterEventKind.AgentReregistered),
      { types: ["cluster.agentReregistered"], logger: silentLogger(), metrics: new Metrics() },
      (msg) => {
        if (!reregisteredAt.has(msg.agentId)) reregisteredAt.set(msg.agentId, performance.now());
        return undefined;
      },
    );
    // every task that ends after the kill, with the master's reason (none should)
    let killedAt = Number.POSITIVE_INFINITY;
    const ended: Array<{ taskId: string; state: string; reason?: string; message?: string }> = [];
    const taskEvents = serve(
      nc,
      subjects.event(ClusterEventKind.TaskUpdated),
      { types: ["cluster.taskUpdated"], logger: silentLogger(), metrics: new Metrics() },
      (msg) => {
        if (performance.now() >= killedAt && isTerminalState(msg.state) && ended.length < 100) {
          ended.push({
            taskId: msg.taskId,
            state: msg.state,
            ...(msg.reason === undefined ? {} : { reason: msg.reason }),
            ...(msg.message === undefined ? {} : { message: msg.message }),
          });
        }
        return undefined;
      },
    );
    try {
      master = await startMasterProcess(nc, {
        url: ctx.url,
        subjects,
        via: "cli",
        logLevel: o.masterLogLevel,
        args: ["--allocation-interval", o.masterAllocationInterval ?? ALLOCATION_INTERVAL],
      });
      agent = startRealAgent(agentOptions);
      const first = agent;
      let agentId: string | undefined;
      await within(
        (async () => {
          for (;;) {
            if (first.exited()) throw new Error(`the agent exited:\n${first.stderr()}`);
            const view = agentView((await getState(nc, subjects)).state, hostname);
            if (view.active) {
              agentId = view.id;
              return;
            }
            await sleep(50);
          }
        })(),
        30_000,
        "registration of the real agent",
      );
      ctx.log(`agent-restart: ${n} sleep tasks on a real agent`);
      load = await startLoad({
        servers: ctx.url,
        subjects,
        tasks: n,
        shape: TASK_SHAPE,
        command: "sleep 3600",
        until: "running",
        name: "restart",
      });
      await within(load.done, Math.max(60_000, n * 2000), `${n} tasks running`);
      const before = load.stats();

      ctx.log("agent-restart: SIGKILL of the agent, then the same agent again");
      const t0 = performance.now();
      killedAt = t0;
      await agent.kill();
      const killedMs = performance.now() - t0;
      agent = startRealAgent(agentOptions);
      const second = agent;
      const id = agentId;
      let reattachedMs: number | undefined;
      let last: ReturnType<typeof agentView> | undefined;
      await pollUntil(
        () => {
          if (second.exited()) return true;
          return id !== undefined && reregisteredAt.has(id);
        },
        120_000,
        10,
      );
      const reregMs = id === undefined ? undefined : (reregisteredAt.get(id) ?? Number.NaN) - t0;
      const deadline = performance.now() + 120_000;
      while (reattachedMs === undefined && performance.now() < deadline && !second.exited()) {
        last = agentView((await getState(nc, subjects)).state, hostname);
        if (last.active && last.id === id && last.running === n) {
          reattachedMs = performance.now() - t0;
          break;
        }
        // tasks that ended meanwhile never come back: the rest is all there is to wait for
        const ended = load.stats().failed - before.failed;
        if (ended > 0 && last.active && last.id === id && last.running + ended >= n) break;
        await sleep(50);
      }
      const after = load.stats();
      const lost = after.failed - before.failed;
      const figures: Figure[] = [
        {
          name: `kill -9 agent → reregistered with the master (restart included)`,
          value: Number.isFinite(reregMs) ? round(reregMs ?? Number.NaN, 0) : undefined,
          unit: "ms",
        },
        {
          name: `kill -9 agent → all ${n} tasks reattached and RUNNING at the master`,
          value: reattachedMs === undefined ? undefined : round(reattachedMs, 0),
          unit: "ms",
        },
        {
          name: `tasks RUNNING on the agent at the master after the restart (of ${n})`,
          value: last?.running,
          unit: "tasks",
          ...targetFigure(last?.running, ">=", n),
        },
        {
          name: "tasks that ended at the framework across the restart (0 expected)",
          value: lost,
          unit: "tasks",
        },
      ];
      return {
        status: "ok",
        figures,
        details: {
          tasks: n,
          killToExitMs: round(killedMs, 1),
          reregisteredMs: reregMs,
          reattachedMs,
          lastView: last,
          failedByState: after.failedByState,
          endedAfterKill: ended,
          agentExitedEarly: second.exited() ? second.stderr() : undefined,
        },
      };
    } finally {
      events.unsubscribe();
      taskEvents.unsubscribe();
      await load?.stop().catch(() => undefined);
      await agent?.stop();
      await master?.stop();
      await closeGracefully(nc);
      const left = killProcessesIn(workDir);
      if (left > 0) ctx.log(`agent-restart: killed ${left} processes left in the work dir`);
      await rm(workDir, { recursive: true, force: true });
    }
  },
};

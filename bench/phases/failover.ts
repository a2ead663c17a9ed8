/**
 * Phase `failover`: master failover at scale. Real `agora master` processes
 * (the leader and, when the master has `--leader-lease`, one standby on the
 * same prefix), `failoverAgents` emulated agents and `failoverTasks` tasks
 * held running by the load framework; then SIGKILL of the leader, and the
 * time from the kill to (a) a master serving as leader again, (b) every agent
 * reregistered with it, (c) allocation resumed (bench/failover-watch.ts).
 *
 * Without `--leader-lease` in `agora master --help` (before master high
 * availability) there is no standby: a new master process is started on the
 * same prefix right after the kill, the rows say so, and their times include
 * that process's start. The agents notice the new master at their next
 * heartbeat then (the master's interval, 15 s by default), where a new leader
 * asks every agent of its registry to reregister at once.
 */
import { nuid } from "@nats-io/nats-core";
import { closeGracefully, connect } from "../../infra/connect.ts";
import { requestState } from "../../infra/request.ts";
import { TaskState } from "../../protocol/common.ts";
import { Subjects } from "../../protocol/subjects.ts";
import { type AgentEmulator, startAgentEmulator, TASK_DURATION_LABEL } from "../emulator/index.ts";
import { FailoverEvents, firstOfferToNewFramework, leaderServing } from "../failover-watch.ts";
import { commandFlags, LEADER_LEASE_FLAG, needsFlag, REGISTRY_FLAG } from "../features.ts";
import { type LoadRun, startLoad } from "../load/index.ts";
import { type MasterProcess, masterAvailability, startMasterProcess } from "../master-process.ts";
import { pollUntil, within } from "../sampling.ts";
import { ratio, round } from "../stats.ts";
import { type BenchPhase, type Figure, skipped, targetFigure } from "./types.ts";

/** Goals of the issue, judged at its scale only. */
const TARGET_LEADER_MS = 2000;
const TARGET_ALLOCATION_MS = 10_000;
const TARGET_SCALE_AGENTS = 50_000;

const ms = (v: number | undefined) => (v === undefined ? undefined : round(v, 0));

export const failoverPhase: BenchPhase = {
  name: "failover",
  description: "kill -9 the leading master under load: new leader, agents back, allocation resumed",
  async run(ctx) {
    const availability = await masterAvailability();
    if (!availability.available) return skipped(`no master to measure: ${availability.reason}`);
    const o = ctx.options;
    const flags = await commandFlags("master");
    const standby = availability.via === "cli" && flags.has(LEADER_LEASE_FLAG);
    const common = [
      ...(flags.has(REGISTRY_FLAG) ? [REGISTRY_FLAG, "kv"] : []),
      ...(o.masterAllocationInterval === undefined
        ? []
        : ["--allocation-interval", o.masterAllocationInterval]),
    ];
    const subjects = new Subjects(`bench${nuid.next().toLowerCase()}`);
    const nc = await connect({ servers: ctx.url, name: "bench-control" });
    const masters: MasterProcess[] = [];
    let emulator: AgentEmulator | undefined;
    let load: LoadRun | undefined;
    let probe: LoadRun | undefined;
    let events: FailoverEvents | undefined;
    let watching = false;
    const start = (masterId: string, ready: "leader" | "instance") =>
      startMasterProcess(nc, {
        url: ctx.url,
        subjects,
        via: availability.via,
        logLevel: o.masterLogLevel,
        masterId,
        ready,
        args: common,
      }).then((m) => {
        masters.push(m);
        return m;
      });
    try {
      const firstId = `benchm1${nuid.next().toLowerCase().slice(0, 6)}`;
      const secondId = `benchm2${nuid.next().toLowerCase().slice(0, 6)}`;
      ctx.log(`failover: starting the leader${standby ? " and a standby" : ""}`);
      const first = await start(firstId, "leader");
      const second = standby ? await start(secondId, "instance") : undefined;

      ctx.log(`failover: ${o.failoverAgents} emulated agents`);
      emulator = await startAgentEmulator({
        servers: ctx.url,
        subjects,
        count: o.failoverAgents,
        connections: o.connections,
        registrationConcurrency: o.registrationConcurrency,
        reregistrationBackoffMaxMs: o.failoverBackoffMaxMs,
        reregistrationConcurrency: o.failoverConcurrency,
      });
      await within(emulator.ready, Math.max(60_000, o.failoverAgents * 5), "registration");
      const firstRegistration = emulator.stats().registration;
      ctx.log(`failover: ${o.failoverTasks} tasks held running`);
      load = await startLoad({
        servers: ctx.url,
        subjects,
        frameworks: o.frameworks,
        tasks: o.failoverTasks,
        until: "running",
        labels: { [TASK_DURATION_LABEL]: "Infinity" },
        maxInFlight: o.maxInFlight,
        name: "failover",
      });
      await within(load.done, Math.max(60_000, o.failoverTasks * 5), "the tasks to run");
      const held = emulator.stats().tasksActive;
      // who leads now (leadership may have moved under load): that one is killed
      const before = (await requestState(nc, subjects.masterOperator(), 60_000)).state;
      const firstLeads = before.masterId !== secondId || second === undefined;
      const leader = firstLeads ? first : second;
      const nextId = firstLeads ? secondId : firstId;
      events = new FailoverEvents(nc, subjects);
      await nc.flush();

      ctx.log(
        `failover: SIGKILL of the leader (${standby ? "a standby takes over" : "then a new master process"})`,
      );
      const t0 = performance.now();
      events.arm(t0, o.failoverAgents, nextId);
      await leader.kill();
      const killedMs = performance.now() - t0;
      const restarted = standby ? undefined : start(nextId, "leader");
      restarted?.catch(() => undefined);
      const timeout = o.failoverTimeoutMs;
      // (d) the load frameworks subscribed again (the lite transport does on NOT_SUBSCRIBED and
      // event.resubscribe), watched from the kill until the other marks are in
      const lf = load;
      const resubscribedBefore = lf.resubscriptions();
      let dMs: number | undefined;
      watching = true;
      const dWatch = pollUntil(
        () => {
          if (dMs === undefined && lf.resubscriptions() - resubscribedBefore >= o.frameworks) {
            dMs = performance.now() - t0;
          }
          return dMs !== undefined || !watching;
        },
        timeout,
        10,
      );
      // (b) as the agents see it: every agent's last registration reply names the new master
      const em = emulator;
      const ev = events;
      let bEmulatorMs: number | undefined;
      const bWatch = pollUntil(
        () => {
          if (bEmulatorMs === undefined && em.registeredWith(nextId).agents >= o.failoverAgents) {
            bEmulatorMs = performance.now() - t0;
          }
          return bEmulatorMs !== undefined && ev.agentsBackMs !== undefined;
        },
        timeout,
        50,
      );
      const aMs = await leaderServing(nc, subjects, t0, timeout);
      if (restarted !== undefined) await restarted;
      ctx.log(`failover: a master serves after ${ms(aMs)} ms`);
      const offer = await firstOfferToNewFramework(nc, subjects, t0, timeout);
      probe = offer.load;
      await bWatch;
      watching = false;
      await dWatch;
      const bMs = events.agentsBackMs;
      const back = em.registeredWith(nextId);
      ctx.log(`failover: agents back after ${ms(bMs)} ms, first offer after ${ms(offer.ms)} ms`);

      // the new leader's own word, once everything settled
      const { state } = await requestState(nc, subjects.masterOperator(), 60_000);
      const running = state.frameworks
        .flatMap((f) => f.tasks)
        .filter((t) => t.state === TaskState.Running).length;
      const active = state.agents.filter((a) => a.active).length;
      const mode = standby ? "standby takes over" : "restarted process, no standby";
      const atScale = o.failoverAgents >= TARGET_SCALE_AGENTS;
      const reregRate =
        bMs === undefined || aMs === undefined || bMs <= aMs
          ? undefined
          : round((o.failoverAgents * 1000) / (bMs - aMs));
      const figures: Figure[] = [
        {
          name: `(a) kill -9 leader → a master serving as leader (${mode}${standby ? "" : ", its start included"})`,
          value: ms(aMs),
          unit: "ms",
          ...(atScale && standby ? targetFigure(aMs, "<", TARGET_LEADER_MS) : {}),
        },
        {
          name: `(b) kill -9 leader → every agent reregistered (${o.failoverAgents} agents, cluster events)`,
          value: ms(bMs),
          unit: "ms",
        },
        {
          name: "    the same, as the agents saw their replies",
          value: ms(bEmulatorMs),
          unit: "ms",
        },
        {
          name: `    reregistration rate after (a)${standby ? "" : " (paced by the agents' heartbeats)"}`,
          value: reregRate,
          unit: "reg/s",
          baseline: {
            name: "first registration of the same agents",
            value: firstRegistration.perSec,
          },
          ratio: ratio(reregRate, firstRegistration.perSec),
        },
        {
          name: "(c) kill -9 leader → allocation resumed (first offer to a new framework)",
          value: ms(offer.ms),
          unit: "ms",
          ...(atScale && standby ? targetFigure(offer.ms, "<", TARGET_ALLOCATION_MS) : {}),
        },
        {
          name: "    first cluster.offersSent of the new leader",
          value: ms(events.firstOfferSentMs),
          unit: "ms",
        },
        {
          name: `(d) kill -9 leader → every framework resubscribed (${o.frameworks} lite frameworks)`,
          value: ms(dMs),
          unit: "ms",
        },
        {
          name: `tasks RUNNING at the new leader (of ${held} held)`,
          value: running,
          unit: "tasks",
          ...targetFigure(running, ">=", held),
        },
        {
          name: `agents active at the new leader (of ${o.failoverAgents})`,
          value: active,
          unit: "agents",
        },
      ];
      if (resubscribedBefore > 0) {
        figures.push({
          name: "resubscriptions before the kill (the lead changed hands under load: 0 expected)",
          value: resubscribedBefore,
          unit: "calls",
        });
      }
      if (!standby) {
        figures.push(
          needsFlag(
            "standby takeover (rows above: a restarted master)",
            "master",
            LEADER_LEASE_FLAG,
          ),
        );
      }
      return {
        status: "ok",
        figures,
        details: {
          mode: standby ? "standby" : "restart",
          registry: flags.has(REGISTRY_FLAG) ? "kv" : "none",
          masters: masters.map((m) => m.command),
          killed: before.masterId,
          agents: o.failoverAgents,
          tasksHeld: held,
          killToExitMs: round(killedMs, 1),
          leaderServingMs: ms(aMs),
          agentsBackMs: ms(bMs),
          agentsBackEmulatorMs: ms(bEmulatorMs),
          agentsBackByEvents: events.agentsBack,
          agentsBackByEmulator: back,
          firstOfferToNewFrameworkMs: ms(offer.ms),
          firstOfferSentMs: ms(events.firstOfferSentMs),
          frameworksResubscribedMs: ms(dMs),
          resubscriptionsBeforeKill: resubscribedBefore,
          newLeader: { masterId: state.masterId, leader: state.leader, active, running },
          firstRegistration,
          emulator: emulator.stats(),
          load: load.stats(),
        },
      };
    } finally {
      watching = false;
      events?.stop();
      await probe?.stop().catch(() => undefined);
      await load?.stop().catch(() => undefined);
      await emulator?.stop();
      for (const m of masters) await m.stop();
      await closeGracefully(nc);
    }
  },
};

/**
 * Phase `registration`: N emulated agents register with a real master in its
 * own process, then heartbeat for a window at the master's interval. Measures
 * the registration rate and latency, the master's memory per agent (VmRSS
 * before and after) and the CPU both sides spend per registration and per
 * heartbeat.
 */
import { nuid } from "@nats-io/nats-core";
import { closeGracefully, connect } from "../../infra/connect.ts";
import { Subjects } from "../../protocol/subjects.ts";
import { type AgentEmulator, startAgentEmulator } from "../emulator/index.ts";
import { liveBytes, masterAvailability, startMasterProcess } from "../master-process.ts";
import { cpuTimeMs, procStatusBytes, rssBytes, selfCpuTimeMs } from "../proc.ts";
import { sleep, within } from "../sampling.ts";
import { ratio, round } from "../stats.ts";
import { registryCostFigures } from "./registry-cost.ts";
import { type BenchPhase, type Figure, skipped, targetFigure } from "./types.ts";

/** Target of the issue: agents registered and heartbeating. */
const TARGET_AGENTS = 50_000;
/** Target of the issue: master memory per registered agent. */
const TARGET_BYTES_PER_AGENT = 2048;
/** Lets the master's startup garbage settle before memory is read. */
const SETTLE_MS = 500;

const diff = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : b - a;

export const registrationPhase: BenchPhase = {
  name: "registration",
  description: "N emulated agents register with a real master process, then heartbeat",
  async run(ctx) {
    const availability = await masterAvailability();
    if (!availability.available) {
      return skipped(`no master to measure: ${availability.reason}`);
    }
    const { agents, heartbeatWindowMs } = ctx.options;
    const subjects = new Subjects(`bench${nuid.next().toLowerCase()}`);
    const nc = await connect({ servers: ctx.url, name: "bench-control" });
    let emulator: AgentEmulator | undefined;
    let master: Awaited<ReturnType<typeof startMasterProcess>> | undefined;
    try {
      ctx.log(`registration: starting the master (${availability.via})`);
      master = await startMasterProcess(nc, {
        url: ctx.url,
        subjects,
        via: availability.via,
        logLevel: ctx.options.masterLogLevel,
      });
      await sleep(SETTLE_MS);
      const pid = master.pid;
      const rssBefore = rssBytes(pid);
      const heapBefore = await master.heap();
      const masterCpu0 = cpuTimeMs(pid);
      const selfCpu0 = selfCpuTimeMs();
      ctx.log(`registration: ${agents} agents`);
      emulator = await startAgentEmulator({
        servers: ctx.url,
        connections: ctx.options.connections,
        subjects,
        count: agents,
        registrationConcurrency: ctx.options.registrationConcurrency,
      });
      await within(emulator.ready, Math.max(60_000, agents * 5), "registration of every agent");
      const reg = emulator.stats().registration;
      const masterCpuReg = diff(masterCpu0, cpuTimeMs(pid));
      const selfCpuReg = selfCpuTimeMs() - selfCpu0;
      const rssRegistered = rssBytes(pid);

      ctx.log(`registration: heartbeating for ${heartbeatWindowMs} ms`);
      const hb0 = emulator.stats();
      const masterCpuHb0 = cpuTimeMs(pid);
      const t0 = performance.now();
      await sleep(heartbeatWindowMs);
      const hb1 = emulator.stats();
      const windowMs = performance.now() - t0;
      const masterCpuHb = diff(masterCpuHb0, cpuTimeMs(pid));
      const rssAfter = rssBytes(pid);
      const heapAfter = await master.heap();
      const heartbeats = hb1.heartbeatReplies - hb0.heartbeatReplies;
      const heartbeatsPerSec = (heartbeats * 1000) / windowMs;

      const rssPerAgent =
        rssBefore === undefined || rssAfter === undefined
          ? undefined
          : round((rssAfter - rssBefore) / agents);
      const bytesPerAgent =
        heapBefore === undefined || heapAfter === undefined
          ? undefined
          : round((liveBytes(heapAfter) - liveBytes(heapBefore)) / agents);
      const reference = ctx.baseline?.reference;
      const baselineRt = reference?.requestInFlight?.roundTripsPerSec;
      const baselineP50 = reference?.requestInFlight?.p50Ms;
      const referenceName = `request/reply ${reference?.requestInFlight?.inFlight} in flight, ${reference?.payloadBytes} B`;
      const against = (value: number | undefined) =>
        reference === undefined ? {} : { baseline: { name: referenceName, value } };
      const figures: Figure[] = [
        {
          name: "agents registered",
          value: reg.registered,
          unit: "agents",
          // judged at the target's scale only
          ...(agents >= TARGET_AGENTS ? targetFigure(reg.registered, ">=", TARGET_AGENTS) : {}),
        },
        { name: "registration time", value: round(reg.durationMs / 1000, 2), unit: "s" },
        {
          name: `registration rate (${ctx.options.registrationConcurrency} in flight)`,
          value: reg.perSec,
          unit: "reg/s",
          ...against(baselineRt),
          ratio: ratio(reg.perSec, baselineRt),
        },
        {
          name: "registration latency p50",
          value: reg.p50Ms,
          unit: "ms",
          ...against(baselineP50),
          ratio: ratio(reg.p50Ms, baselineP50),
        },
        { name: "registration latency p99", value: reg.p99Ms, unit: "ms" },
        {
          name: "master CPU per registration",
          value: masterCpuReg === undefined ? undefined : round((masterCpuReg * 1000) / agents),
          unit: "µs",
        },
        {
          name: "emulator CPU per registration",
          value: round((selfCpuReg * 1000) / agents),
          unit: "µs",
        },
        {
          name: "heartbeats answered",
          value: round(heartbeatsPerSec),
          unit: "hb/s",
        },
        {
          name: "master CPU while agents heartbeat (all of it, allocation loop included)",
          value: masterCpuHb === undefined ? undefined : round((masterCpuHb / windowMs) * 100, 1),
          unit: "% of a core",
        },
        {
          name: "master CPU ÷ heartbeats (upper bound per heartbeat)",
          value:
            masterCpuHb === undefined || heartbeats === 0
              ? undefined
              : round((masterCpuHb * 1000) / heartbeats),
          unit: "µs",
        },
        {
          name: "master RSS before → after",
          value: rssAfter === undefined ? undefined : round(rssAfter / 2 ** 20, 1),
          unit: `MiB (from ${rssBefore === undefined ? "?" : round(rssBefore / 2 ** 20, 1)})`,
        },
        {
          name: "master memory per agent (live heap after GC)",
          value: bytesPerAgent,
          unit: "B/agent",
          ...targetFigure(bytesPerAgent, "<=", TARGET_BYTES_PER_AGENT),
        },
        {
          name: "  VmRSS growth per agent (upper bound: garbage and heap slack included)",
          value: rssPerAgent,
          unit: "B/agent",
        },
      ];
      // the measured master and emulator are done: the registry runs start their own
      const command = master.command;
      const peakRssBytes = procStatusBytes(pid, "VmHWM");
      await emulator.stop();
      emulator = undefined;
      await master.stop();
      master = undefined;
      const registry = await registryCostFigures(ctx, availability.via);
      figures.push(...registry.figures);
      return {
        status: "ok",
        figures,
        details: {
          registry: registry.details,
          master: {
            command,
            rssBeforeBytes: rssBefore,
            rssRegisteredBytes: rssRegistered,
            rssAfterHeartbeatsBytes: rssAfter,
            heapBefore,
            heapAfter,
            peakRssBytes,
            cpuRegistrationMs: masterCpuReg,
            cpuHeartbeatWindowMs: masterCpuHb,
          },
          emulator: { cpuRegistrationMs: round(selfCpuReg, 1), stats: hb1 },
          heartbeatWindowMs: round(windowMs),
          heartbeats,
          bytesPerAgent,
          rssPerAgent,
        },
      };
    } finally {
      await emulator?.stop();
      await master?.stop();
      await closeGracefully(nc);
    }
  },
};

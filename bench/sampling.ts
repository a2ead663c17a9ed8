/**
 * Measuring a stretch of a run across the processes on this machine: CPU time
 * of the master, the nats-server and the bench process itself, wall time,
 * and the server's message counters; plus small waiting helpers.
 */
import { counterDelta, type ServerCounters, serverCounters } from "./nats-monitor.ts";
import { cpuTimeMs, selfCpuTimeMs } from "./proc.ts";
import { round } from "./stats.ts";

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls `check` every `everyMs` until it holds or `ms` passed; returns whether it held. */
export async function pollUntil(check: () => boolean, ms: number, everyMs = 20): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

/** A point in time of the processes under measurement. */
export interface Sample {
  wallMs: number;
  masterCpuMs: number | undefined;
  natsCpuMs: number | undefined;
  selfCpuMs: number;
  counters: ServerCounters | undefined;
}

/** What happened between two samples. */
export interface Span {
  wallMs: number;
  masterCpuMs: number | undefined;
  natsCpuMs: number | undefined;
  /** The bench process: emulator and load frameworks. */
  benchCpuMs: number;
  /** Each process's CPU as % of one core over the span. */
  masterCpuPct: number | undefined;
  natsCpuPct: number | undefined;
  benchCpuPct: number;
  /** Messages published to the server / delivered by it. */
  counters: ServerCounters | undefined;
}

/** Takes a sample of the master (`masterPid`), the server and this process. */
export async function sample(
  masterPid: number | undefined,
  natsPid: number | undefined,
  monitorUrl: string | undefined,
): Promise<Sample> {
  const counters = await serverCounters(monitorUrl);
  return {
    wallMs: performance.now(),
    masterCpuMs: masterPid === undefined ? undefined : cpuTimeMs(masterPid),
    natsCpuMs: natsPid === undefined ? undefined : cpuTimeMs(natsPid),
    selfCpuMs: selfCpuTimeMs(),
    counters,
  };
}

const diff = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : b - a;

/** The span from `a` to `b`. */
export function span(a: Sample, b: Sample): Span {
  const wallMs = b.wallMs - a.wallMs;
  const pct = (ms: number | undefined) =>
    ms === undefined || wallMs <= 0 ? undefined : round((ms / wallMs) * 100, 1);
  const masterCpuMs = diff(a.masterCpuMs, b.masterCpuMs);
  const natsCpuMs = diff(a.natsCpuMs, b.natsCpuMs);
  const benchCpuMs = b.selfCpuMs - a.selfCpuMs;
  return {
    wallMs: round(wallMs, 1),
    masterCpuMs,
    natsCpuMs,
    benchCpuMs: round(benchCpuMs, 1),
    masterCpuPct: pct(masterCpuMs),
    natsCpuPct: pct(natsCpuMs),
    benchCpuPct: pct(benchCpuMs) ?? 0,
    counters: counterDelta(a.counters, b.counters),
  };
}

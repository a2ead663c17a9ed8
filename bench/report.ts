/**
 * The bench's output: a plain-text table of every figure (value, unit,
 * baseline, ratio, target, pass) and the JSON document written to
 * bench/results/latest.json.
 */
import os from "node:os";
import type { BenchOptions, PhaseResult } from "./phases/types.ts";

/** The JSON document of one bench run. */
export interface BenchReport {
  /** Format version of this document. */
  version: 1;
  startedAt: string;
  durationMs: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
    node: string;
    platform: string;
    /** 1, 5 and 15 minute load averages when the run started: other work skews the figures. */
    loadAverage: number[];
  };
  natsServer: { version: string | undefined };
  options: BenchOptions;
  phases: Array<{ name: string; description: string } & PhaseResult>;
}

/** What the report says about the machine. */
export function machineInfo(): BenchReport["machine"] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${process.platform} ${os.release()}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "-";
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  return String(value);
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
}

/** The table of every phase's figures, and a line per skipped or failed phase. */
export function formatTable(report: BenchReport): string {
  const header = ["figure", "value", "unit", "baseline", "ratio", "target", "pass"];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const phase of report.phases) {
    if (phase.status !== "ok") {
      notes.push(`${phase.name}: ${phase.status}${phase.reason ? ` — ${phase.reason}` : ""}`);
    }
    for (const f of phase.figures) {
      rows.push([
        `${phase.name}: ${f.name}`,
        formatNumber(f.value),
        f.unit,
        f.baseline ? formatNumber(f.baseline.value) : "",
        f.ratio === undefined ? "" : `${f.ratio}×`,
        f.target ?? "",
        f.pass === undefined ? "" : f.pass ? "pass" : "FAIL",
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [pad(header, widths), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const row of rows) lines.push(pad(row, widths).trimEnd());
  const baselines = new Set<string>();
  for (const phase of report.phases) {
    for (const f of phase.figures) if (f.baseline) baselines.add(f.baseline.name);
  }
  const footer = [...baselines].map((b) => `baseline = ${b}`);
  const judged = report.phases.flatMap((p) => p.figures).filter((f) => f.pass !== undefined);
  const passed = judged.filter((f) => f.pass).length;
  const summary = judged.length === 0 ? [] : [`targets: ${passed} of ${judged.length} met`];
  const m = report.machine;
  const machine = `machine: ${m.cpus} × ${m.cpuModel}, node ${m.node}, load average at start ${m.loadAverage.join(" ")}`;
  return [...lines, "", ...footer, ...summary, ...notes, machine].join("\n").trimEnd();
}

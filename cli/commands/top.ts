/**
 * `agora top`: the running tasks' resource use from the master's state, one
 * line per task (cpu seconds, cpu % since the previous sample, throttled
 * seconds, memory now and peak against its limit, processes), once or every
 * `--watch` interval until Ctrl-C. Statistics come from agents that isolate
 * with cgroups (`agent.usage`); other tasks show `-`.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { OptionSpecs } from "../../infra/config.ts";
import { requestState } from "../../infra/request.ts";
import type { ResourceStatistics } from "../../protocol/agents.ts";
import { isTerminalState, type TaskState } from "../../protocol/common.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import { type Command, parseCommand } from "../command.ts";
import { waitForStopSignal } from "../runtime.ts";
import { askMaster, OPERATOR_OPTIONS } from "./operator-call.ts";

const TOP_OPTIONS = {
  ...OPERATOR_OPTIONS,
  watch: {
    kind: "duration",
    flag: "watch",
    min: 1,
    placeholder: "DURATION",
    help: "print again every DURATION until Ctrl-C (e.g. 2s)",
  },
  all: {
    kind: "boolean",
    flag: "all",
    default: false,
    help: "also list tasks that have ended",
  },
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora top [options]",
  summary:
    "Prints each task's cpu, memory and processes from the master's state (statistics\n" +
    "of agents isolating with cgroups), once or every --watch interval.",
};

/** One row of `agora top`. */
export interface TopRow {
  taskId: string;
  frameworkId: string;
  agentId: string;
  state: TaskState;
  statistics: ResourceStatistics | undefined;
}

type State = MessageOf<"operator.state">["state"];

/** The rows of a state: its tasks (running only, unless `all`). */
export function topRows(state: State, all = false): TopRow[] {
  const rows: TopRow[] = [];
  for (const f of state.frameworks) {
    for (const t of f.tasks) {
      if (!all && isTerminalState(t.state)) continue;
      rows.push({
        taskId: t.id,
        frameworkId: f.id,
        agentId: t.agentId,
        state: t.state,
        statistics: t.statistics,
      });
    }
  }
  return rows;
}

const MB = 1024 * 1024;
const num = (n: number | undefined, digits: number) => (n === undefined ? "-" : n.toFixed(digits));
const mb = (n: number | undefined) => (n === undefined ? "-" : (n / MB).toFixed(1));

/** The table's text; cpu % from the change since `previous` (same task, earlier sample). */
export function formatTop(
  rows: readonly TopRow[],
  previous?: ReadonlyMap<string, ResourceStatistics>,
): string {
  const header = [
    "TASK",
    "STATE",
    "CPU_S",
    "CPU%",
    "THROTTLED_S",
    "MEM_MB",
    "PEAK_MB",
    "LIMIT_MB",
    "PIDS",
  ];
  const lines = [header];
  for (const r of rows) {
    const s = r.statistics;
    const cpu =
      s === undefined ? undefined : (s.cpusUserTimeSecs ?? 0) + (s.cpusSystemTimeSecs ?? 0);
    const before = previous?.get(r.taskId);
    let percent: number | undefined;
    if (
      s !== undefined &&
      before !== undefined &&
      s.timestamp > before.timestamp &&
      cpu !== undefined
    ) {
      const was = (before.cpusUserTimeSecs ?? 0) + (before.cpusSystemTimeSecs ?? 0);
      percent = (100 * (cpu - was)) / ((s.timestamp - before.timestamp) / 1000);
    }
    lines.push([
      r.taskId,
      r.state.replace(/^TASK_/, ""),
      num(cpu, 2),
      num(percent, 0),
      num(s?.cpusThrottledTimeSecs, 2),
      mb(s?.memTotalBytes),
      mb(s?.memPeakBytes),
      mb(s?.memLimitBytes),
      s?.processes === undefined ? "-" : String(s.processes),
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return `${lines
    .map((l) =>
      l
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}

export const topCommand: Command = {
  name: "top",
  summary: "print the tasks' cpu, memory and processes (once or --watch)",
  async run(argv) {
    const parsed = parseCommand(TOP_OPTIONS, argv, HELP);
    if (parsed === undefined) return 0;
    const { values } = parsed;
    const sample = (nc: NatsConnection, subject: string) =>
      requestState(nc, subject, values.timeout).then((r) => topRows(r.state, values.all));
    if (values.watch === undefined) {
      const rows = await askMaster(values, "agora-top", sample);
      process.stdout.write(formatTop(rows));
      return 0;
    }
    const every = values.watch;
    const stop = waitForStopSignal();
    let stopped = false;
    void stop.signal.then(() => {
      stopped = true;
    });
    try {
      await askMaster(values, "agora-top", async (nc, subject) => {
        let previous = new Map<string, ResourceStatistics>();
        while (!stopped) {
          const rows = await sample(nc, subject);
          process.stdout.write(`${new Date().toISOString()}\n${formatTop(rows, previous)}\n`);
          previous = new Map(
            rows.flatMap((r) =>
              r.statistics === undefined ? [] : [[r.taskId, r.statistics] as const],
            ),
          );
          await Promise.race([stop.signal, new Promise((r) => setTimeout(r, every))]);
        }
      });
    } finally {
      stop.cancel();
    }
    return 0;
  },
};

import test from "ava";
import { formatTop, topRows } from "../../../cli/commands/top.ts";
import type { MessageOf } from "../../../protocol/registry.ts";

type State = MessageOf<"operator.state">["state"];

const MB = 1024 * 1024;

function state(): State {
  return {
    masterId: "m",
    leader: true,
    startTime: 0,
    policy: "drf",
    total: {},
    agents: [],
    roles: {},
    frameworks: [
      {
        id: "fw",
        name: "f",
        roles: ["*"],
        active: true,
        used: {},
        offered: {},
        dominantShare: 0,
        tasks: [
          {
            id: "hog",
            name: "hog",
            state: "TASK_RUNNING",
            agentId: "a",
            resources: { cpus: 1 },
            statistics: {
              timestamp: 2000,
              cpusUserTimeSecs: 1.5,
              cpusSystemTimeSecs: 0.5,
              cpusThrottledTimeSecs: 0.25,
              memTotalBytes: 10 * MB,
              memPeakBytes: 12 * MB,
              memLimitBytes: 64 * MB,
              processes: 3,
            },
          },
          { id: "plain", name: "p", state: "TASK_RUNNING", agentId: "a", resources: {} },
          { id: "done", name: "d", state: "TASK_FINISHED", agentId: "a", resources: {} },
        ],
      },
    ],
  };
}

test("agora top - running tasks only, unless --all", (t) => {
  t.deepEqual(
    topRows(state()).map((r) => r.taskId),
    ["hog", "plain"],
  );
  t.is(topRows(state(), true).length, 3);
});

test("agora top - cpu, cpu % since the previous sample, memory and processes; - without statistics", (t) => {
  const rows = topRows(state());
  const previous = new Map([
    ["hog", { timestamp: 1000, cpusUserTimeSecs: 1, cpusSystemTimeSecs: 0.5 }],
  ]);
  const lines = formatTop(rows, previous).trimEnd().split("\n");
  t.regex(
    lines[0]!,
    /^TASK\s+STATE\s+CPU_S\s+CPU%\s+THROTTLED_S\s+MEM_MB\s+PEAK_MB\s+LIMIT_MB\s+PIDS$/,
  );
  t.deepEqual(lines[1]!.split(/\s+/), [
    "hog",
    "RUNNING",
    "2.00",
    "50",
    "0.25",
    "10.0",
    "12.0",
    "64.0",
    "3",
  ]);
  t.deepEqual(lines[2]!.split(/\s+/), ["plain", "RUNNING", "-", "-", "-", "-", "-", "-", "-"]);
});

/**
 * Micro-benchmark of counting on the hot path, before and after counters
 * became Prometheus metrics (issue 12): nanoseconds per operation, median of
 * several rounds, in one process.
 *
 * - `before: Map inc`: the previous `Metrics.inc` (a Map of numbers, get + set);
 * - `after: Metrics.inc`: the current one (a Map of cells, get + add);
 * - `after: bound cell`: a pre-bound counter child (`metrics.cell(...)`), one add;
 * - `prom-client Counter.inc()` and `Counter.inc({type})` and `labels().inc()`:
 *   what counting straight into prom-client would cost (why it is not done);
 * - `dispatch before` / `after`: the per-message counting of `serve()`
 *   (accepted-type check + `messages_received`, and now + `messages{type}`).
 *
 * ```
 * node --import=tsx bench/micro/metrics.ts [--ops N] [--rounds R]
 * ```
 */
import { parseArgs } from "node:util";
import { Counter, Registry } from "prom-client";
import { type Cell, Metrics } from "../../infra/metrics.ts";

const { values } = parseArgs({
  options: {
    ops: { type: "string", default: "5000000" },
    rounds: { type: "string", default: "7" },
  },
});
const OPS = Number(values.ops);
const ROUNDS = Number(values.rounds);

/** The counters as they were before issue 12. */
class MapMetrics {
  readonly #counters = new Map<string, number>();
  inc(name: string, by = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + by);
  }
}

const NAMES = [
  "messages_received",
  "offers_created",
  "task_transitions",
  "status_updates_forwarded",
];
const TYPES = ["agent.heartbeat", "agent.update", "scheduler.accept", "scheduler.acknowledge"];

function measure(name: string, body: (i: number) => void): { name: string; ns: number } {
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) body(i);
    const ns = Number(process.hrtime.bigint() - start) / OPS;
    if (r > 0) samples.push(ns); // the first round warms up
  }
  samples.sort((a, b) => a - b);
  return { name, ns: samples[Math.floor(samples.length / 2)] ?? Number.NaN };
}

const legacy = new MapMetrics();
const metrics = new Metrics({ prefix: "agora_bench_" });
const cell = metrics.cell("messages", "type", "agent.heartbeat");
const registry = new Registry();
const plain = new Counter({ name: "plain_total", help: "x", registers: [registry] });
const labeled = new Counter({
  name: "labeled_total",
  help: "x",
  labelNames: ["type"],
  registers: [registry],
});
const boundChildren = TYPES.map((type) => labeled.labels({ type }));

const acceptedBefore: ReadonlySet<string> = new Set(TYPES);
const acceptedAfter: ReadonlyMap<string, Cell> = new Map(
  TYPES.map((t) => [t, metrics.cell("messages", "type", t)]),
);
const before = new MapMetrics();
const after = new Metrics();
let sink = 0;

const rows = [
  measure("before: Map inc (old Metrics.inc)", (i) => legacy.inc(NAMES[i & 3] as string)),
  measure("after: Metrics.inc", (i) => metrics.inc(NAMES[i & 3] as string)),
  measure("after: bound cell (value++)", () => {
    cell.value++;
  }),
  measure("prom-client Counter.inc()", () => plain.inc()),
  measure("prom-client Counter.inc({type})", (i) => labeled.inc({ type: TYPES[i & 3] as string })),
  measure("prom-client labels(type) child .inc()", (i) => boundChildren[i & 3]?.inc()),
  measure("dispatch before: has(type) + inc(messages_received)", (i) => {
    if (acceptedBefore.has(TYPES[i & 3] as string)) before.inc("messages_received");
    else sink++;
  }),
  measure("dispatch after: get(type) + inc + cell++", (i) => {
    const c = acceptedAfter.get(TYPES[i & 3] as string);
    if (c === undefined) {
      sink++;
      return;
    }
    after.inc("messages_received");
    c.value++;
  }),
];

const width = Math.max(...rows.map((r) => r.name.length)) + 2;
process.stdout.write(`counting on the hot path: ns/op, median of ${ROUNDS} rounds of ${OPS} ops\n`);
for (const row of rows)
  process.stdout.write(`${row.name.padEnd(width)}${row.ns.toFixed(1).padStart(8)}\n`);
if (sink < 0) process.stdout.write("unreachable\n");

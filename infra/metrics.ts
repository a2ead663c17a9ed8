/**
 * Counters of an actor (messages handled, rejected, retried...), and their
 * Prometheus form. Cheap enough for hot paths: an increment is one Map lookup
 * and an addition on a plain cell; a pre-bound {@link Metrics.cell} is just the
 * addition. The prom-client registry is only built and filled when something
 * scrapes it ({@link Metrics.exposition}): counters are copied into it at
 * scrape time, never on the path that counts.
 */
import { performance } from "node:perf_hooks";
import { Counter, Gauge, Histogram, type Metric, Registry } from "prom-client";

/** A counter's value, to add to directly on a hot path. */
export interface Cell {
  value: number;
}

/** Options of {@link Metrics}. */
export interface MetricsOptions {
  /**
   * Prefix of the Prometheus names, e.g. `agora_master_`: counter `x` is
   * exported as `agora_master_x_total`.
   * @default "agora_"
   */
  prefix?: string;
  /** Counter name → full Prometheus name, for counters that belong to another subsystem. */
  names?: Readonly<Record<string, string>>;
}

interface Labeled {
  readonly label: string;
  readonly cells: Map<string, Cell>;
}

const VALID_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export class Metrics {
  readonly #counters = new Map<string, Cell>();
  readonly #labeled = new Map<string, Labeled>();
  readonly #prefix: string;
  readonly #names: Readonly<Record<string, string>>;
  #registry: Registry | undefined;
  readonly #exported = new Set<string>();
  #processMetrics = false;

  constructor(options: MetricsOptions = {}) {
    this.#prefix = options.prefix ?? "agora_";
    this.#names = options.names ?? {};
  }

  /** The prefix of this actor's Prometheus names (`agora_master_`). */
  get prefix(): string {
    return this.#prefix;
  }

  /** Adds `by` (default 1) to a counter. */
  inc(name: string, by = 1): void {
    const cell = this.#counters.get(name);
    if (cell === undefined) this.#counters.set(name, { value: by });
    else cell.value += by;
  }

  /** The value of a counter (0 when never incremented). */
  get(name: string): number {
    return this.#counters.get(name)?.value ?? 0;
  }

  /** All (unlabeled) counters as a plain object. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, cell] of this.#counters) out[name] = cell.value;
    return out;
  }

  /**
   * The cell of one labeled counter child (`messages{type="agent.heartbeat"}`),
   * created at 0: bind it once, then add to `cell.value` on the hot path.
   * A counter keeps the label name it was first given.
   */
  cell(name: string, label: string, value: string): Cell {
    let labeled = this.#labeled.get(name);
    if (labeled === undefined) {
      labeled = { label, cells: new Map() };
      this.#labeled.set(name, labeled);
    }
    let cell = labeled.cells.get(value);
    if (cell === undefined) {
      cell = { value: 0 };
      labeled.cells.set(value, cell);
    }
    return cell;
  }

  /** Adds `by` to a labeled counter child (off hot paths; there, bind a {@link cell}). */
  incLabeled(name: string, label: string, value: string, by = 1): void {
    this.cell(name, label, value).value += by;
  }

  /** The children of a labeled counter: label value → count. */
  labeled(name: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [value, cell] of this.#labeled.get(name)?.cells ?? []) out[value] = cell.value;
    return out;
  }

  /** The prom-client registry of this actor (created on first use). */
  get registry(): Registry {
    this.#registry ??= new Registry();
    return this.#registry;
  }

  /**
   * A histogram registered under its full name (created once; later calls
   * with the same name return it). For per-cycle timings, not per message.
   */
  histogram(name: string, help: string, buckets: number[]): Histogram {
    const existing = this.registry.getSingleMetric(name);
    if (existing instanceof Histogram) return existing;
    return new Histogram({ name, help, buckets, registers: [this.registry] });
  }

  /**
   * A gauge computed when scraped: `collect` sets its values (from the actor's
   * state) each time `/metrics` is read. Registered once per name.
   */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect: (gauge: Gauge<L>) => void | Promise<void>,
  ): void {
    if (this.registry.getSingleMetric(name) !== undefined) return;
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        return collect(this);
      },
    });
  }

  /**
   * Adds the process metrics under this actor's prefix, once: cpu, memory,
   * heap, start time, event loop utilization — read when scraped. Not
   * prom-client's `collectDefaultMetrics`: its GC observer and event loop
   * delay monitor run all the time (under the bench's load they went with stalls of
   * the master, see README, Metrics).
   */
  collectProcessMetrics(): void {
    if (this.#processMetrics) return;
    this.#processMetrics = true;
    registerProcessMetrics(this, this.#prefix);
  }

  /** The Prometheus name a counter is exported under. */
  exportedName(name: string): string {
    return (
      this.#names[name] ?? `${this.#prefix}${name.endsWith("_total") ? name : `${name}_total`}`
    );
  }

  /** The Prometheus text exposition of everything counted and registered. */
  async exposition(): Promise<string> {
    this.#sync();
    return this.registry.metrics();
  }

  /** The content type of {@link exposition}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Registers a prom counter for every name counted since the last scrape. */
  #sync(): void {
    const registry = this.registry;
    const register = (name: string, make: (fullName: string) => Metric) => {
      if (this.#exported.has(name)) return;
      this.#exported.add(name);
      const fullName = this.exportedName(name);
      if (!VALID_NAME.test(fullName) || registry.getSingleMetric(fullName) !== undefined) return;
      registry.registerMetric(make(fullName));
    };
    for (const [name, cell] of this.#counters) {
      register(
        name,
        (fullName) =>
          new Counter({
            name: fullName,
            help: `Count of ${name.replaceAll("_", " ")}`,
            registers: [],
            collect() {
              this.reset();
              this.inc(cell.value);
            },
          }),
      );
    }
    for (const [name, labeled] of this.#labeled) {
      register(
        name,
        (fullName) =>
          new Counter({
            name: fullName,
            help: `Count of ${name.replaceAll("_", " ")} by ${labeled.label}`,
            labelNames: [labeled.label],
            registers: [],
            collect() {
              this.reset();
              for (const [value, cell] of labeled.cells) {
                this.inc({ [labeled.label]: value }, cell.value);
              }
            },
          }),
      );
    }
  }
}

/** Process gauges computed at scrape time (names as prom-client's default metrics). */
function registerProcessMetrics(metrics: Metrics, p: string): void {
  const registry = metrics.registry;
  const seconds = (micros: number) => micros / 1e6;
  for (const [name, help, read] of [
    [
      "process_cpu_user_seconds_total",
      "User CPU time of the process",
      () => seconds(process.cpuUsage().user),
    ],
    [
      "process_cpu_system_seconds_total",
      "System CPU time of the process",
      () => seconds(process.cpuUsage().system),
    ],
  ] as const) {
    new Counter({
      name: `${p}${name}`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }
  const startTime = Math.round(Date.now() / 1000 - process.uptime());
  metrics.gauge(`${p}process_start_time_seconds`, "Start of the process (Unix time)", [], (g) =>
    g.set(startTime),
  );
  metrics.gauge(`${p}process_resident_memory_bytes`, "Resident memory of the process", [], (g) =>
    g.set(process.memoryUsage.rss()),
  );
  metrics.gauge(`${p}nodejs_heap_size_used_bytes`, "V8 heap in use", [], (g) =>
    g.set(process.memoryUsage().heapUsed),
  );
  metrics.gauge(`${p}nodejs_heap_size_total_bytes`, "V8 heap size", [], (g) =>
    g.set(process.memoryUsage().heapTotal),
  );
  metrics.gauge(
    `${p}nodejs_external_memory_bytes`,
    "Memory outside the V8 heap (buffers)",
    [],
    (g) => g.set(process.memoryUsage().external),
  );
  let last = performance.eventLoopUtilization();
  metrics.gauge(
    `${p}nodejs_eventloop_utilization`,
    "Share of time the event loop was busy since the previous scrape (0-1)",
    [],
    (g) => {
      const now = performance.eventLoopUtilization();
      g.set(performance.eventLoopUtilization(now, last).utilization);
      last = now;
    },
  );
  metrics.gauge(
    `${p}nodejs_active_resources`,
    "Handles and requests keeping the event loop alive",
    [],
    (g) => g.set(process.getActiveResourcesInfo().length),
  );
}

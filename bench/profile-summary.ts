/**
 * Reads a V8 CPU profile (`node --cpu-prof`, a `.cpuprofile` file) and sums
 * self time by area of the code: NATS client, node runtime I/O, codec
 * (msgpackr and agora's codec), validation (TypeBox), allocation, master
 * bookkeeping, logging, GC. A function without a script (a builtin, or code
 * TypeBox compiled with `new Function`) counts for the area of its nearest
 * caller that has one, as do the shared helpers of protocol/ and infra/
 * (Resources arithmetic, metrics, clock) and node's own modules (net,
 * buffer, TextEncoder): `Resources.add` called by the allocator is
 * allocation and called by `accept` bookkeeping; a socket write under the
 * NATS client is NATS.
 *
 *   node --import=tsx bench/profile-summary.ts FILE.cpuprofile [--tasks N] [--inclusive f,g]
 *
 * `--tasks` adds µs per task; `--inclusive` adds the time of named functions
 * with everything they call (e.g. `taskUpdated` for the cluster events).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { round } from "./stats.ts";

/** Where `--profile` writes CPU profiles, relative to the repository. */
export const PROFILE_DIR = path.join("bench", "results", "profiles");

/** The parts of `.cpuprofile` JSON that are read. */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
    children?: number[];
  }>;
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time of one area. */
export interface AreaTime {
  area: string;
  ms: number;
  /** % of the busy (non-idle) time. */
  percent: number;
}

/** Self time of one function. */
export interface FunctionTime {
  name: string;
  /** `file:line`, relative to the repository or the package. */
  where: string;
  area: string;
  ms: number;
  percent: number;
}

/** What {@link summarizeProfile} finds. */
export interface ProfileSummary {
  /** Profile length, ms. */
  durationMs: number;
  /** Time not idle, ms. */
  busyMs: number;
  areas: AreaTime[];
  /** The functions with the most self time. */
  top: FunctionTime[];
}

/** The areas, in report order. */
const AREAS = [
  "NATS client + socket I/O",
  "node runtime (event loop, timers)",
  "dispatch (infra/dispatch.ts serve)",
  "codec (msgpackr + protocol/codec.ts)",
  "validation (TypeBox)",
  "allocation (policy, allocator, offers)",
  "bookkeeping (master records, tasks, accept, events)",
  "logging (pino)",
  "GC",
  "startup (tsx loader, module loading)",
  "other",
] as const;
type Area = (typeof AREAS)[number];

const INHERIT = "inherit";

/** The area of a script URL, or INHERIT when its caller's area applies. */
function classify(url: string, functionName: string): Area | typeof INHERIT {
  if (functionName === "(garbage collector)") return "GC";
  if (url === "") return INHERIT;
  if (url.includes("/@nats-io/")) return "NATS client + socket I/O";
  if (url.includes("/msgpackr/") || url.endsWith("/protocol/codec.ts")) {
    return "codec (msgpackr + protocol/codec.ts)";
  }
  if (url.includes("/@sinclair/typebox/")) return "validation (TypeBox)";
  if (url.endsWith("/infra/dispatch.ts")) return "dispatch (infra/dispatch.ts serve)";
  if (url.includes("/pino") || url.includes("/sonic-boom/") || url.endsWith("/infra/logger.ts")) {
    return "logging (pino)";
  }
  if (url.includes("/tsx/") || url.includes("/esbuild/") || url.includes("/get-tsconfig/")) {
    return "startup (tsx loader, module loading)";
  }
  if (
    url.includes("/policies/") ||
    url.endsWith("/actors/master/allocator.ts") ||
    url.endsWith("/actors/master/offers.ts")
  ) {
    return "allocation (policy, allocator, offers)";
  }
  if (url.includes("/actors/master/") || url.includes("/xstate/")) {
    return "bookkeeping (master records, tasks, accept, events)";
  }
  if (url.startsWith("node:internal/modules")) return "startup (tsx loader, module loading)";
  // shared helpers and node's own modules (net, buffer, TextEncoder): their cost belongs to
  // whoever calls them (socket writes under the NATS client are NATS)
  if (url.includes("/protocol/") || url.includes("/infra/") || url.startsWith("node:")) {
    return INHERIT;
  }
  return "other";
}

function where(url: string, line: number): string {
  if (url === "") return "(native)";
  let file = url;
  try {
    if (url.startsWith("file:")) file = fileURLToPath(url);
  } catch {
    // keep the URL
  }
  const nm = file.lastIndexOf("/node_modules/");
  if (nm >= 0) file = file.slice(nm + "/node_modules/".length);
  else {
    const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
    if (file.startsWith(repo)) file = path.relative(repo, file);
  }
  // tsx's transpiled modules report no useful line
  return line > 0 ? `${file}:${line + 1}` : file;
}

/** Self time per node, µs: the time delta of each sample goes to the node it hit. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  if (profile.samples !== undefined && profile.timeDeltas !== undefined) {
    const { samples, timeDeltas } = profile;
    for (let i = 0; i < samples.length; i++) {
      const next = timeDeltas[i + 1] ?? 0;
      self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + next);
    }
  } else {
    const total = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
    const per = total === 0 ? 0 : (profile.endTime - profile.startTime) / total;
    for (const n of profile.nodes) self.set(n.id, (n.hitCount ?? 0) * per);
  }
  return self;
}

/** Sums the self time of a parsed profile by area and by function. */
export function summarizeProfile(profile: CpuProfile, topCount = 20): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = selfTimes(profile);
  const areaCache = new Map<number, Area>();
  const areaOf = (id: number): Area => {
    const cached = areaCache.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id);
    let area: Area;
    if (node === undefined) area = "other";
    else {
      const c = classify(node.callFrame.url, node.callFrame.functionName);
      if (c !== INHERIT) area = c;
      else {
        const p = parent.get(id);
        area = p === undefined ? "other" : areaOf(p);
        // nobody above it is classified: node's event loop and timers, or truly other
        if (area === "other" && node.callFrame.url.startsWith("node:")) {
          area = "node runtime (event loop, timers)";
        }
      }
    }
    areaCache.set(id, area);
    return area;
  };
  const areaUs = new Map<Area, number>();
  const fnUs = new Map<string, FunctionTime & { us: number }>();
  let busyUs = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    if (name === "(idle)" || name === "(root)") continue;
    busyUs += us;
    const area = areaOf(id);
    areaUs.set(area, (areaUs.get(area) ?? 0) + us);
    const at = where(node.callFrame.url, node.callFrame.lineNumber);
    const key = `${name}@${at}`;
    const entry = fnUs.get(key);
    if (entry === undefined) {
      fnUs.set(key, { name: name || "(anonymous)", where: at, area, ms: 0, percent: 0, us });
    } else entry.us += us;
  }
  const pct = (us: number) => (busyUs === 0 ? 0 : round((us / busyUs) * 100, 1));
  return {
    durationMs: round((profile.endTime - profile.startTime) / 1000),
    busyMs: round(busyUs / 1000),
    areas: AREAS.filter((a) => areaUs.has(a))
      .map((area) => ({
        area,
        ms: round(areaUs.get(area)! / 1000),
        percent: pct(areaUs.get(area)!),
      }))
      .sort((a, b) => b.ms - a.ms),
    top: [...fnUs.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topCount)
      .map(({ us, ...f }) => ({ ...f, ms: round(us / 1000, 1), percent: pct(us) })),
  };
}

/**
 * Time spent in each named function including what it calls, ms (recursion
 * counted once), e.g. `taskUpdated` for the whole cost of the cluster events.
 */
function inclusiveTimes(profile: CpuProfile, names: readonly string[]): Record<string, number> {
  const self = selfTimes(profile);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const total = new Map<number, number>();
  const totalOf = (id: number): number => {
    const cached = total.get(id);
    if (cached !== undefined) return cached;
    let t = self.get(id) ?? 0;
    for (const c of byId.get(id)?.children ?? []) t += totalOf(c);
    total.set(id, t);
    return t;
  };
  const out: Record<string, number> = {};
  const wanted = new Set(names);
  const walk = (id: number, inside: ReadonlySet<string>) => {
    const node = byId.get(id);
    if (node === undefined) return;
    const name = node.callFrame.functionName;
    let next = inside;
    if (wanted.has(name) && !inside.has(name)) {
      out[name] = (out[name] ?? 0) + totalOf(id);
      next = new Set(inside).add(name);
    }
    for (const c of node.children ?? []) walk(c, next);
  };
  const children = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  for (const n of profile.nodes) if (!children.has(n.id)) walk(n.id, new Set());
  for (const name of names) out[name] = round((out[name] ?? 0) / 1000, 1);
  return out;
}

/** Reads and summarizes a `.cpuprofile` file. */
export async function summarizeProfileFile(file: string, topCount = 20): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(file, "utf8")) as CpuProfile, topCount);
}

/** The summary as text; with `tasks`, also µs per task of each area. */
export function formatProfileSummary(s: ProfileSummary, tasks?: number): string {
  const lines = [
    `profile: ${s.durationMs} ms long, ${s.busyMs} ms busy (self time by area, % of busy)`,
  ];
  const width = Math.max(...s.areas.map((a) => a.area.length));
  for (const a of s.areas) {
    const perTask = tasks ? `  ${round((a.ms * 1000) / tasks, 1)} µs/task` : "";
    lines.push(
      `  ${a.area.padEnd(width)}  ${String(a.ms).padStart(7)} ms  ${String(a.percent).padStart(5)} %${perTask}`,
    );
  }
  lines.push("top functions by self time:");
  for (const f of s.top) {
    lines.push(
      `  ${String(f.percent).padStart(5)} %  ${String(f.ms).padStart(8)} ms  ${f.name}  ${f.where}  [${f.area.split(" (")[0]}]`,
    );
  }
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const flag = (name: string) => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const file = argv.find((a, i) => !a.startsWith("--") && !argv[i - 1]?.startsWith("--"));
  const tasks = flag("--tasks") === undefined ? undefined : Number(flag("--tasks"));
  if (file === undefined) {
    process.stderr.write(
      "usage: node --import=tsx bench/profile-summary.ts FILE.cpuprofile [--tasks N] [--inclusive f,g]\n",
    );
    return 2;
  }
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  process.stdout.write(`${formatProfileSummary(summarizeProfile(profile, 30), tasks)}\n`);
  const inclusive = flag("--inclusive");
  if (inclusive !== undefined) {
    process.stdout.write("inclusive time (the function and what it calls):\n");
    for (const [name, ms] of Object.entries(inclusiveTimes(profile, inclusive.split(",")))) {
      const perTask = tasks ? `  ${round((ms * 1000) / tasks, 1)} µs/task` : "";
      process.stdout.write(`  ${name.padEnd(28)} ${String(ms).padStart(9)} ms${perTask}\n`);
    }
  }
  return 0;
}

if (
  process.argv[1] !== undefined &&
  fileURLToPath(import.meta.url) === path.resolve(process.argv[1])
) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`profile-summary: ${err instanceof Error ? err.message : err}\n`);
      process.exit(1);
    },
  );
}

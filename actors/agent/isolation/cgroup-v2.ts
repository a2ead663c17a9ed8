/**
 * cgroup v2: a container is one cgroup `<mount>/<root>/<containerId>` of the
 * unified hierarchy, with cpu, memory and pids enabled for its children. v2
 * forbids processes in a cgroup that hands controllers down, so the
 * container's own processes run in `<container>/leaf` and a task of a task
 * group in `<container>/<taskId>/leaf`; limits and statistics are the
 * container's (hierarchical). `cgroup.kill` ends a tree in one write (Linux
 * 5.14+); before that, `cgroup.freeze` stops it and every pid is SIGKILLed.
 */
import path from "node:path";
import type { Clock } from "../../../infra/clock.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { joinCgroupsArgv } from "../../shared/join-cgroups.ts";
import {
  type CgroupFs,
  type CgroupIsolatorOptions,
  checkContainerId,
  createOrRemove,
  dropUndefined,
  freezeAndKill,
  isolatorContext,
  parseKeyed,
  readNumber,
  removeRootLevels,
  removeTree,
  treeProcs,
  waitUntil,
  writeCgroupFile,
} from "./cgroup-fs.ts";
import { enableV2Controllers } from "./detect.ts";
import { memoryLimitation, v2LimitWrites } from "./limits.ts";
import type { Container, ContainerLimits, ContainerStats, Isolator, OomStatus } from "./types.ts";

/** The cgroup a container's processes run in. */
const LEAF = "leaf";

interface V2Context {
  fs: CgroupFs;
  clock: Clock;
  killTimeoutMs: number;
  mount: string;
  root: string;
}

const write = writeCgroupFile;

class V2Container implements Container {
  readonly id: string;
  readonly dir: string;

  constructor(
    private readonly ctx: V2Context,
    readonly path: readonly string[],
  ) {
    this.id = path[path.length - 1] ?? "";
    this.dir = joinPath(ctx, path);
  }

  async create(limits: ContainerLimits): Promise<void> {
    const { fs, mount } = this.ctx;
    await enableV2Controllers(fs, mount, this.dir);
    await fs.mkdir(path.join(this.dir, LEAF));
    for (const w of v2LimitWrites(limits)) await write(fs, path.join(this.dir, w.file), w.value);
  }

  wrap(argv: readonly string[]): string[] {
    return joinCgroupsArgv(this.procsFiles(), argv);
  }

  procsFiles(): string[] {
    return [path.join(this.dir, LEAF, "cgroup.procs")];
  }

  async child(id: string, limits: ContainerLimits = {}): Promise<Container> {
    checkContainerId(id);
    const child = new V2Container(this.ctx, [...this.path, id]);
    await child.create(limits);
    return child;
  }

  async children(): Promise<Container[]> {
    const names = (await this.ctx.fs.subdirs(this.dir)).filter((n) => n !== LEAF);
    return names.map((n) => new V2Container(this.ctx, [...this.path, n]));
  }

  pids(): Promise<number[]> {
    return treeProcs(this.ctx.fs, this.dir);
  }

  async stats(): Promise<ContainerStats> {
    const { fs, clock } = this.ctx;
    const cpu = parseKeyed(await fs.read(path.join(this.dir, "cpu.stat")));
    const [quota, period] = ((await fs.read(path.join(this.dir, "cpu.max"))) ?? "")
      .trim()
      .split(/\s+/);
    const stats: ContainerStats = {
      timestamp: clock.now(),
      cpusUserTimeSecs: micros(cpu.get("user_usec")),
      cpusSystemTimeSecs: micros(cpu.get("system_usec")),
      cpusNrPeriods: cpu.get("nr_periods"),
      cpusNrThrottled: cpu.get("nr_throttled"),
      cpusThrottledTimeSecs: micros(cpu.get("throttled_usec")),
      memTotalBytes: await readNumber(fs, path.join(this.dir, "memory.current")),
      memPeakBytes: await readNumber(fs, path.join(this.dir, "memory.peak")),
      memLimitBytes: await readNumber(fs, path.join(this.dir, "memory.max")),
      processes: await readNumber(fs, path.join(this.dir, "pids.current")),
      processesPeak: await readNumber(fs, path.join(this.dir, "pids.peak")),
      processesLimit: await readNumber(fs, path.join(this.dir, "pids.max")),
    };
    if (quota !== undefined && quota !== "max" && period !== undefined) {
      const q = Number(quota);
      const p = Number(period);
      if (q > 0 && p > 0) stats.cpusLimit = q / p;
    }
    return dropUndefined(stats);
  }

  async oom(): Promise<OomStatus> {
    const { fs } = this.ctx;
    // memory.events is hierarchical (unless mounted with memory_localevents).
    const events = parseKeyed(await fs.read(path.join(this.dir, "memory.events")));
    const limitBytes = await readNumber(fs, path.join(this.dir, "memory.max"));
    const oomKills = events.get("oom_kill") ?? 0;
    const status: OomStatus = { killed: oomKills > 0, oomKills, limitHits: events.get("max") ?? 0 };
    if (limitBytes !== undefined) status.limitBytes = limitBytes;
    if (status.killed) {
      const peak = await readNumber(fs, path.join(this.dir, "memory.peak"));
      status.limitation = memoryLimitation(limitBytes, peak);
    }
    return status;
  }

  async killAll(): Promise<void> {
    const { fs, clock, killTimeoutMs } = this.ctx;
    if (!(await fs.exists(this.dir))) return;
    const events = path.join(this.dir, "cgroup.events");
    const killFile = path.join(this.dir, "cgroup.kill");
    let emptied: boolean;
    if (await fs.exists(killFile)) {
      await write(fs, killFile, "1");
      emptied = await waitUntil(clock, async () => (await this.pids()).length === 0, killTimeoutMs);
    } else {
      const freezeFile = path.join(this.dir, "cgroup.freeze");
      emptied = await freezeAndKill(clock, killTimeoutMs, {
        freeze: () => write(fs, freezeFile, "1"),
        isFrozen: async () => parseKeyed(await fs.read(events)).get("frozen") === 1,
        thaw: () => write(fs, freezeFile, "0"),
        pids: () => this.pids(),
      });
    }
    if (!emptied) {
      throw new AgoraError(ErrorCode.Timeout, `container ${this.path.join("/")} did not empty`);
    }
  }

  async destroy(): Promise<void> {
    await this.killAll();
    const { fs, clock, killTimeoutMs } = this.ctx;
    await removeTree(fs, clock, this.dir, killTimeoutMs);
  }
}

function joinPath(ctx: V2Context, parts: readonly string[]): string {
  return path.join(ctx.mount, ctx.root, ...parts);
}

const micros = (n: number | undefined) => (n === undefined ? undefined : n / 1e6);

/** The v2 isolator: containers under `<mount>/<root>` of the unified hierarchy. */
export class CgroupsV2Isolator implements Isolator {
  readonly kind = "cgroups-v2" as const;
  readonly #ctx: V2Context;

  constructor(
    mount: string,
    root: string,
    readonly reason: string,
    options: CgroupIsolatorOptions = {},
  ) {
    this.#ctx = { ...isolatorContext(options), mount, root };
  }

  async prepare(containerId: string, limits: ContainerLimits): Promise<Container> {
    checkContainerId(containerId);
    return createOrRemove(new V2Container(this.#ctx, [containerId]), (c) => c.create(limits));
  }

  async recover(): Promise<Container[]> {
    const { fs, mount, root } = this.#ctx;
    const ids = await fs.subdirs(path.join(mount, root));
    return ids.sort().map((id) => new V2Container(this.#ctx, [id]));
  }

  async removeRoot(): Promise<void> {
    for (const c of await this.recover()) await c.destroy();
    await removeRootLevels(this.#ctx.fs, this.#ctx.mount, this.#ctx.root);
  }
}

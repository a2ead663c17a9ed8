/**
 * cgroup v1: a container is one cgroup of the same path in each controller's
 * hierarchy (`<mount>/<root>/<containerId>` for cpu, cpuacct, memory, pids,
 * freezer; hierarchies mounted together are one directory). Processes live
 * in the container's cgroup itself (v1 allows processes in inner cgroups);
 * the freezer stops a tree before it is killed.
 *
 * A task's nested cgroup (`<containerId>/<taskId>`) is made only where a
 * task has limits or statistics of its own: cpu (its shares, its CFS quota),
 * cpuacct (its cpu time) and memory (its limit, its OOM kills), as Mesos
 * nests only the isolators that limit a nested container. In pids and
 * freezer the task stays in its executor's container: `pids.max` is the
 * agent's one value for the executor's whole tree, and the executor's
 * freezer stops every task with it. Each task then costs 3 `mkdir`s and 3
 * `rmdir`s instead of 5 on a host with separate hierarchies; a nested cgroup
 * is emptied by killing its processes until none is left (it has no freezer
 * of its own: what it forks meanwhile is in it and killed next round).
 */
import path from "node:path";
import type { Clock } from "../../../infra/clock.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { joinCgroupsArgv } from "../../shared/join-cgroups.ts";
import {
  type CgroupFs,
  type CgroupIsolatorOptions,
  cgroupTree,
  checkContainerId,
  createOrRemove,
  dropUndefined,
  freezeAndKill,
  isolatorContext,
  mkdirBelow,
  parseKeyed,
  readNumber,
  removeRootLevels,
  removeTree,
  treeProcs,
  writeCgroupFile,
} from "./cgroup-fs.ts";
import type { V1Controller } from "./detect.ts";
import { memoryLimitation, v1LimitWrites } from "./limits.ts";
import type { Container, ContainerLimits, ContainerStats, Isolator, OomStatus } from "./types.ts";

/** `clock_t` ticks per second of `cpuacct.stat` (the kernel's USER_HZ, 100 on Linux). */
const USER_HZ = 100;
/** v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages); anything above is unlimited. */
const V1_UNLIMITED = 2 ** 62;

interface V1Context {
  fs: CgroupFs;
  clock: Clock;
  killTimeoutMs: number;
  mounts: Record<V1Controller, string>;
  root: string;
}

const write = writeCgroupFile;

/** The controllers a task's nested cgroup is made in (see the file's comment). */
const NESTED_CONTROLLERS: readonly V1Controller[] = ["cpu", "cpuacct", "memory"];

class V1Container implements Container {
  readonly id: string;
  /** A task's cgroup under its executor's: only in {@link NESTED_CONTROLLERS}. */
  readonly nested: boolean;
  #dirs: string[] | undefined;

  constructor(
    private readonly ctx: V1Context,
    readonly path: readonly string[],
  ) {
    this.id = path[path.length - 1] ?? "";
    this.nested = path.length > 1;
  }

  /** The controllers this cgroup is made in. */
  controllers(): V1Controller[] {
    const all = Object.keys(this.ctx.mounts) as V1Controller[];
    return this.nested ? all.filter((c) => NESTED_CONTROLLERS.includes(c)) : all;
  }

  /** This container's cgroup in the hierarchy of `controller`. */
  dir(controller: V1Controller): string {
    return path.join(this.ctx.mounts[controller], this.ctx.root, ...this.path);
  }

  /** One directory per distinct hierarchy. */
  dirs(): string[] {
    this.#dirs ??= [...new Set(this.controllers().map((c) => this.dir(c)))];
    return [...this.#dirs];
  }

  /**
   * Makes the cgroup in every hierarchy at once, then writes its limits (in
   * order within a controller, the controllers at once). `nested`: the parent
   * exists (a task's cgroup under its executor's), only the leaf is made.
   */
  async create(limits: ContainerLimits, nested = false): Promise<void> {
    const { fs, mounts, root } = this.ctx;
    const made = new Set(this.controllers());
    await Promise.all(
      [...new Set([...made].map((c) => mounts[c]))].map((mount) => {
        const dir = path.join(mount, root, ...this.path);
        return nested ? fs.mkdir(dir) : mkdirBelow(fs, path.join(mount, root), dir);
      }),
    );
    const byController = new Map<V1Controller, Array<{ file: string; value: string }>>();
    for (const w of v1LimitWrites(limits)) {
      // a nested cgroup's pids.max is its executor's (the agent's one value)
      if (!made.has(w.controller)) continue;
      const list = byController.get(w.controller) ?? [];
      list.push(w);
      byController.set(w.controller, list);
    }
    await Promise.all(
      [...byController].map(async ([controller, writes]) => {
        for (const w of writes) await write(fs, path.join(this.dir(controller), w.file), w.value);
      }),
    );
  }

  wrap(argv: readonly string[]): string[] {
    return joinCgroupsArgv(this.procsFiles(), argv);
  }

  procsFiles(): string[] {
    return this.dirs().map((d) => path.join(d, "cgroup.procs"));
  }

  async child(id: string, limits: ContainerLimits = {}): Promise<Container> {
    checkContainerId(id);
    return createOrRemove(new V1Container(this.ctx, [...this.path, id]), (c) =>
      c.create(limits, true),
    );
  }

  async children(): Promise<Container[]> {
    // memory holds every nested cgroup (freezer does not)
    const names = await this.ctx.fs.subdirs(this.dir("memory"));
    return names.map((n) => new V1Container(this.ctx, [...this.path, n]));
  }

  async pids(): Promise<number[]> {
    const lists = await Promise.all(this.dirs().map((dir) => treeProcs(this.ctx.fs, dir)));
    return [...new Set(lists.flat())];
  }

  async stats(): Promise<ContainerStats> {
    const { fs, clock } = this.ctx;
    const cpuacct = parseKeyed(await fs.read(path.join(this.dir("cpuacct"), "cpuacct.stat")));
    const cpu = parseKeyed(await fs.read(path.join(this.dir("cpu"), "cpu.stat")));
    const quota = await readNumber(fs, path.join(this.dir("cpu"), "cpu.cfs_quota_us"));
    const period = await readNumber(fs, path.join(this.dir("cpu"), "cpu.cfs_period_us"));
    const mem = this.dir("memory");
    const limit = await readNumber(fs, path.join(mem, "memory.limit_in_bytes"));
    const stats: ContainerStats = {
      timestamp: clock.now(),
      cpusUserTimeSecs: ticks(cpuacct.get("user")),
      cpusSystemTimeSecs: ticks(cpuacct.get("system")),
      cpusNrPeriods: cpu.get("nr_periods"),
      cpusNrThrottled: cpu.get("nr_throttled"),
      cpusThrottledTimeSecs: nanos(cpu.get("throttled_time")),
      memTotalBytes: await readNumber(fs, path.join(mem, "memory.usage_in_bytes")),
      memPeakBytes: await readNumber(fs, path.join(mem, "memory.max_usage_in_bytes")),
      ...(this.nested
        ? // no pids cgroup of its own: its processes counted in its memory cgroup
          { processes: (await treeProcs(fs, mem)).length }
        : {
            processes: await readNumber(fs, path.join(this.dir("pids"), "pids.current")),
            processesPeak: await readNumber(fs, path.join(this.dir("pids"), "pids.peak")),
            processesLimit: await readNumber(fs, path.join(this.dir("pids"), "pids.max")),
          }),
    };
    if (quota !== undefined && quota > 0 && period !== undefined && period > 0) {
      stats.cpusLimit = quota / period;
    }
    if (limit !== undefined && limit < V1_UNLIMITED) stats.memLimitBytes = limit;
    return dropUndefined(stats);
  }

  async oom(): Promise<OomStatus> {
    const { fs } = this.ctx;
    const mem = this.dir("memory");
    // v1 counts an OOM kill in the cgroup whose limit was hit: sum the tree.
    let oomKills = 0;
    for (const dir of await cgroupTree(fs, mem)) {
      oomKills +=
        parseKeyed(await fs.read(path.join(dir, "memory.oom_control"))).get("oom_kill") ?? 0;
    }
    const raw = await readNumber(fs, path.join(mem, "memory.limit_in_bytes"));
    const limitBytes = raw !== undefined && raw < V1_UNLIMITED ? raw : undefined;
    const peak = await readNumber(fs, path.join(mem, "memory.max_usage_in_bytes"));
    const status: OomStatus = {
      killed: oomKills > 0,
      oomKills,
      limitHits: (await readNumber(fs, path.join(mem, "memory.failcnt"))) ?? 0,
    };
    if (limitBytes !== undefined) status.limitBytes = limitBytes;
    if (status.killed) status.limitation = memoryLimitation(limitBytes, peak);
    return status;
  }

  async killAll(): Promise<void> {
    const { fs, clock, killTimeoutMs } = this.ctx;
    const emptied = this.nested
      ? await this.#killNested()
      : await (async () => {
          const state = path.join(this.dir("freezer"), "freezer.state");
          if ((await fs.read(state)) === undefined) return true; // never created or destroyed
          return freezeAndKill(clock, killTimeoutMs, {
            freeze: () => write(fs, state, "FROZEN"),
            isFrozen: async () => (await fs.read(state))?.trim() === "FROZEN",
            thaw: () => write(fs, state, "THAWED"),
            pids: () => this.pids(),
          });
        })();
    if (!emptied) {
      throw new AgoraError(ErrorCode.Timeout, `container ${this.path.join("/")} did not empty`);
    }
  }

  /** A nested cgroup, without a freezer: its processes killed until none is left. */
  async #killNested(): Promise<boolean> {
    const { fs, clock, killTimeoutMs } = this.ctx;
    if ((await fs.read(path.join(this.dir("memory"), "cgroup.procs"))) === undefined) return true;
    return freezeAndKill(clock, killTimeoutMs, {
      freeze: async () => {},
      isFrozen: async () => true,
      thaw: async () => {},
      pids: () => this.pids(),
    });
  }

  /**
   * The usual end of a task's cgroup, in one rmdir per hierarchy: the kernel
   * refuses (EBUSY) to remove a cgroup with a process or a child cgroup in it.
   * The freezer's goes last, so that what refused is still there to be frozen
   * and killed by the whole destroy. True when every one is gone.
   */
  async #removeEmpty(): Promise<boolean> {
    const { fs } = this.ctx;
    // a nested cgroup has no freezer's: the memory one goes last instead
    const freezer = this.dir(this.nested ? "memory" : "freezer");
    try {
      await Promise.all(
        this.dirs()
          .filter((d) => d !== freezer)
          .map((d) => fs.rmdir(d)),
      );
      await fs.rmdir(freezer);
      return true;
    } catch {
      return false;
    }
  }

  async destroy(): Promise<void> {
    if (await this.#removeEmpty()) return;
    await this.killAll();
    const { fs, clock, killTimeoutMs } = this.ctx;
    await Promise.all(this.dirs().map((dir) => removeTree(fs, clock, dir, killTimeoutMs)));
  }
}

const ticks = (n: number | undefined) => (n === undefined ? undefined : n / USER_HZ);
const nanos = (n: number | undefined) => (n === undefined ? undefined : n / 1e9);

/** The v1 isolator: containers under `<mount>/<root>` of each controller. */
export class CgroupsV1Isolator implements Isolator {
  readonly kind = "cgroups-v1" as const;
  readonly #ctx: V1Context;

  constructor(
    mounts: Record<V1Controller, string>,
    root: string,
    readonly reason: string,
    options: CgroupIsolatorOptions = {},
  ) {
    this.#ctx = { ...isolatorContext(options), mounts, root };
  }

  async prepare(containerId: string, limits: ContainerLimits): Promise<Container> {
    checkContainerId(containerId);
    return createOrRemove(new V1Container(this.#ctx, [containerId]), (c) => c.create(limits));
  }

  async recover(): Promise<Container[]> {
    const { fs, mounts, root } = this.#ctx;
    const ids = new Set<string>();
    for (const mount of new Set(Object.values(mounts))) {
      for (const id of await fs.subdirs(path.join(mount, root))) ids.add(id);
    }
    return [...ids].sort().map((id) => new V1Container(this.#ctx, [id]));
  }

  async removeRoot(): Promise<void> {
    for (const c of await this.recover()) await c.destroy();
    const { fs, mounts, root } = this.#ctx;
    for (const mount of new Set(Object.values(mounts))) await removeRootLevels(fs, mount, root);
  }
}

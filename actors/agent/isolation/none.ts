/**
 * No isolation (`--isolation=none`, or `auto` on a host without usable
 * cgroups): containers are names only. `wrap` returns the argv unchanged,
 * statistics carry only a timestamp, the OOM check never fires, and `killAll`
 * knows no pids, so the agent keeps ending executors through their process
 * tree (actors/shared/process-tree.ts) as it does today.
 */
import { type Clock, systemClock } from "../../../infra/clock.ts";
import { checkContainerId } from "./cgroup-fs.ts";
import type { Container, ContainerLimits, ContainerStats, Isolator, OomStatus } from "./types.ts";

class NoneContainer implements Container {
  readonly id: string;
  readonly #children = new Map<string, NoneContainer>();

  constructor(
    private readonly owner: NoneIsolator,
    private readonly clock: Clock,
    readonly path: readonly string[],
  ) {
    this.id = path[path.length - 1] ?? "";
  }

  wrap(argv: readonly string[]): string[] {
    return [...argv];
  }

  procsFiles(): string[] {
    return [];
  }

  async child(id: string, _limits?: ContainerLimits): Promise<Container> {
    checkContainerId(id);
    let child = this.#children.get(id);
    if (child === undefined) {
      child = new NoneContainer(this.owner, this.clock, [...this.path, id]);
      this.#children.set(id, child);
    }
    return child;
  }

  async children(): Promise<Container[]> {
    return [...this.#children.values()];
  }

  async pids(): Promise<number[]> {
    return [];
  }

  async stats(): Promise<ContainerStats> {
    return { timestamp: this.clock.now() };
  }

  async oom(): Promise<OomStatus> {
    return { killed: false, oomKills: 0, limitHits: 0 };
  }

  async killAll(): Promise<void> {}

  async destroy(): Promise<void> {
    this.owner.forget(this);
  }
}

/** The isolator that isolates nothing. */
export class NoneIsolator implements Isolator {
  readonly kind = "none" as const;
  readonly #containers = new Map<string, NoneContainer>();
  readonly #clock: Clock;

  constructor(
    readonly reason: string,
    clock: Clock = systemClock,
  ) {
    this.#clock = clock;
  }

  async prepare(containerId: string, _limits: ContainerLimits): Promise<Container> {
    checkContainerId(containerId);
    let container = this.#containers.get(containerId);
    if (container === undefined) {
      container = new NoneContainer(this, this.#clock, [containerId]);
      this.#containers.set(containerId, container);
    }
    return container;
  }

  /** Nothing outlives the process without cgroups: only this process's containers. */
  async recover(): Promise<Container[]> {
    return [...this.#containers.values()];
  }

  async removeRoot(): Promise<void> {
    this.#containers.clear();
  }

  /** @internal */
  forget(container: Container): void {
    if (container.path.length === 1) this.#containers.delete(container.id);
  }
}

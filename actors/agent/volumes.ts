/**
 * The agent's checkpointed resources and persistent volumes, as Mesos's agent:
 *
 * - `meta/resources/resources.info`: the dynamic reservations and volumes
 *   the master gave it (`agent.checkpointResources`, or the `agent.registered`
 *   reply when the master's registry holds other ones), as resources JSON.
 *   The agent's total is its `--resources` with these applied, and is what it
 *   reports when it (re)registers.
 * - `volumes/roles/<role>/<persistence id>`: one directory per volume (a
 *   `/` in a role is percent-encoded), created when the volume appears,
 *   removed with what it holds when it is destroyed; kept across tasks.
 * - A task whose resources hold a volume gets it in its sandbox at the
 *   volume's `containerPath`, as a symlink to the volume's directory (agora
 *   does not bind-mount, root or not: the task sees the same files through
 *   the link).
 */
import { lstat, mkdir, readFile, readlink, rm, symlink } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../../infra/logger.ts";
import type { ResourcesJson } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { totalWithCheckpointed } from "../../protocol/operations.ts";
import { Resources } from "../../protocol/resources.ts";
import { within } from "../shared/path-safety.ts";
import { writeFileAtomic } from "./atomic-file.ts";

/** Where the checkpointed resources are kept. */
export function checkpointedResourcesPath(workDir: string): string {
  return path.join(workDir, "meta", "resources", "resources.info");
}

/** The directory of a persistent volume. */
export function volumePath(workDir: string, role: string, id: string): string {
  return within(workDir, "volumes", "roles", encodeURIComponent(role), encodeURIComponent(id));
}

/**
 * The agent's checkpointed resources and its volumes on disk.
 */
export class CheckpointedResources {
  readonly #workDir: string;
  readonly #logger: Logger;
  #current = Resources.empty();

  constructor(workDir: string, logger: Logger) {
    this.#workDir = workDir;
    this.#logger = logger;
  }

  /** The checkpointed resources now. */
  get current(): Resources {
    return this.#current;
  }

  /**
   * Reads `resources.info` (none: nothing checkpointed).
   * @throws AgoraError INVALID_CONFIG when it cannot be read or is not valid
   */
  async load(): Promise<Resources> {
    const file = checkpointedResourcesPath(this.#workDir);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return this.#current;
      throw new AgoraError(
        ErrorCode.InvalidConfig,
        `${file}: cannot read it (${(err as Error).message})`,
      );
    }
    try {
      this.#current = Resources.fromJSON(JSON.parse(text)).checkpointed();
    } catch (err) {
      throw new AgoraError(
        ErrorCode.InvalidConfig,
        `${file}: not valid checkpointed resources (${(err as Error).message}); restore it or use a fresh --work-dir`,
      );
    }
    return this.#current;
  }

  /**
   * The agent's total for its static resources: these applied.
   * @throws AgoraError INVALID_CONFIG when the static resources cannot hold them
   */
  totalFor(statics: Resources): Resources {
    try {
      return totalWithCheckpointed(statics, this.#current);
    } catch (err) {
      throw new AgoraError(
        ErrorCode.InvalidConfig,
        `${(err as Error).message}: restore --resources or use a fresh --work-dir`,
      );
    }
  }

  /**
   * Takes new checkpointed resources from the master: checked against the
   * static resources, written, then the volumes made or removed to match.
   * Returns the new total.
   * @throws AgoraError INVALID_RESOURCES when the static resources cannot hold them
   */
  async update(json: ResourcesJson, statics: Resources): Promise<Resources> {
    const next = Resources.fromJSON(json).checkpointed();
    const total = totalWithCheckpointed(statics, next);
    const before = this.#current;
    this.#current = next;
    await writeFileAtomic(checkpointedResourcesPath(this.#workDir), JSON.stringify(next.toJSON()));
    await this.syncVolumes(before);
    return total;
  }

  /** Creates the volumes that are checkpointed and removes those of `before` that are not. */
  async syncVolumes(before: Resources = Resources.empty()): Promise<void> {
    const keep = new Set<string>();
    for (const v of this.#current.volumes()) {
      const dir = volumePath(this.#workDir, v.role, v.persistence.id);
      keep.add(dir);
      await mkdir(dir, { recursive: true });
    }
    for (const v of before.volumes()) {
      const dir = volumePath(this.#workDir, v.role, v.persistence.id);
      if (keep.has(dir)) continue;
      await rm(dir, { recursive: true, force: true });
      this.#logger.info({ role: v.role, id: v.persistence.id }, "persistent volume removed");
    }
  }

  /**
   * Links the volumes a task's resources hold into its sandbox, each at its
   * container path.
   * @throws AgoraError INVALID_RESOURCES when a volume is not on this agent or
   *   its container path is taken by something else
   */
  async link(resources: ResourcesJson, sandbox: string): Promise<void> {
    const volumes = Resources.fromJSON(resources).volumes();
    if (volumes.length === 0) return;
    const known = new Set(this.#current.volumes().map((v) => `${v.role}\u0000${v.persistence.id}`));
    for (const v of volumes) {
      if (!known.has(`${v.role}\u0000${v.persistence.id}`)) {
        throw new AgoraError(
          ErrorCode.InvalidResources,
          `persistent volume ${v.persistence.id} of role ${v.role} is not on this agent`,
        );
      }
      const target = volumePath(this.#workDir, v.role, v.persistence.id);
      await mkdir(target, { recursive: true });
      const link = within(sandbox, v.persistence.containerPath);
      await mkdir(path.dirname(link), { recursive: true });
      const existing = await lstat(link).catch(() => undefined);
      if (existing !== undefined) {
        if (existing.isSymbolicLink() && (await readlink(link)) === target) continue;
        throw new AgoraError(
          ErrorCode.InvalidResources,
          `the sandbox already has ${v.persistence.containerPath}: volume ${v.persistence.id} cannot go there`,
        );
      }
      await symlink(target, link, "dir");
    }
  }
}

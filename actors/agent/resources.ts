/**
 * The agent's total resources, as Mesos computes them
 * (`Containerizer::resources`): every resource named in `--resources` is
 * taken as given (reservations such as `cpus(web):2` included); cpus, mem,
 * disk and ports that are not named are detected:
 *
 * - cpus: the number of cores (`os.availableParallelism()`);
 * - mem: total memory − 1 GB when the total is at least 2 GB, else half of it (MB);
 * - disk: the size of the work directory's file system − 5 GB when it is at
 *   least 10 GB, else half of it (MB);
 * - ports: `[31000-32000]`.
 */
import { mkdir, statfs } from "node:fs/promises";
import os from "node:os";
import {
  AGENT_DISK_RESERVED_MB,
  AGENT_DISK_RESERVED_THRESHOLD_MB,
  AGENT_MEM_RESERVED_MB,
  AGENT_MEM_RESERVED_THRESHOLD_MB,
  DEFAULT_PORTS,
} from "../../infra/defaults.ts";
import { Resources } from "../../protocol/resources.ts";

const MB = 1024 * 1024;

/** What the machine has, before anything is kept for the system. */
export interface MachineTotals {
  /** Number of cores. */
  cpus: number;
  /** Total memory in bytes. */
  memBytes: number;
  /** Size of the work directory's file system in bytes. */
  diskBytes: number;
}

/** Reads the machine's totals; the work directory is created when missing. */
export async function detectMachineTotals(workDir: string): Promise<MachineTotals> {
  await mkdir(workDir, { recursive: true });
  const fs = await statfs(workDir);
  return {
    cpus: os.availableParallelism(),
    memBytes: os.totalmem(),
    diskBytes: fs.blocks * fs.bsize,
  };
}

/** Mem offered from a total, in MB: total − 1 GB from 2 GB on, else half. */
export function memFromTotal(memBytes: number): number {
  const total = Math.floor(memBytes / MB);
  return total >= AGENT_MEM_RESERVED_THRESHOLD_MB
    ? total - AGENT_MEM_RESERVED_MB
    : Math.floor(total / 2);
}

/** Disk offered from a file system size, in MB: size − 5 GB from 10 GB on, else half. */
export function diskFromTotal(diskBytes: number): number {
  const total = Math.floor(diskBytes / MB);
  return total >= AGENT_DISK_RESERVED_THRESHOLD_MB
    ? total - AGENT_DISK_RESERVED_MB
    : Math.floor(total / 2);
}

/**
 * The agent's total resources: what `given` names (a Mesos resource string)
 * wins per resource name, over all roles; cpus, mem, disk and ports not named
 * are computed from `totals`.
 * @throws AgoraError INVALID_RESOURCES when `given` is malformed
 */
export function agentResources(given: string | undefined, totals: MachineTotals): Resources {
  const explicit = given === undefined ? Resources.empty() : Resources.parse(given);
  const named = new Set(explicit.names());
  const detected: string[] = [];
  if (!named.has("cpus")) detected.push(`cpus:${totals.cpus}`);
  if (!named.has("mem")) detected.push(`mem:${memFromTotal(totals.memBytes)}`);
  if (!named.has("disk")) detected.push(`disk:${diskFromTotal(totals.diskBytes)}`);
  if (!named.has("ports")) detected.push(`ports:${DEFAULT_PORTS}`);
  return explicit.add(Resources.parse(detected.join(";")));
}

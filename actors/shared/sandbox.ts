/**
 * Executor sandboxes, in Mesos's layout:
 * `<work-dir>/slaves/<agentId>/frameworks/<frameworkId>/executors/<executorId>/runs/<n>`,
 * one numbered run per launch of an executor, with `runs/latest` pointing at
 * the newest. Ids are percent-encoded into path segments (an id may hold `/`).
 */
import { mkdir, readdir, rename, symlink } from "node:fs/promises";
import path from "node:path";
import { within } from "./path-safety.ts";

function segment(id: string): string {
  return encodeURIComponent(id);
}

/**
 * The sandbox of a task of a default executor, inside the executor's run
 * (Mesos: `.../runs/<container>/tasks/<taskId>`).
 */
export function taskSandboxDir(executorSandbox: string, taskId: string): string {
  return path.join(executorSandbox, "tasks", segment(taskId));
}

/** The directory of one executor (all its runs). */
export function executorDir(
  workDir: string,
  agentId: string,
  frameworkId: string,
  executorId: string,
): string {
  return within(
    workDir,
    "slaves",
    segment(agentId),
    "frameworks",
    segment(frameworkId),
    "executors",
    segment(executorId),
  );
}

/** Creates the next run directory of an executor and points `runs/latest` at it. */
export async function createSandbox(
  workDir: string,
  agentId: string,
  frameworkId: string,
  executorId: string,
): Promise<string> {
  const runs = path.join(executorDir(workDir, agentId, frameworkId, executorId), "runs");
  await mkdir(runs, { recursive: true });
  let next = 0;
  for (const name of await readdir(runs)) {
    if (/^\d+$/.test(name)) next = Math.max(next, Number(name) + 1);
  }
  for (;;) {
    const dir = path.join(runs, String(next));
    try {
      await mkdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") {
        next++;
        continue;
      }
      throw err;
    }
    const tmp = path.join(runs, `.latest-${process.pid}-${next}`);
    try {
      await symlink(String(next), tmp);
      await rename(tmp, path.join(runs, "latest"));
    } catch {
      // `latest` is a convenience; a sandbox without it is still usable.
    }
    return dir;
  }
}

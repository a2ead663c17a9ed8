/** Processes seen from tests. */
import { readFileSync } from "node:fs";

/** True while a process with this pid exists (a zombie counts as gone: it was reaped or will be). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

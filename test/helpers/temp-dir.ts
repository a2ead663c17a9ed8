/** Scratch directories of tests. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/** A scratch directory under the system's temp dir. */
export interface TempDir {
  dir: string;
  /** Removes it with everything in it. */
  remove(): Promise<void>;
}

/** A new temp dir (`prefix` + random), removed by its `remove()`. */
export async function tempDir(prefix: string): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

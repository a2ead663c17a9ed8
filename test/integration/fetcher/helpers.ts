/** Sandboxes and archives made with the system's tar for fetcher tests. */
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

export const run = promisify(execFile);

/** A temp directory removed at the end of the test. */
export async function tempDir(
  t: { teardown(fn: () => Promise<void>): void },
  prefix = "agora-fetch-",
) {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh sandbox directory. */
export async function sandbox(t: { teardown(fn: () => Promise<void>): void }) {
  const dir = await tempDir(t);
  const s = path.join(dir, "sandbox");
  await mkdir(s);
  return s;
}

/**
 * Archives of `app/run.sh` (executable, prints "hello from <flavor>") made by
 * the system's tar: gz, bz2 and xz.
 */
export async function makeTarballs(dir: string) {
  const src = path.join(dir, "src");
  await mkdir(path.join(src, "app"), { recursive: true });
  const script = path.join(src, "app", "run.sh");
  await writeFile(script, '#!/bin/sh\necho "hello from tarball"\n');
  await chmod(script, 0o755);
  await writeFile(path.join(src, "app", "data.txt"), "data\n");
  const out: Record<"gz" | "bz2" | "xz", Buffer> = {
    gz: Buffer.alloc(0),
    bz2: Buffer.alloc(0),
    xz: Buffer.alloc(0),
  };
  for (const [kind, flag] of [
    ["gz", "-czf"],
    ["bz2", "-cjf"],
    ["xz", "-cJf"],
  ] as const) {
    const file = path.join(dir, `app.tar.${kind}`);
    await run("tar", [flag, file, "-C", src, "app"]);
    out[kind] = await readFile(file);
  }
  return out;
}

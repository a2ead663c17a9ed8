/**
 * TypeScript programs that tests start as child processes, bundled once per
 * test process with esbuild into a temp `.mjs` and started as plain `node
 * file.mjs`: through tsx each start transpiles every module again, which is
 * slow enough under load to lose a test's wait (the first TASK_RUNNING).
 */
import { rmSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { esbuildBundler } from "../../actors/agent/executor-bundle.ts";

/** Bundles in progress or done, by entry file: one build per test process. */
const bundles = new Map<string, Promise<string>>();
let scratch: Promise<string> | undefined;

function scratchDir(): Promise<string> {
  scratch ??= mkdtemp(path.join(os.tmpdir(), "agora-test-bundle-")).then((dir) => {
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  });
  return scratch;
}

/** The bundled `.mjs` of a TypeScript entry file (built on the first call); returns its path. */
function bundledScript(entry: string): Promise<string> {
  let bundle = bundles.get(entry);
  if (bundle === undefined) {
    const name = `${bundles.size}-${path.basename(entry, ".ts")}.mjs`;
    bundle = (async () => {
      const code = await esbuildBundler(entry);
      const file = path.join(await scratchDir(), name);
      await writeFile(file, code, { mode: 0o644 });
      return file;
    })();
    bundles.set(entry, bundle);
  }
  return bundle;
}

/** The echo executor fixture (test/fixtures/echo-executor.ts), bundled. */
export function echoExecutorScript(): Promise<string> {
  return bundledScript(fileURLToPath(new URL("../fixtures/echo-executor.ts", import.meta.url)));
}

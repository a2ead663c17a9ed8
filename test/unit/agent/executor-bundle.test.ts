import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { pino } from "pino";
import {
  commandExecutorLauncher,
  EXECUTOR_BUNDLE_DIR,
  type ExecutorBundler,
  esbuildBundler,
  writeExecutorBundle,
} from "../../../actors/agent/executor-bundle.ts";
import { commandExecutorProgram } from "../../../actors/agent/launcher.ts";
import { silentLogger } from "../../../infra/logger.ts";

/** A logger whose records end up in `lines`. */
function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-bundle-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("executor bundle - from sources the command executor is `node <work-dir>/cache/command-executor-<hash>.mjs`, built once", async (t) => {
  let builds = 0;
  const bundler: ExecutorBundler = (entry) => {
    builds += 1;
    return esbuildBundler(entry);
  };
  const first = await tempDir(t);
  const second = await tempDir(t);
  const launch = commandExecutorLauncher({ workDir: first, logger: silentLogger(), bundler });
  const [a, b] = await Promise.all([launch(), launch()]);
  t.is(a, b);
  t.is(a.file, process.execPath);
  t.is(a.args.length, 1);
  t.regex(a.args[0]!, /command-executor-[0-9a-f]{16}\.mjs$/);
  t.is(path.dirname(a.args[0]!), path.join(first, EXECUTOR_BUNDLE_DIR));
  t.true(existsSync(a.args[0]!));
  // Another agent of this process writes the same bundle to its own work dir without a build.
  const other = await commandExecutorLauncher({
    workDir: second,
    logger: silentLogger(),
    bundler,
  })();
  t.is(path.basename(other.args[0]!), path.basename(a.args[0]!));
  t.is(path.dirname(other.args[0]!), path.join(second, EXECUTOR_BUNDLE_DIR));
  t.is(builds, 1);
});

test("executor bundle - a bundle is written atomically, kept when present, older ones removed", async (t) => {
  const workDir = await tempDir(t);
  const dir = path.join(workDir, EXECUTOR_BUNDLE_DIR);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "command-executor-0000000000000000.mjs"), "old");
  await writeFile(path.join(dir, "unrelated.txt"), "kept");
  const file = await writeExecutorBundle(workDir, "console.log(1);\n");
  t.is(await writeExecutorBundle(workDir, "console.log(1);\n"), file);
  t.deepEqual((await readdir(dir)).sort(), [path.basename(file), "unrelated.txt"].sort());
  const next = await writeExecutorBundle(workDir, "console.log(2);\n");
  t.not(next, file);
  t.deepEqual((await readdir(dir)).sort(), [path.basename(next), "unrelated.txt"].sort());
});

test("executor bundle - a failed build falls back to tsx with one warning", async (t) => {
  const workDir = await tempDir(t);
  const { logger, lines } = capturingLogger();
  const bundler: ExecutorBundler = async () => {
    throw new Error("no esbuild here");
  };
  const launch = commandExecutorLauncher({ workDir, logger, bundler });
  const program = await launch();
  await launch();
  t.deepEqual(program, commandExecutorProgram());
  t.is(program.args[0], "--import");
  const warnings = lines.filter((l) => l.level === 40);
  t.is(warnings.length, 1);
  t.regex(String(warnings[0]?.msg), /could not be bundled/);
  t.false(existsSync(path.join(workDir, EXECUTOR_BUNDLE_DIR)));
});

test("executor bundle - from compiled JavaScript nothing is built", async (t) => {
  const workDir = await tempDir(t);
  let builds = 0;
  const bundler: ExecutorBundler = async () => {
    builds += 1;
    return "";
  };
  const program = await commandExecutorLauncher({
    workDir,
    logger: silentLogger(),
    bundler,
    fromSources: false,
  })();
  t.deepEqual(program, commandExecutorProgram());
  t.is(builds, 0);
  t.false(existsSync(path.join(workDir, EXECUTOR_BUNDLE_DIR)));
});

test("executor bundle - a bundle removed from under the agent is written again", async (t) => {
  const workDir = await tempDir(t);
  const bundler: ExecutorBundler = async () => "export {};\n";
  const launch = commandExecutorLauncher({ workDir, logger: silentLogger(), bundler });
  const first = await launch();
  const file = first.args[0]!;
  t.true(existsSync(file));
  await rm(path.join(workDir, EXECUTOR_BUNDLE_DIR), { recursive: true, force: true });
  const again = await launch();
  t.is(again.args[0], file, "same content, same name");
  t.true(existsSync(file), "written again");
});

/**
 * The built-in command executor as one bundled file. From TypeScript sources
 * the executor would start as `node --import tsx command-executor.ts`, which
 * transpiles every module at each start (~0.2 s CPU, ~0.8 s wall per task).
 * Instead the agent bundles it once with esbuild (in memory, once per
 * process) and writes the bundle to `<work-dir>/cache/command-executor-<hash>.mjs`
 * (the hash of its text; written through a temporary file and a rename, older
 * bundles removed), then starts each command executor as `node <bundle>`. If
 * esbuild is missing or the build fails, the agent warns once and falls back
 * to tsx. From compiled JavaScript the compiled file is started as before.
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../infra/logger.ts";
import type { ProgramSpec } from "../shared/programs.ts";
import { commandExecutorProgram } from "./launcher.ts";

/** The directory of the bundle, relative to the agent's work directory. */
export const EXECUTOR_BUNDLE_DIR = "cache";
const BUNDLE_PREFIX = "command-executor-";
/** Temporary files older than this are left over from a crash and removed. */
const STALE_TEMP_MS = 60_000;

/** Bundles an ESM entry file for Node into the text of one `.mjs` file. */
export type ExecutorBundler = (entry: string) => Promise<string>;

/**
 * Bundles with esbuild's JS API, loaded on demand. Node built-ins stay
 * imports; CommonJS modules inside the bundle get a `require` of their own.
 */
export const esbuildBundler: ExecutorBundler = async (entry) => {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: `node${process.versions.node}`,
    write: false,
    logLevel: "silent",
    legalComments: "none",
    banner: {
      js: 'import { createRequire as __agoraCreateRequire } from "node:module"; const require = __agoraCreateRequire(import.meta.url);',
    },
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error("esbuild produced no output");
  return output.text;
};

/** The command executor's source file. */
function commandExecutorSource(): string {
  return fileURLToPath(new URL("../executor/command-executor.ts", import.meta.url));
}

/** Bundles in progress or done, per bundler: one build per process and bundler. */
const builds = new WeakMap<ExecutorBundler, Promise<string>>();

function buildOnce(bundler: ExecutorBundler): Promise<string> {
  let build = builds.get(bundler);
  if (build === undefined) {
    build = bundler(commandExecutorSource());
    builds.set(bundler, build);
  }
  return build;
}

/**
 * Writes `code` to `<workDir>/cache/command-executor-<hash>.mjs` unless it is
 * there already, and removes other bundles and stale temporary files.
 * @returns the bundle's path
 */
export async function writeExecutorBundle(workDir: string, code: string): Promise<string> {
  const hash = createHash("sha256").update(code).digest("hex").slice(0, 16);
  const dir = path.join(workDir, EXECUTOR_BUNDLE_DIR);
  const name = `${BUNDLE_PREFIX}${hash}.mjs`;
  const file = path.join(dir, name);
  await mkdir(dir, { recursive: true });
  const existing = await stat(file).catch(() => undefined);
  if (existing?.size !== Buffer.byteLength(code)) {
    const temp = `${file}.${randomUUID()}.tmp`;
    try {
      await writeFile(temp, code, { mode: 0o644 });
      await rename(temp, file);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
  for (const entry of await readdir(dir)) {
    if (!entry.startsWith(BUNDLE_PREFIX) || entry === name) continue;
    const other = path.join(dir, entry);
    if (entry.endsWith(".tmp")) {
      const info = await stat(other).catch(() => undefined);
      if (info === undefined || Date.now() - info.mtimeMs < STALE_TEMP_MS) continue;
    }
    await rm(other, { force: true });
  }
  return file;
}

/** Options of {@link commandExecutorLauncher}. */
export interface CommandExecutorLauncherOptions {
  /** The agent's work directory (absolute). */
  workDir: string;
  logger: Logger;
  /** @default {@link esbuildBundler} */
  bundler?: ExecutorBundler;
  /** Whether the agent runs from TypeScript sources. @default this module's extension is `.ts` */
  fromSources?: boolean;
}

/**
 * How the agent starts the built-in command executor: a function resolving to
 * the program, bundling on its first call (the promise is shared). From
 * compiled JavaScript, the compiled file; from sources, `node <bundle>`, or
 * tsx when the bundle cannot be built (one warning).
 */
export function commandExecutorLauncher(
  options: CommandExecutorLauncherOptions,
): () => Promise<ProgramSpec> {
  const fromSources = options.fromSources ?? import.meta.url.endsWith(".ts");
  const bundler = options.bundler ?? esbuildBundler;
  let program: Promise<{ spec: ProgramSpec; bundle?: string }> | undefined;
  const prepare = async (): Promise<{ spec: ProgramSpec; bundle?: string }> => {
    if (!fromSources) return { spec: commandExecutorProgram() };
    try {
      const file = await writeExecutorBundle(options.workDir, await buildOnce(bundler));
      options.logger.info({ bundle: file }, "command executor bundled");
      return { spec: { file: process.execPath, args: [file] }, bundle: file };
    } catch (err) {
      options.logger.warn(
        { err },
        "command executor could not be bundled; it runs through tsx (slower starts)",
      );
      return { spec: commandExecutorProgram() };
    }
  };
  return async () => {
    program ??= prepare();
    let prepared = await program;
    if (prepared.bundle !== undefined && !existsSync(prepared.bundle)) {
      // removed from under the agent (a cleaned work dir): written again
      program = prepare();
      prepared = await program;
    }
    return prepared.spec;
  };
}

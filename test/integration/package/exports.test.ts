/**
 * The compiled package as a user installs it: `npm ci` builds dist/ (the
 * `prepare` script), the exports map resolves `agora/scheduler`,
 * `agora/executor`, `agora/protocol` and `agora/policies` to compiled
 * JavaScript with type declarations, and `bin/agora.js` runs the compiled CLI
 * while it is at least as new as the sources.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test from "ava";

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const built = existsSync(path.join(ROOT, "dist", ".built"));
const withBuild = built ? test : test.skip;
if (!built) console.log("package tests skipped: no dist/ (run npm run build; npm ci does)");

const ENTRIES = {
  "agora/scheduler": ["SchedulerDriver", "commandTask"],
  "agora/executor": ["ExecutorDriver", "createExecutorDriver"],
  "agora/protocol": ["Subjects", "encode", "decode"],
  "agora/policies": ["drfPolicy", "priorityPolicy", "isFilteredFor"],
} as const;

withBuild(
  "package - the exports map resolves each entry to compiled JavaScript and its types",
  async (t) => {
    for (const [specifier, names] of Object.entries(ENTRIES)) {
      const script = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify({ url: import.meta.resolve(${JSON.stringify(specifier)}), names: Object.keys(m) }));`;
      const { stdout } = await execFileAsync(
        process.execPath,
        ["--input-type=module", "-e", script],
        {
          cwd: ROOT,
        },
      );
      const { url, names: exported } = JSON.parse(stdout) as { url: string; names: string[] };
      t.regex(url, /\/dist\/.*\.js$/, specifier);
      t.true(existsSync(fileURLToPath(url).replace(/\.js$/, ".d.ts")), `${specifier} has types`);
      for (const name of names) t.true(exported.includes(name), `${specifier} exports ${name}`);
    }
  },
);

withBuild("package - bin/agora.js runs the compiled CLI, and the sources when asked", async (t) => {
  const bin = path.join(ROOT, "bin", "agora.js");
  const compiled = await execFileAsync(process.execPath, [bin, "--help"], { cwd: ROOT });
  t.regex(compiled.stdout, /^Usage: agora/m);
  const sources = await execFileAsync(process.execPath, [bin, "--help"], {
    cwd: ROOT,
    env: { ...process.env, AGORA_FROM_SOURCES: "1" },
  });
  t.is(sources.stdout, compiled.stdout);
});

#!/usr/bin/env node
// Entry point of the `agora` command. Runs the compiled CLI (dist/, built by
// `npm run build`, which `npm ci` / `npm install` run through `prepare`) when
// it is at least as new as every TypeScript source; otherwise (a fresh clone
// before the build, or sources edited since) the sources through tsx, so a
// change is never hidden behind an old build. AGORA_FROM_SOURCES=1 forces the
// sources, and so does `agora policy serve --module FILE.ts` for a module inside
// this package (it imports agora's TypeScript sources, whose classes must be
// the ones the policy actor runs on).
//
// The client commands (BUNDLED below) run from dist/cli-bundle/, an esbuild
// bundle split per command (scripts/bundle-cli.mjs): a handful of files to load
// instead of hundreds of modules, so `agora --help` and `agora state` start in
// well under 300 ms. The daemons run from dist/cli/, whose modules find files
// beside them (executor entry points, the web UI).
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const SOURCE_DIRS = ["protocol", "infra", "policies", "simulate", "actors", "cli"];

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(file));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(file).mtimeMs);
  }
  return newest;
}

/** `--module FILE` of `agora policy serve`, when it is a TypeScript file of this package. */
function servesPackagePolicy(argv) {
  if (argv[0] !== "policy" || argv[1] !== "serve") return false;
  const at = argv.findIndex((a) => a === "--module" || a.startsWith("--module="));
  if (at === -1) return false;
  const value = argv[at].startsWith("--module=") ? argv[at].slice(9) : argv[at + 1];
  if (value === undefined || !/\.[cm]?ts$/.test(value)) return false;
  const file = path.resolve(value);
  return file.startsWith(root) && !file.includes(`${path.sep}node_modules${path.sep}`);
}

function builtIsFresh() {
  if (process.env.AGORA_FROM_SOURCES === "1") return false;
  if (servesPackagePolicy(process.argv.slice(2))) return false;
  let built;
  try {
    built = statSync(`${root}dist/.built`).mtimeMs;
  } catch {
    return false;
  }
  return SOURCE_DIRS.every((dir) => {
    try {
      return newestSource(`${root}${dir}`) <= built;
    } catch {
      return true;
    }
  });
}

/** Commands that run from the bundle: clients of a cluster, nothing loaded by path. */
const BUNDLED = new Set([
  undefined,
  "--help",
  "-h",
  "help",
  "run",
  "state",
  "events",
  "top",
  "weights",
  "quota",
  "priority",
  "teardown",
  "explain",
  "auth",
  "policy",
  "drain",
  "undrain",
  "deactivate",
  "maintenance",
  "preemption",
]);

function bundled(argv) {
  if (!BUNDLED.has(argv[0])) return false;
  if (argv[0] === "policy" && argv[1] === "serve") return false;
  if (process.env.AGORA_NO_BUNDLE === "1") return false;
  try {
    return statSync(`${root}dist/cli-bundle/main.js`).isFile();
  } catch {
    return false;
  }
}

if (builtIsFresh()) {
  if (bundled(process.argv.slice(2))) await import("../dist/cli-bundle/main.js");
  else await import("../dist/cli/main.js");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../cli/main.ts");
}

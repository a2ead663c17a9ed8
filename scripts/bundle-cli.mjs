#!/usr/bin/env node
// Bundles the CLI's client commands (state, run, events, weights, ...) with
// esbuild into dist/cli-bundle/: one chunk per command plus shared chunks, so
// that a command loads one handful of files instead of hundreds of modules
// (TypeBox alone is ~300 files). Run by `npm run build` after tsc;
// bin/agora.js runs the bundle for the commands it lists as bundled and the
// tsc output (dist/cli/main.js) for the daemons, which find files beside their
// modules (executor entry points, the web UI, policy modules loaded by path).
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = `${root}dist/cli-bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ["cli/main.ts"],
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  // CommonJS packages in the bundle call require() for Node's modules
  banner: {
    js: 'import { createRequire as __agoraRequire } from "node:module"; const require = __agoraRequire(import.meta.url);',
  },
  // a native addon, loaded by path when present (msgpackr falls back to JavaScript)
  external: ["msgpackr-extract"],
});

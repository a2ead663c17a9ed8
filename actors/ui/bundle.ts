/**
 * The browser bundle of the web UI, built once when `agora ui` starts:
 * esbuild bundles `web/main.ts` (Preact + htm + uPlot, and the shared model)
 * into one minified script kept in memory, so nothing comes from a CDN and no
 * build step is needed at install (the CLI runs the sources through tsx).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** The files the UI serves under `/ui/`. */
export interface UiBundle {
  /** path under `/ui/` → content type and bytes. */
  readonly files: ReadonlyMap<string, { contentType: string; body: Uint8Array }>;
  /** Milliseconds the build took. */
  readonly buildMs: number;
}

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>agora</title>
<link rel="stylesheet" href="/ui/uplot.css">
<link rel="stylesheet" href="/ui/app.css">
</head>
<body>
<div id="app"></div>
<script type="module" src="/ui/app.js"></script>
</body>
</html>
`;

/**
 * The browser sources: beside this file when it runs from the sources, in the
 * package's `actors/ui/web/` when it runs compiled from `dist/actors/ui/`
 * (the browser code is TypeScript for esbuild, not part of the Node build).
 */
function webDir(): URL {
  const beside = new URL("./web/", import.meta.url);
  return existsSync(new URL("main.ts", beside))
    ? beside
    : new URL("../../../actors/ui/web/", import.meta.url);
}

/** Builds the bundle (about a second). */
export async function buildUiBundle(): Promise<UiBundle> {
  const started = performance.now();
  const web = webDir();
  const entry = fileURLToPath(new URL("main.ts", web));
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    minify: true,
    target: "es2022",
    platform: "browser",
    logLevel: "silent",
    outfile: "app.js",
  });
  const script = result.outputFiles.find((f) => f.path.endsWith(".js"));
  if (script === undefined) throw new Error("esbuild produced no script");
  const require = createRequire(import.meta.url);
  const uplotCss = await readFile(require.resolve("uplot/dist/uPlot.min.css"));
  const appCss = await readFile(new URL("app.css", web));
  const text = (s: string) => new TextEncoder().encode(s);
  const files = new Map([
    ["index.html", { contentType: "text/html; charset=utf-8", body: text(INDEX_HTML) }],
    ["app.js", { contentType: "text/javascript; charset=utf-8", body: script.contents }],
    ["app.css", { contentType: "text/css; charset=utf-8", body: new Uint8Array(appCss) }],
    ["uplot.css", { contentType: "text/css; charset=utf-8", body: new Uint8Array(uplotCss) }],
  ]);
  return { files, buildMs: performance.now() - started };
}

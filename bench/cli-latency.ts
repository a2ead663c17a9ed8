/**
 * `npm run bench:cli`: wall time of the CLI as a user meets it. Starts a
 * local cluster (`agora dev` on random ports, its own AGORA_HOME), then runs
 * `node bin/agora.js --help`, `node bin/agora.js state` and
 * `node bin/agora.js run -- true` N times each (`--runs N`, default 7; `run`
 * at most 5) and prints the median and range of the wall time and the median
 * CPU time (user + system, from the reaped children's times in
 * /proc/self/stat), beside `node -e 0` (Node's own start-up) and the same
 * commands from dist/ without the bundle (AGORA_NO_BUNDLE=1) in the same run.
 * The issue's goal: --help and state < 300 ms, run -- true < 1 s.
 *
 * `npm run bench:cli` builds first, so the compiled CLI is measured.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { percentile } from "./stats.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = path.join(ROOT, "bin", "agora.js");
/** How long `agora dev` may take to say it is ready. */
const READY_TIMEOUT_MS = 60_000;

/** CPU time of this process's reaped children, in ms (/proc/self/stat cutime + cstime). */
function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

interface Row {
  name: string;
  wallMs: number[];
  cpuMs: number[];
  failures: number;
}

function measure(name: string, argv: string[], runs: number, env: NodeJS.ProcessEnv): Row {
  const row: Row = { name, wallMs: [], cpuMs: [], failures: 0 };
  for (let i = 0; i < runs; i++) {
    const cpuBefore = childrenCpuMs();
    const start = performance.now();
    const result = spawnSync(process.execPath, argv, { env, stdio: ["ignore", "ignore", "pipe"] });
    const wall = performance.now() - start;
    const cpuAfter = childrenCpuMs();
    if (result.status !== 0) {
      row.failures++;
      process.stderr.write(`${name}: exit ${result.status}: ${result.stderr.toString().trim()}\n`);
      continue;
    }
    row.wallMs.push(wall);
    if (cpuBefore !== undefined && cpuAfter !== undefined) row.cpuMs.push(cpuAfter - cpuBefore);
  }
  return row;
}

function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

function startCluster(
  env: NodeJS.ProcessEnv,
  workDir: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [BIN, "dev", "--nats-port", "0", "--ui-port", "0", "--work-dir", workDir],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGINT");
      reject(new Error(`agora dev was not ready after ${READY_TIMEOUT_MS} ms: ${out}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready — NATS at (\S+)/.exec(out);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`agora dev exited (${code}) before it was ready: ${out}`));
    });
  });
}

function stopCluster(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGINT");
  });
}

function format(rows: Row[]): string {
  const ms = (v: number) => `${Math.round(v)} ms`;
  const lines = [
    "| command | wall median | wall min–max | CPU median | runs |",
    "|---|---|---|---|---|",
  ];
  for (const row of rows) {
    const sorted = [...row.wallMs].sort((a, b) => a - b);
    lines.push(
      `| \`${row.name}\` | ${sorted.length ? ms(median(sorted)) : "–"} | ${
        sorted.length ? `${ms(sorted[0]!)}–${ms(sorted.at(-1)!)}` : "–"
      } | ${row.cpuMs.length ? ms(median(row.cpuMs)) : "–"} | ${row.wallMs.length}${
        row.failures ? ` (${row.failures} failed)` : ""
      } |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const at = process.argv.indexOf("--runs");
  const runs = at === -1 ? 7 : Number(process.argv[at + 1]);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");
  const home = mkdtempSync(path.join(os.tmpdir(), "agora-bench-cli-"));
  const env: NodeJS.ProcessEnv = { ...process.env, AGORA_HOME: home };
  delete env.AGORA_NATS_URL;
  delete env.AGORA_FROM_SOURCES;
  const { child, url } = await startCluster(env, path.join(home, "work"));
  try {
    const cmdEnv = { ...env, AGORA_NATS_URL: url };
    const noBundle = { ...cmdEnv, AGORA_NO_BUNDLE: "1" };
    // one warm-up of each, so that the page cache holds the files
    measure("warm-up", [BIN, "state"], 1, cmdEnv);
    measure("warm-up", [BIN, "run", "--", "true"], 1, cmdEnv);
    const rows = [
      measure("node -e 0", ["-e", "0"], runs, cmdEnv),
      measure("agora --help", [BIN, "--help"], runs, cmdEnv),
      measure("agora state", [BIN, "state"], runs, cmdEnv),
      measure("agora run -- true", [BIN, "run", "--", "true"], Math.min(runs, 5), cmdEnv),
      // the same from dist/ without the bundle (AGORA_NO_BUNDLE=1): what the bundle saves
      measure("agora --help (dist/, no bundle)", [BIN, "--help"], runs, noBundle),
      measure("agora state (dist/, no bundle)", [BIN, "state"], runs, noBundle),
    ];
    const load = os.loadavg().map((l) => l.toFixed(1));
    process.stdout.write(
      `${format(rows)}\n\nload average ${load.join(" ")}, ${os.cpus().length} cores\n`,
    );
    if (rows.some((r) => r.failures > 0)) process.exitCode = 1;
  } finally {
    await stopCluster(child);
    rmSync(home, { recursive: true, force: true });
  }
}

await main();

/**
 * How fast this machine starts processes: `count` spawns of a program,
 * `concurrency` at a time, with the CPU they cost (this process and its
 * reaped children). Run as a child process of its own by the `processes`
 * phase: fork/exec costs grow with the parent's memory (page tables), so the
 * bench process, big after the tasks phase, would understate the machine.
 *
 *   node --import=tsx bench/spawn-rate.ts COUNT CONCURRENCY PROGRAM [ARGS...]   → JSON on stdout
 */
import { execFile, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { cpuTimeWithChildrenMs } from "./proc.ts";
import { round } from "./stats.ts";

/** What {@link spawnRate} measures. */
export interface SpawnRate {
  program: string;
  count: number;
  concurrency: number;
  perSec: number;
  /** CPU per spawn (parent + child), ms. */
  cpuMsPerSpawn: number | undefined;
}

/** Spawns `file args` `count` times, `concurrency` at a time, in this process. */
async function spawnRate(
  file: string,
  args: string[],
  count: number,
  concurrency: number,
): Promise<SpawnRate> {
  const cpu0 = cpuTimeWithChildrenMs("self");
  let next = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(file, args, { stdio: "ignore" });
      child.once("error", reject);
      child.once("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`${file} exited with ${code}`)),
      );
    });
  const worker = async () => {
    while (next < count) {
      next++;
      await one();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const ms = performance.now() - t0;
  const cpu1 = cpuTimeWithChildrenMs("self");
  return {
    program: [path.basename(file), ...args].join(" "),
    count,
    concurrency,
    perSec: round((count * 1000) / ms, 1),
    cpuMsPerSpawn:
      cpu0 === undefined || cpu1 === undefined ? undefined : round((cpu1 - cpu0) / count, 2),
  };
}

const SELF = fileURLToPath(import.meta.url);

/** {@link spawnRate} in a fresh child process (see the module comment). */
export async function spawnRateInChild(
  file: string,
  args: string[],
  count: number,
  concurrency: number,
): Promise<SpawnRate> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      "--import",
      import.meta.resolve("tsx"),
      SELF,
      String(count),
      String(concurrency),
      file,
      ...args,
    ],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout) as SpawnRate;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === SELF) {
  const [count, concurrency, file, ...args] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write("usage: spawn-rate.ts COUNT CONCURRENCY PROGRAM [ARGS...]\n");
    process.exit(2);
  }
  spawnRate(file, args, Number(count), Number(concurrency)).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`spawn-rate: ${err instanceof Error ? err.message : err}\n`);
      process.exit(1);
    },
  );
}

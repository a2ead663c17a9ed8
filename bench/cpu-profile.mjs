/**
 * Preloaded through `NODE_OPTIONS=--import=<this file>` (node refuses
 * `--cpu-prof` there): profiles the process from its start with the
 * in-process inspector and writes `<dir>/<name>-<pid>.cpuprofile` when it
 * exits (and on SIGUSR2: the profile so far, for a process that will be
 * SIGKILLed), where `BENCH_CPU_PROFILE_DIR` names the directory. Being in
 * NODE_OPTIONS it reaches the children a process starts with its
 * environment: `--profile` of the processes phase gives it to the real agent,
 * so the executors the agent starts are profiled too. Plain JavaScript so
 * that it loads before any TypeScript loader.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir !== undefined && dir !== "") {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  const name = path.basename(process.argv[1] ?? "node").replace(/\.[^.]*$/, "");
  let part = 0;
  /** Writes what was sampled so far (the in-process session answers synchronously). */
  const write = () => {
    session.post("Profiler.stop", (err, result) => {
      if (err !== null || result === undefined) return;
      mkdirSync(dir, { recursive: true });
      const suffix = part === 0 ? "" : `-${part}`;
      part++;
      writeFileSync(
        path.join(dir, `${name}-${process.pid}${suffix}.cpuprofile`),
        JSON.stringify(result.profile),
      );
    });
  };
  process.once("exit", write);
  // SIGUSR2: the profile so far, then a new one (for a process that will be SIGKILLed)
  process.on("SIGUSR2", () => {
    write();
    session.post("Profiler.start");
  });
}

/**
 * Real-cgroup test helpers: a detection with a cgroup root of the test file's
 * own (removed in `after.always`), a skip with the reason when the host has no
 * writable cgroups, and spawning a wrapped argv.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import type { ImplementationFn, TestFn } from "ava";
import { type Detection, detectIsolation } from "../../../actors/agent/isolation/detect.ts";
import { isolatorFor } from "../../../actors/agent/isolation/index.ts";
import type { Isolator } from "../../../actors/agent/isolation/types.ts";
import type { Clock } from "../../../infra/clock.ts";

/** A cgroup root of this test file's own: `agora-test/<pid>-<random>`. */
export function testRoot(): string {
  return `agora-test/${process.pid}-${randomBytes(3).toString("hex")}`;
}

/** Detects real cgroups; `none` with the reason where the host has none usable. */
export async function detectForTests(root: string): Promise<Detection> {
  try {
    return await detectIsolation({ mode: "auto", root });
  } catch (err) {
    return { kind: "none", root, reason: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Declares a serial test that needs real cgroups, or a skipped one whose
 * title carries the reason computed at run time.
 */
export function cgroupTest<C>(test: TestFn<C>, detection: Detection) {
  return (title: string, fn: ImplementationFn<[], C>) => {
    if (detection.kind === "none") test.skip(`${title} (skipped: ${detection.reason})`, fn);
    else test.serial(title, fn);
  };
}

/**
 * The real clock with timers that keep the process alive. The agent's system
 * clock unrefs its timers (its NATS connection keeps it alive); a test whose
 * only pending work is a container emptying has nothing else.
 */
export const testClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const handle = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(handle) };
  },
  every(ms, fn) {
    const handle = setInterval(fn, ms);
    return { cancel: () => clearInterval(handle) };
  },
};

/** The isolator of a detection, and its root removed after the file's tests. */
export function useIsolator<C>(test: TestFn<C>, detection: Detection): Isolator {
  const isolator = isolatorFor(detection, { clock: testClock });
  test.after.always(async () => {
    await isolator.removeRoot();
  });
  return isolator;
}

/** The directories a container occupies (for asserting they are gone). */
export function containerDirs(detection: Detection, ...ids: string[]): string[] {
  if (detection.v2 !== undefined) return [path.join(detection.v2, detection.root, ...ids)];
  const mounts = new Set(Object.values(detection.v1 ?? {}));
  return [...mounts].map((m) => path.join(m, detection.root, ...ids));
}

/** A spawned process with its output and its end. */
export interface Spawned {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `argv` (e.g. a container's `wrap(...)`). */
export function spawnArgv(argv: readonly string[]): Spawned {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error("empty argv");
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code, signal) => resolve({ code, signal }));
    },
  );
  if (child.pid === undefined) throw new Error(`cannot spawn ${file}`);
  return { child, pid: child.pid, stdout: () => out, stderr: () => err, exited };
}

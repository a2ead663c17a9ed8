import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { type TaskChild, TaskSpawner } from "../../../actors/executor/task-spawner.ts";
import { silentLogger } from "../../../infra/logger.ts";
import type { CommandInfo } from "../../../protocol/common.ts";

/** A spawner and a sandbox of its own, both gone when the test ends. */
function setup(t: { teardown: (fn: () => void) => void }): {
  spawner: TaskSpawner;
  sandbox: string;
  start: (command: CommandInfo) => TaskChild;
} {
  const sandbox = mkdtempSync(path.join(tmpdir(), "agora-spawner-"));
  const spawner = new TaskSpawner({ logger: silentLogger() });
  t.teardown(() => {
    spawner.close();
    rmSync(sandbox, { recursive: true, force: true });
  });
  const start = (command: CommandInfo) =>
    spawner.spawn({ command, sandbox, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  return { spawner, sandbox, start };
}

test("task spawner - runs the command in the sandbox with the task's environment and reports its exit", async (t) => {
  const { sandbox, start } = setup(t);
  const child = start({ value: 'pwd; echo "path=$PATH"; exit 3' });
  // both listeners first: the spawn and the exit of a short task can come in one reply
  const spawned = once(child, "spawn");
  const exited = once(child, "exit");
  await spawned;
  t.true(typeof child.pid === "number" && child.pid > 0);
  const [code, signal] = await exited;
  t.is(code, 3);
  t.is(signal, null);
  const out = readFileSync(path.join(sandbox, "stdout"), "utf8");
  t.is(out.split("\n")[0], sandbox);
  t.regex(out, /^path=/m);
});

test("task spawner - many tasks at once each get their own exit", async (t) => {
  const { start } = setup(t);
  const children = Array.from({ length: 20 }, (_, i) => start({ value: `exit ${i}` }));
  const codes = await Promise.all(children.map(async (c) => (await once(c, "exit"))[0]));
  t.deepEqual(
    codes,
    Array.from({ length: 20 }, (_, i) => i),
  );
});

test("task spawner - a task killed by a signal exits with that signal", async (t) => {
  const { start } = setup(t);
  const child = start({ value: "sleep", shell: false, arguments: ["30"] });
  await once(child, "spawn");
  process.kill(child.pid!, "SIGTERM");
  const [code, signal] = await once(child, "exit");
  t.is(code, null);
  t.is(signal, "SIGTERM");
});

test("task spawner - a program that does not exist is an error, not a spawn", async (t) => {
  const { start } = setup(t);
  const child = start({ value: "/nonexistent/agora-program", shell: false, arguments: [] });
  let spawned = false;
  child.once("spawn", () => {
    spawned = true;
  });
  const [error] = (await once(child, "error")) as [Error];
  t.regex(error.message, /ENOENT/);
  t.false(spawned);
  t.is(child.pid, undefined);
});

test("task spawner - a task whose helper died is lost, and the next task starts a new helper", async (t) => {
  const { start } = setup(t);
  const child = start({ value: "sleep", shell: false, arguments: ["30"] });
  await once(child, "spawn");
  const pid = child.pid!;
  t.teardown(() => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  });
  const helperPid = Number(
    readFileSync(`/proc/${pid}/stat`, "utf8")
      .replace(/^.*\) /, "")
      .split(" ")[1],
  );
  t.not(helperPid, process.pid);
  process.kill(helperPid, "SIGKILL");
  await once(child, "lost");
  const next = start({ value: "exit 0" });
  const [code] = await once(next, "exit");
  t.is(code, 0);
});

test("task spawner - refuses to spawn once closed", (t) => {
  const { spawner, start } = setup(t);
  spawner.close();
  t.throws(() => start({ value: "true" }), { message: "the task spawner is closed" });
});

/**
 * A task's process spawned with output files opened beforehand (the default
 * executor opens them through the thread pool): the sandbox is made, the
 * output is appended to its `stdout` and `stderr`, and the caller's handles
 * stay open until it closes them.
 */
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { openTaskOutput, spawnTaskProcess } from "../../../actors/executor/task-process.ts";

test("task process - output opened beforehand: sandbox made, output appended, handles left to the caller", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "agora-task-process-"));
  try {
    const sandbox = path.join(dir, "tasks", "t1");
    const output = await openTaskOutput(sandbox);
    await writeFile(path.join(sandbox, "stdout"), "before\n", { flag: "a" });
    const child = spawnTaskProcess({
      command: { value: "echo out; echo err >&2; pwd", shell: true },
      sandbox,
      env: { PATH: "/usr/bin:/bin" },
      output,
    });
    const [code] = (await once(child, "exit")) as [number | null];
    t.is(code, 0);
    t.is(await readFile(path.join(sandbox, "stdout"), "utf8"), `before\nout\n${sandbox}\n`);
    t.is(await readFile(path.join(sandbox, "stderr"), "utf8"), "err\n");
    // still open: the caller closes them
    await output.stdout.write("after\n");
    await output.stdout.close();
    await output.stderr.close();
    t.true((await readFile(path.join(sandbox, "stdout"), "utf8")).endsWith("after\n"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

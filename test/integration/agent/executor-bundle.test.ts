import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import {
  commandExecutorLauncher,
  EXECUTOR_BUNDLE_DIR,
} from "../../../actors/agent/executor-bundle.ts";
import type { ProgramSpec } from "../../../actors/shared/programs.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { TaskState } from "../../../protocol/common.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { commandTask, startAgentFixture, testFramework } from "./helpers.ts";

const nats = useNatsServer(test, { jetstream: false });

/** Runs `echo hello` on an agent whose command executor starts as `launch` says. */
async function runEcho(
  t: ExecutionContext,
  launch: (workDir: string) => () => Promise<ProgramSpec>,
  /** Waited for in the sandbox's stderr (the executor's logs) once the task finished. */
  stderrText?: string,
  /** The task's mem (MB): the container holds it plus the executor's 32 MB allowance. */
  mem = 32,
): Promise<{ program: ProgramSpec; stdout: string; stderr: string }> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), "agora-agent-bundle-"));
  t.teardown(() => rm(workDir, { recursive: true, force: true }));
  const inner = launch(workDir);
  const used: ProgramSpec[] = [];
  const fx = await startAgentFixture(nats().url, {
    workDir,
    // the executors log at info (the agent's own logger is silent)
    config: { logLevel: "info" },
    commandExecutor: async () => {
      const program = await inner();
      used.push(program);
      return program;
    },
  });
  t.teardown(() => fx.dispose());
  const framework = testFramework();
  const task = commandTask(fx.master, "echo hello", { resources: { cpus: 0.1, mem } });
  fx.master.runTask(framework, [task]);
  const finished = await fx.master.waitForState(task.taskId, TaskState.Finished);
  t.is(finished.exitCode, 0);
  t.is(used.length, 1);
  // The executor logs after it reports, asynchronously: wait rather than read at once.
  if (stderrText !== undefined) {
    await fx.waitForSandbox(framework.frameworkId, task.taskId, "stderr", stderrText);
  }
  return {
    program: used[0]!,
    stdout: await fx.readSandbox(framework.frameworkId, task.taskId, "stdout"),
    stderr: await fx.readSandbox(framework.frameworkId, task.taskId, "stderr"),
  };
}

test("executor bundle - the bundled command executor runs a task to TASK_FINISHED and logs", async (t) => {
  const { program, stdout, stderr } = await runEcho(
    t,
    (workDir) => commandExecutorLauncher({ workDir, logger: silentLogger() }),
    `"state":"${TaskState.Finished}"`,
  );
  t.is(program.file, process.execPath);
  t.is(program.args.length, 1);
  t.true(program.args[0]!.includes(`${path.sep}${EXECUTOR_BUNDLE_DIR}${path.sep}`));
  t.regex(program.args[0]!, /\.mjs$/);
  t.is(stdout.trim(), "hello");
  // The executor's pino logs (JSON on stderr, the sandbox's file) work from the bundle.
  const logs = stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg?: string; state?: string });
  t.true(logs.some((l) => l.msg === "task status" && l.state === TaskState.Finished));
});

test("executor bundle - when the bundle cannot be built, the command executor runs through tsx", async (t) => {
  const { program, stdout } = await runEcho(
    t,
    (workDir) =>
      commandExecutorLauncher({
        workDir,
        logger: silentLogger(),
        bundler: async () => {
          throw new Error("esbuild is missing");
        },
      }),
    undefined,
    // Node with tsx's loader compiling the executor's sources needs more than the bundle's
    // 32 MB executor allowance under a memory cgroup (it was OOM-killed at 64 MB in CI).
    256,
  );
  t.is(program.args[0], "--import");
  t.regex(program.args[2]!, /command-executor\.ts$/);
  t.is(stdout.trim(), "hello");
});

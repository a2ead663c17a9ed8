/**
 * Containers across an agent crash, with real cgroups: `agora agent` is
 * SIGKILLed while a task runs in its container and restarted on the same
 * work dir. It finds the container again through the executor's checkpoint
 * (reattached: the same cgroups, the task finishes, then they are removed),
 * destroys an orphan container that no checkpointed executor owns, and with
 * `--recover cleanup` destroys them all. Skipped, with the reason, where no
 * cgroups are writable.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import test from "ava";
import { isolatorFor } from "../../../actors/agent/isolation/index.ts";
import { TaskState } from "../../../protocol/common.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../../helpers/wait.ts";
import {
  cgroupTest,
  containerDirs,
  detectForTests,
  testClock,
  testRoot,
} from "../isolation/helpers.ts";
import { commandTask, testFramework } from "./helpers.ts";
import { type RecoveryFixture, startRecoveryFixture, WAIT_FOR_GO } from "./recovery-helpers.ts";

const detection = await detectForTests(testRoot());
const nats = useNatsServer(test, { jetstream: false });
const cgtest = cgroupTest(test, detection);

test.after.always(async () => {
  await isolatorFor(detection, { clock: testClock }).removeRoot();
});

const ISOLATED = ["--isolation", "cgroups", "--cgroups-root", detection.root];

/** The agent's container directories (one per hierarchy) whose name starts with `prefix`. */
function containers(fx: RecoveryFixture, prefix: string): string[] {
  return containerDirs(detection, fx.master.agentId).flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((n) => n.startsWith(prefix))
          .map((n) => path.join(dir, n))
      : [],
  );
}

cgtest(
  "agent isolation recovery - a restarted agent reattaches the live container and destroys an orphan",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    const first = fx.startAgent(ISOLATED);
    await fx.registered();
    const framework = testFramework();
    const task = commandTask(fx.master, WAIT_FOR_GO);
    fx.master.runTask(framework, [task]);
    await fx.master.waitForState(task.taskId, TaskState.Running);
    const executorPid = await fx.executorPid(framework.frameworkId, task.taskId);
    const dirs = containers(fx, `${task.taskId}-`);
    t.true(dirs.length > 0, "the task runs in a container");
    const memoryDir = dirs.find((d) => d.includes("/memory/")) ?? dirs[0]!;
    t.true(
      readFileSync(path.join(memoryDir, "cgroup.procs"), "utf8").includes(String(executorPid)),
    );
    // An orphan: a container in the agent's root that no checkpointed executor owns.
    for (const dir of containerDirs(detection, fx.master.agentId)) {
      mkdirSync(path.join(dir, "orphan-1"), { recursive: true });
    }
    t.true(containers(fx, "orphan-").length > 0);
    await fx.kill(first);

    const restartedAt = fx.mark();
    const second = fx.startAgent(ISOLATED);
    await fx.registered(restartedAt);
    await eventually(() => containers(fx, "orphan-").length === 0, "the orphan to be destroyed");
    // Reattached: the same container holds the same executor, which finishes its task.
    t.deepEqual(containers(fx, `${task.taskId}-`), dirs);
    t.true(
      readFileSync(path.join(memoryDir, "cgroup.procs"), "utf8").includes(String(executorPid)),
    );
    await writeFile(path.join(fx.sandbox(framework.frameworkId, task.taskId), "go"), "");
    const finished = await fx.master.waitForState(task.taskId, TaskState.Finished);
    t.is(finished.exitCode, 0);
    await eventually(() => dirs.every((d) => !existsSync(d)), "the container to be destroyed");
    second.child.kill("SIGTERM");
    t.is((await second.result).code, 0);
  },
);

cgtest(
  "agent isolation recovery - --recover cleanup destroys the checkpointed container and fails its task",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    const first = fx.startAgent(ISOLATED);
    await fx.registered();
    const framework = testFramework();
    const task = commandTask(fx.master, WAIT_FOR_GO);
    fx.master.runTask(framework, [task]);
    await fx.master.waitForState(task.taskId, TaskState.Running);
    const dirs = containers(fx, `${task.taskId}-`);
    t.true(dirs.length > 0);
    await fx.kill(first);

    const restartedAt = fx.mark();
    const second = fx.startAgent([...ISOLATED, "--recover", "cleanup"]);
    await fx.registered(restartedAt);
    const failed = await fx.master.waitForState(task.taskId, TaskState.Failed);
    t.regex(failed.message ?? "", /cleanup/);
    await eventually(() => dirs.every((d) => !existsSync(d)), "the container to be destroyed");
    second.child.kill("SIGTERM");
    t.is((await second.result).code, 0);
  },
);

cgtest(
  "agent isolation recovery - a start without its checkpointed id destroys the containers of the lost id",
  async (t) => {
    const fx = await startRecoveryFixture(nats().url);
    t.teardown(() => fx.dispose());
    const first = fx.startAgent(ISOLATED);
    await fx.registered();
    const framework = testFramework();
    const task = commandTask(fx.master, WAIT_FOR_GO);
    fx.master.runTask(framework, [task]);
    await fx.master.waitForState(task.taskId, TaskState.Running);
    const dirs = containers(fx, `${task.taskId}-`);
    t.true(dirs.length > 0);
    await fx.kill(first);
    await rm(path.join(fx.workDir, "meta", "agent.json"));

    const restartedAt = fx.mark();
    const second = fx.startAgent(ISOLATED);
    await fx.registered(restartedAt);
    await eventually(
      () => dirs.every((d) => !existsSync(d)),
      "the lost id's container to be destroyed",
    );
    second.child.kill("SIGTERM");
    t.is((await second.result).code, 0);
  },
);

/**
 * A default executor across an agent crash: `agora agent` (with cgroups
 * where they are writable) is SIGKILLed while a task group runs, and
 * restarted on the same work dir with `--recover reconnect` (the default).
 * The same executor process resubscribes with its task, which then finishes;
 * its nested cgroup is found again and removed when it ends.
 */
import { existsSync, readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import test from "ava";
import { containerIdFor, isolatorFor } from "../../../actors/agent/isolation/index.ts";
import { TaskState } from "../../../protocol/common.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../../helpers/wait.ts";
import { containerDirs, detectForTests, testClock, testRoot } from "../isolation/helpers.ts";
import { commandTask, testFramework } from "./helpers.ts";
import { startRecoveryFixture, WAIT_FOR_GO } from "./recovery-helpers.ts";

const detection = await detectForTests(testRoot());
const isolated = detection.kind !== "none";
const nats = useNatsServer(test, { jetstream: false });

test.after.always(async () => {
  if (isolated) await isolatorFor(detection, { clock: testClock }).removeRoot();
});

const ARGS = isolated
  ? ["--isolation", "cgroups", "--cgroups-root", detection.root]
  : ["--isolation", "none"];

test("default executor recovery - a restarted agent reattaches the default executor and its task", async (t) => {
  if (!isolated) t.log(`without cgroups: ${detection.reason}`);
  const fx = await startRecoveryFixture(nats().url);
  t.teardown(() => fx.dispose());
  const first = fx.startAgent(ARGS);
  await fx.registered();
  const framework = testFramework();
  const task = commandTask(fx.master, WAIT_FOR_GO);
  fx.master.send({
    type: "agent.runTaskGroup",
    framework,
    executor: { executorId: "pod", type: "DEFAULT" },
    taskGroup: { tasks: [task] },
  });
  await fx.master.waitForState(task.taskId, TaskState.Running);
  const pid = await fx.executorPid(framework.frameworkId, "pod");
  const nested = () =>
    containerDirs(detection, fx.master.agentId).flatMap((dir) =>
      existsSync(dir)
        ? readdirSync(dir)
            .map((c) => path.join(dir, c, containerIdFor(framework.frameworkId, task.taskId)))
            .filter((p) => existsSync(p))
        : [],
    );
  if (isolated) t.true(nested().length > 0, "the task has its nested cgroup");
  await fx.kill(first);

  const restartedAt = fx.mark();
  const second = fx.startAgent(ARGS);
  await fx.registered(restartedAt);
  t.is(await fx.executorPid(framework.frameworkId, "pod"), pid, "the same executor process");
  const sandbox = path.join(fx.sandbox(framework.frameworkId, "pod"), "tasks", task.taskId);
  await writeFile(path.join(sandbox, "go"), "");
  const finished = await fx.master.waitForState(task.taskId, TaskState.Finished);
  t.is(finished.exitCode, 0);
  if (isolated) {
    await eventually(() => nested().length === 0, "the nested cgroup to be removed");
    t.deepEqual(nested(), []);
  }
  second.child.kill("SIGTERM");
  t.is((await second.result).code, 0);
});

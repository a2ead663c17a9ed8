/**
 * `agora run` as a user types it, against a master and agents running in
 * this test process on the test's own nats-server.
 */
import anyTest, { type TestFn } from "ava";
import { type ClusterContext, useCluster } from "../../helpers/cluster.ts";
import { VERY_SLOW_WAIT_MS } from "../../helpers/wait.ts";
import { runAgora, startAgora } from "./helpers.ts";

const test = anyTest as TestFn<ClusterContext>;

useCluster(test, {
  prefix: "clirun",
  agents: [
    { hostname: "agent-1", resources: "cpus:4;mem:4096" },
    { hostname: "agent-2", resources: "cpus:4;mem:4096" },
  ],
});

test("agora run - echo hello prints hello and exits 0", async (t) => {
  const r = await runAgora(["run", ...t.context.args, "--", "echo", "hello"]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /^agora: task \S+ TASK_RUNNING/m);
  t.regex(r.stderr, /^agora: task \S+ TASK_FINISHED/m);
  t.regex(r.stdout, /^hello$/m, "the task's output is printed (read from its sandbox)");
});

test("agora run - false exits 1", async (t) => {
  const r = await runAgora(["run", ...t.context.args, "--", "false"]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /TASK_FAILED/);
});

test('agora run - sh -c "exit 3" exits 3', async (t) => {
  const r = await runAgora(["run", ...t.context.args, "--", "sh", "-c", "exit 3"]);
  t.is(r.code, 3, r.stderr);
});

test("agora run - --env reaches the task, --name names it", async (t) => {
  const r = await runAgora([
    "run",
    ...t.context.args,
    "--name",
    "env-check",
    "--resources",
    "cpus:0.5;mem:64",
    "--env",
    "CODE=5",
    "--",
    'exit "$CODE"',
  ]);
  t.is(r.code, 5, r.stderr);
  t.regex(r.stderr, /agora: task env-check-\S+ TASK_FAILED/);
});

test("agora run - --kill-after kills the task: 128 + SIGTERM", async (t) => {
  const r = await runAgora([
    "run",
    ...t.context.args,
    "--kill-after",
    "300ms",
    "--",
    "sleep",
    "30",
  ]);
  t.regex(r.stderr, /TASK_KILLED/);
  t.is(r.code, 143, r.stderr);
});

test("agora run - Ctrl-C kills the task, tears the framework down and exits 130", async (t) => {
  const run = startAgora(["run", ...t.context.args, "--name", "interrupted", "--", "sleep", "300"]);
  t.teardown(() => run.child.kill("SIGKILL"));
  await run.stderr.waitFor((line) => line.includes("TASK_RUNNING"), {
    timeoutMs: VERY_SLOW_WAIT_MS,
  });
  run.child.kill("SIGINT");
  const r = await run.result;
  t.is(r.code, 130, r.stderr);
  t.regex(r.stderr, /TASK_KILLED/);
  const state = await runAgora(["state", ...t.context.args]);
  const frameworks = (JSON.parse(state.stdout) as { frameworks: Array<{ name: string }> })
    .frameworks;
  t.false(
    frameworks.some((f) => f.name === "interrupted"),
    "the framework was torn down",
  );
});

test("agora run - --health-cmd prints the task's health as it changes", async (t) => {
  const run = startAgora([
    "run",
    ...t.context.args,
    "--name",
    "health-ok",
    "--health-cmd",
    "true",
    "--health-delay",
    "0ms",
    "--health-interval",
    "100ms",
    "--",
    "sleep",
    "300",
  ]);
  t.teardown(() => run.child.kill("SIGKILL"));
  await run.stderr.waitFor((line) => /^agora: task health-ok-\S+ healthy$/.test(line), {
    timeoutMs: VERY_SLOW_WAIT_MS,
  });
  run.child.kill("SIGINT");
  const r = await run.result;
  t.is(r.code, 130, r.stderr);
});

test("agora run - a failing --health-cmd is printed unhealthy and the task is killed", async (t) => {
  const r = await runAgora([
    "run",
    ...t.context.args,
    "--health-cmd",
    "echo not ready; exit 1",
    "--health-delay",
    "0ms",
    "--health-interval",
    "100ms",
    "--health-start-period",
    "0ms",
    "--health-retries",
    "2",
    "--",
    "sleep",
    "300",
  ]);
  t.regex(r.stderr, /^agora: task \S+ unhealthy: .*not ready/m);
  t.regex(r.stderr, /^agora: task \S+ TASK_KILLED: the task failed 2 health check\(s\) in a row/m);
  t.is(r.code, 143, r.stderr);
});

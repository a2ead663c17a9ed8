/**
 * `agora run` when the cluster goes away under it (a real nats-server,
 * stopped mid-run; the CLI a real child process): a one-line message and
 * exit 1 after `--unreachable-timeout`, Ctrl-C that cannot kill says so and
 * exits 130, and a second Ctrl-C exits at once, never with a stack trace.
 * Each test has its own server and cluster, since it stops them.
 */
import anyTest, { type TestFn } from "ava";
import type { LocalCluster } from "../../../cli/local-cluster.ts";
import { type NatsServer, startNatsServer } from "../../../infra/nats-server.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { startCluster } from "../e2e/helpers.ts";
import { startAgora } from "./helpers.ts";

const test = anyTest as TestFn<{ server: NatsServer; cluster: LocalCluster; args: string[] }>;

/** A line of a JavaScript stack trace. */
const STACK_LINE = /^\s+at .+[:(]/m;

test.beforeEach(async (t) => {
  const server = await startNatsServer();
  const subjects = new Subjects("cligone");
  const cluster = await startCluster({
    url: server.url,
    subjects,
    agents: [{ hostname: "agent-1", resources: "cpus:2;mem:1024" }],
  });
  t.context = { server, cluster, args: ["--nats", server.url, "--prefix", subjects.prefix] };
});

test.afterEach.always(async (t) => {
  await t.context.server?.stop();
  await t.context.cluster?.stop();
});

test.serial(
  "agora run - NATS gone longer than --unreachable-timeout: one line, exit 1",
  async (t) => {
    const run = startAgora([
      "run",
      ...t.context.args,
      "--unreachable-timeout",
      "1s",
      "--",
      "sleep",
      "300",
    ]);
    t.teardown(() => run.child.kill("SIGKILL"));
    await run.stderr.waitFor((line) => line.includes("TASK_RUNNING"), { timeoutMs: 30_000 });
    await t.context.server.stop();
    const r = await run.result;
    t.is(r.code, 1, r.stderr);
    t.regex(
      r.stderr,
      /^agora: NATS at nats:\/\/\S+ unreachable for 1s \(--unreachable-timeout\); giving up; task \S+ may still be running$/m,
    );
    t.notRegex(r.stderr, STACK_LINE);
  },
);

test.serial(
  "agora run - Ctrl-C with NATS gone says the task cannot be killed and exits 130",
  async (t) => {
    const run = startAgora(["run", ...t.context.args, "--", "sleep", "300"]);
    t.teardown(() => run.child.kill("SIGKILL"));
    await run.stderr.waitFor((line) => line.includes("TASK_RUNNING"), { timeoutMs: 30_000 });
    await t.context.server.stop();
    const logLine = await run.stderr.waitFor((line) => line.includes("nats disconnected"), {
      timeoutMs: 30_000,
    });
    t.false(logLine.trimStart().startsWith("{"), "a command's log lines are text, not JSON");
    run.child.kill("SIGINT");
    const r = await run.result;
    t.is(r.code, 130, r.stderr);
    t.regex(
      r.stderr,
      /^agora: cannot kill task \S+: the cluster is unreachable \(the task may still be running\); exiting$/m,
    );
    t.notRegex(r.stderr, /kill failed|no reply/);
    t.notRegex(r.stderr, STACK_LINE);
  },
);

test.serial(
  "agora run - a second Ctrl-C while the kill is pending exits 130 at once",
  async (t) => {
    const run = startAgora([
      "run",
      ...t.context.args,
      "--kill-grace-period",
      "120s",
      "--",
      "trap '' TERM; while :; do sleep 1; done",
    ]);
    t.teardown(() => run.child.kill("SIGKILL"));
    await run.stderr.waitFor((line) => line.includes("TASK_RUNNING"), { timeoutMs: 30_000 });
    run.child.kill("SIGINT");
    await run.stderr.waitFor((line) => line.includes("Ctrl-C again to quit at once"), {
      timeoutMs: 30_000,
    });
    run.child.kill("SIGINT");
    const r = await run.result;
    t.is(r.code, 130, r.stderr);
    t.notRegex(r.stderr, /TASK_KILLED/, "it did not wait for the task's end");
    t.notRegex(r.stderr, STACK_LINE);
  },
);

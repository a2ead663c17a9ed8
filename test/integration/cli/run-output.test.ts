/**
 * `agora run`'s output, read from the task's sandbox with `files.read` while
 * the task runs: live, whole, stdout and stderr apart, and the agent's
 * `files.read` itself (NOT_FOUND, reads past the end, from the end).
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import anyTest, { type TestFn } from "ava";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { request, requestState } from "../../../infra/request.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { type ClusterContext, useCluster } from "../../helpers/cluster.ts";
import { VERY_SLOW_WAIT_MS } from "../../helpers/wait.ts";
import { runAgora, startAgora } from "./helpers.ts";

const subjects = new Subjects("cliout");

const test = anyTest as TestFn<ClusterContext & { nc: NatsConnection; agentId: string }>;

test.serial.after.always(async (t) => {
  if (t.context.nc) await closeGracefully(t.context.nc);
});
useCluster(test, {
  prefix: subjects.prefix,
  agents: [{ hostname: "agent-out", resources: "cpus:4;mem:4096" }],
});
test.serial.before(async (t) => {
  t.context.nc = await connect({ servers: t.context.server.url, name: "observer" });
  const agentId = t.context.cluster.agents[0]?.agent.agentId();
  if (agentId === undefined) throw new Error("the agent has no id");
  t.context.agentId = agentId;
});

function readFile(
  nc: NatsConnection,
  agentId: string,
  fields: Omit<MessageOf<"files.read">, "type">,
): Promise<MessageOf<"files.data">> {
  return request(
    nc,
    subjects.agentFiles(agentId),
    { type: "files.read", ...fields },
    ["files.data"],
    VERY_SLOW_WAIT_MS,
  );
}

/** The sandbox path of the `agora: task <id> sandbox: agent ...` line, and the ids in it. */
function sandboxOf(stderr: string): { sandbox: string; frameworkId: string; taskId: string } {
  const line = /^agora: task (\S+) sandbox: agent \S+ \(agent-out\) (\S+)$/m.exec(stderr);
  if (line === null) throw new Error(`no sandbox line in ${stderr}`);
  const sandbox = line[2] as string;
  const ids = /\/frameworks\/([^/]+)\/executors\/([^/]+)\/runs\//.exec(sandbox);
  if (ids === null) throw new Error(`not a sandbox path: ${sandbox}`);
  return {
    sandbox,
    frameworkId: decodeURIComponent(ids[1] as string),
    taskId: decodeURIComponent(ids[2] as string),
  };
}

test("agora run - streams the task's stdout while it runs and says where the sandbox is", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-stream-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const go = path.join(dir, "go");
  // A line every 300 ms until the test lets the task end: nothing depends on timing.
  const script = `i=0; while [ ! -e '${go}' ] && [ $i -lt 400 ]; do i=$((i+1)); echo "line $i"; sleep 0.3; done; echo last`;
  const run = startAgora(["run", ...t.context.args, "--name", "streamer", "--", script]);
  t.teardown(() => run.child.kill("SIGKILL"));
  await run.stdout
    .waitFor((line) => line === "line 1", { timeoutMs: VERY_SLOW_WAIT_MS })
    .catch((err) => {
      t.log(run.stderr.items.join("\n"));
      throw err;
    });
  const state = (await requestState(t.context.nc, subjects.masterOperator(), VERY_SLOW_WAIT_MS))
    .state;
  const tasks = state.frameworks.filter((f) => f.name === "streamer").flatMap((f) => f.tasks);
  t.is(tasks.length, 1);
  // The master may not have the executor's TASK_RUNNING yet: what counts is that the task has not ended.
  const state0 = tasks[0]?.state;
  t.true(
    state0 === "TASK_STARTING" || state0 === "TASK_RUNNING",
    `the first line came before the task ended (${state0})`,
  );
  await writeFile(go, "");
  const r = await run.result;
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  t.is(lines.at(-2), "last");
  const numbered = lines.filter((l) => l.startsWith("line "));
  t.deepEqual(
    numbered,
    numbered.map((_, i) => `line ${i + 1}`),
    "every line once, in order",
  );
  const { taskId } = sandboxOf(r.stderr);
  t.true(taskId.startsWith("streamer-"));
});

test("agora run - the task's stderr goes to stderr, its stdout to stdout", async (t) => {
  const r = await runAgora([
    "run",
    ...t.context.args,
    "--",
    "echo to-out; echo to-err >&2; echo more-out",
  ]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.stdout.split("\n"), ["to-out", "more-out", ""]);
  t.regex(r.stderr, /^to-err$/m);
  t.notRegex(r.stdout, /to-err/);
});

test("agora run - 3 MB of output arrive whole", async (t) => {
  const count = 480_000;
  let expected = "";
  for (let i = 1; i <= count; i++) expected += `${i}\n`;
  t.true(expected.length > 3_000_000);
  const r = await runAgora(["run", ...t.context.args, "--", `seq 1 ${count}`], {
    timeoutMs: 120_000,
  });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.length, expected.length);
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  t.is(sha(r.stdout), sha(expected));
});

test("files.read - an unknown task is NOT_FOUND", async (t) => {
  const error = await t.throwsAsync(
    readFile(t.context.nc, t.context.agentId, {
      frameworkId: "no-such-framework",
      taskId: "no-such-task",
      file: "stdout",
      offset: 0,
      length: 100,
    }),
  );
  t.true(error instanceof AgoraError);
  t.is((error as AgoraError).code, ErrorCode.NotFound);
});

test("files.read - past the end is empty with the size; offset -1 reads the end; a removed sandbox is NOT_FOUND", async (t) => {
  const r = await runAgora(["run", ...t.context.args, "--", "echo hello"]);
  t.is(r.code, 0, r.stderr);
  const { sandbox, frameworkId, taskId } = sandboxOf(r.stderr);
  // The task is done with and its framework torn down: its sandbox is still read.
  const past = await readFile(t.context.nc, t.context.agentId, {
    frameworkId,
    taskId,
    file: "stdout",
    offset: 1000,
    length: 100,
  });
  t.is(past.data.byteLength, 0);
  t.is(past.size, 6);
  t.true(past.eof);
  t.true(past.done);
  const end = await readFile(t.context.nc, t.context.agentId, {
    frameworkId,
    taskId,
    file: "stdout",
    offset: -1,
    length: 3,
  });
  t.is(Buffer.from(end.data).toString(), "lo\n");
  t.is(end.offset, 3);
  await rm(sandbox, { recursive: true, force: true });
  const gone = await t.throwsAsync(
    readFile(t.context.nc, t.context.agentId, {
      frameworkId,
      taskId,
      file: "stdout",
      offset: 0,
      length: 100,
    }),
  );
  t.is((gone as AgoraError).code, ErrorCode.NotFound, "a sandbox already gone is NOT_FOUND");
});

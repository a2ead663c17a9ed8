/**
 * `agora agent --switch-user=false` runs every task as the agent's user, and
 * `agora master --acls` with a bad file stops at start with one line.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import type { LocalCluster } from "../../../cli/local-cluster.ts";
import { type NatsServer, startNatsServer } from "../../../infra/nats-server.ts";
import { isTerminalState } from "../../../protocol/common.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { runAgora } from "../cli/helpers.ts";
import { startCluster, startFramework, tempDir, WAIT_MS } from "../e2e/helpers.ts";

interface Context {
  server: NatsServer;
  cluster: LocalCluster;
  subjects: Subjects;
}
const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  const server = await startNatsServer();
  const subjects = new Subjects("useroff");
  const cluster = await startCluster({
    url: server.url,
    subjects,
    agents: [
      {
        hostname: "agent-1",
        resources: "cpus:2;mem:1024",
        overrides: { switchUser: false },
      },
    ],
  });
  t.context = { server, cluster, subjects };
});

test.after.always(async (t) => {
  await t.context.cluster?.stop();
  await t.context.server?.stop();
});

test("task users - with --switch-user=false a task for another user runs as the agent's", async (t) => {
  const fw = await startFramework({
    servers: t.context.server.url,
    subjects: t.context.subjects,
    framework: { name: "off", user: "nobody" },
  });
  t.teardown(() => fw.driver.teardown().catch(() => fw.driver.stop()));
  const { offers } = await fw.events.waitFor(isEvent("offers"), { timeoutMs: WAIT_MS });
  const offer = offers[0]!;
  const info = commandTask({
    name: "whoami",
    agentId: offer.agentId,
    resources: { cpus: 0.1, mem: 32 },
    command: "id -u",
  });
  await fw.driver.accept([offer.offerId], [info]);
  const end = await fw.events.waitFor(
    isEvent("update", (e) => e.status.taskId === info.taskId && isTerminalState(e.status.state)),
    { timeoutMs: WAIT_MS },
  );
  t.is(end.status.state, "TASK_FINISHED", end.status.message);
  t.is(new TextDecoder().decode(end.status.data), `${process.getuid?.()}\n`);
});

test("acls - a bad ACL file stops agora master at start with one line", async (t) => {
  const dir = await tempDir("agora-badacls-");
  t.teardown(() => dir.remove());
  const file = path.join(dir.dir, "acls.json");
  await writeFile(
    file,
    '{"run_tasks": [{"principals": {"type": "SOME"}, "users": {"type": "ANY"}}]}',
  );
  const bad = await runAgora(["master", "--acls", file, "--nats", t.context.server.url]);
  t.is(bad.code, 2);
  t.regex(
    bad.stderr,
    /^agora: master: --acls .*acls\.json: invalid at \/run_tasks\/0\/principals: /,
  );
  t.is(bad.stderr.split("\n").length, 2, "one line");
  const missing = await runAgora(["master", "--acls", path.join(dir.dir, "nope.json")]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /^agora: master: --acls .*nope\.json: cannot read it \(ENOENT\)\n$/);
});

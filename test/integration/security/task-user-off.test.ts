/**
 * `agora agent --switch-user=false` runs every task as the agent's user;
 * `agora master --acls` with a bad file stops at start with one line, and
 * re-reads its file on SIGHUP.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { request } from "../../../infra/request.ts";
import { isTerminalState } from "../../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import type { ClusterContext } from "../../helpers/cluster.ts";
import { runAgora, startAgora } from "../cli/helpers.ts";
import { eventually, frameworkWithOffer, tempDir, useCluster, WAIT_MS } from "../e2e/helpers.ts";

const test = anyTest as TestFn<ClusterContext>;

useCluster(test, {
  prefix: "useroff",
  agents: [{ hostname: "agent-1", resources: "cpus:2;mem:1024", overrides: { switchUser: false } }],
});

test("task users - with --switch-user=false a task for another user runs as the agent's", async (t) => {
  const fw = await frameworkWithOffer(t, { name: "off", user: "nobody" });
  const { offer } = fw;
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

test("acls - agora master re-reads its ACL file on SIGHUP", async (t) => {
  const dir = await tempDir("agora-hupacls-");
  t.teardown(() => dir.remove());
  const file = path.join(dir.dir, "acls.json");
  await writeFile(file, JSON.stringify({ permissive: false }));
  const prefix = "hup";
  const master = startAgora([
    "master",
    "--acls",
    file,
    "--registry",
    "memory",
    "--nats",
    t.context.server.url,
    "--prefix",
    prefix,
  ]);
  t.teardown(async () => {
    master.child.kill("SIGTERM");
    await master.result;
  });
  const nc = await connect({ servers: t.context.server.url, name: "hup-test" });
  t.teardown(() => closeGracefully(nc));
  const setWeight = () =>
    request(
      nc,
      new Subjects(prefix).masterOperator(),
      { type: "operator.setWeights", weights: { web: 2 } },
      ["ok"],
      WAIT_MS,
    );
  // until the master serves, nobody answers (UNAVAILABLE); then the ACLs deny
  const denied = await eventually(
    () =>
      setWeight().then(
        () => new Error("allowed"),
        (e: unknown) =>
          e instanceof AgoraError && e.code === ErrorCode.Unavailable ? undefined : e,
      ),
    "the master to answer",
  );
  t.is((denied as AgoraError).code, ErrorCode.PermissionDenied);
  await writeFile(file, JSON.stringify({ permissive: true }));
  master.child.kill("SIGHUP");
  const allowed = await eventually(
    () =>
      setWeight().then(
        (reply) => reply,
        () => undefined,
      ),
    "the reloaded ACLs to allow the call",
  );
  t.is(allowed.type, "ok");
});

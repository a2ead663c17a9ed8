/**
 * Authorization and task users against a real master, agent and command
 * executor on a real nats-server: the master's `--acls` deny a role, a user,
 * a teardown and operator changes (each with the exact error the user sees,
 * the operator ones through the `agora` CLI); tasks run as their user, never
 * inherit an AGORA_* variable, and ids that would leave the sandbox are refused.
 */
import { writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import path from "node:path";
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import type { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import type { SchedulerEvent } from "../../../actors/scheduler/events.ts";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent, type Recorder } from "../../../actors/scheduler/recorder.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { request } from "../../../infra/request.ts";
import type { AclsFile } from "../../../protocol/acls.ts";
import {
  isTerminalState,
  type Offer,
  type TaskInfo,
  type TaskStatus,
} from "../../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import type { ClusterContext } from "../../helpers/cluster.ts";
import { type TempDir, tempDir } from "../../helpers/temp-dir.ts";
import { runAgora } from "../cli/helpers.ts";
import {
  eventually,
  frameworkWithOffer,
  startFramework,
  useCluster,
  WAIT_MS,
} from "../e2e/helpers.ts";

interface Context extends ClusterContext {
  scratch: TempDir;
  acls: string;
}
const test = anyTest as TestFn<Context>;
const isRoot = process.getuid?.() === 0;
const rootTest = isRoot ? test.serial : test.serial.skip;
/** The user of this test process: tasks run as it without switching. */
const me = userInfo().username;

const ACLS: AclsFile = {
  permissive: false,
  register_frameworks: [{ principals: { values: ["web"] }, roles: { values: ["web"] } }],
  run_tasks: [
    {
      principals: { values: ["web"] },
      users: { values: [me, "nobody", "root", "no-such-user-x"] },
    },
  ],
  teardown_frameworks: [{ principals: { values: ["ops"] }, framework_principals: { type: "ANY" } }],
  update_weights: [
    { principals: { values: ["ops"] }, roles: { type: "ANY" } },
    { principals: { type: "ANY" }, roles: { values: ["sandbox"] } },
  ],
  view_weights: [{ principals: { type: "ANY" }, roles: { type: "ANY" } }],
  update_quotas: [{ principals: { values: ["ops"] }, roles: { type: "ANY" } }],
  get_quotas: [{ principals: { type: "ANY" }, roles: { type: "ANY" } }],
  switch_policy: [{ principals: { values: ["ops"] }, policies: { type: "ANY" } }],
};

test.serial.before(async (t) => {
  t.context.scratch = await tempDir("agora-acls-");
  t.context.acls = path.join(t.context.scratch.dir, "acls.json");
  await writeFile(t.context.acls, JSON.stringify(ACLS));
});
useCluster(test, (context) => ({
  prefix: "acls",
  agents: [{ hostname: "agent-1", resources: "cpus:4;mem:4096" }],
  master: { acls: context.acls },
}));
test.after.always(async (t) => {
  await t.context.scratch?.remove();
});

type TestFramework = { driver: SchedulerDriver; events: Recorder<SchedulerEvent> };
let seq = 0;

function webFramework(t: ExecutionContext<Context>, user = me) {
  return frameworkWithOffer(t, {
    name: `acls-${++seq}`,
    principal: "web",
    roles: ["web"],
    user,
  });
}

function task(offer: Offer, command: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  const base = commandTask({
    name: `t${++seq}`,
    agentId: offer.agentId,
    resources: { cpus: 0.1, mem: 32 },
    command,
  });
  return { ...base, ...extra };
}

async function outcome(fw: TestFramework, info: TaskInfo): Promise<TaskStatus> {
  const offers = fw.events.filter(isEvent("offers")).flatMap((e) => e.offers);
  await fw.driver.accept([offers.at(-1)!.offerId], [info], { refuseSeconds: 0 });
  const end = await fw.events.waitFor(
    isEvent("update", (e) => e.status.taskId === info.taskId && isTerminalState(e.status.state)),
    { timeoutMs: WAIT_MS, what: `the end of ${info.taskId}` },
  );
  return end.status;
}

const output = (status: TaskStatus) => new TextDecoder().decode(status.data ?? new Uint8Array());

const cli = (t: ExecutionContext<Context>, ...args: string[]) =>
  runAgora([...args, ...t.context.args]);

test.serial(
  "acls - a framework may not register in a role its principal may not use",
  async (t) => {
    const err = await t.throwsAsync(
      startFramework({
        servers: t.context.server.url,
        subjects: t.context.subjects,
        framework: { name: "intruder", principal: "web", roles: ["batch"] },
      }),
      { instanceOf: AgoraError },
    );
    t.is(err?.code, ErrorCode.PermissionDenied);
    t.is(err?.message, 'principal "web" may not register_frameworks with roles "batch" (ACLs)');
    const anonymous = await t.throwsAsync(
      startFramework({
        servers: t.context.server.url,
        subjects: t.context.subjects,
        framework: { name: "anonymous", roles: ["web"] },
      }),
    );
    t.is(
      anonymous?.message,
      'an unauthenticated caller may not register_frameworks with roles "web" (ACLs)',
    );
  },
);

test.serial(
  "acls - a task to run as a user the principal may not use is TASK_ERROR, unauthorized",
  async (t) => {
    const fw = await webFramework(t);
    const status = await outcome(
      fw,
      task(fw.offer, "true", { command: { value: "true", user: "daemon" } }),
    );
    t.like(status, {
      state: "TASK_ERROR",
      reason: "REASON_TASK_UNAUTHORIZED",
      message: 'principal "web" may not run_tasks with users "daemon" (ACLs)',
    });
  },
);

test.serial(
  "acls - operator calls the ACLs do not allow fail with one line from the CLI",
  async (t) => {
    const weights = await cli(t, "weights", "web=2");
    t.is(weights.code, 1);
    t.is(
      weights.stderr,
      'agora: weights: an unauthenticated caller may not update_weights with roles "web" (ACLs)\n',
    );
    const allowed = await cli(t, "weights", "sandbox=2");
    t.is(allowed.code, 0, allowed.stderr);
    const quota = await cli(t, "quota", "web", "--guarantee", "cpus:1");
    t.is(quota.code, 1, quota.stdout);
    t.is(
      quota.stderr,
      'agora: quota: an unauthenticated caller may not update_quotas with roles "web" (ACLs)\n',
    );
    const policy = await cli(t, "policy", "use", "priority");
    t.is(policy.code, 1);
    t.is(
      policy.stderr,
      'agora: policy: an unauthenticated caller may not switch_policy with policies "priority" (ACLs)\n',
    );
    const fw = await webFramework(t);
    const teardown = await cli(t, "teardown", fw.driver.frameworkId);
    t.is(teardown.code, 1);
    t.is(
      teardown.stderr,
      'agora: teardown: an unauthenticated caller may not teardown_frameworks with framework_principals "web" (ACLs)\n',
    );
  },
);

rootTest("task users - a task runs as its user (nobody), the sandbox is its", async (t) => {
  const fw = await webFramework(t, "nobody");
  const status = await outcome(fw, task(fw.offer, "id -u; id -g; touch mine && stat -c %U mine"));
  t.is(status.state, "TASK_FINISHED", status.message);
  t.is(output(status), "65534\n65534\nnobody\n");
});

rootTest("task users - the command's user wins over the framework's", async (t) => {
  const fw = await webFramework(t, "nobody");
  const status = await outcome(
    fw,
    task(fw.offer, "id -u", { command: { value: "id -u", shell: true, user: "root" } }),
  );
  t.is(output(status), "0\n");
});

rootTest("task users - an unknown user fails the task, naming the user", async (t) => {
  const fw = await webFramework(t, "no-such-user-x");
  const status = await outcome(fw, task(fw.offer, "true"));
  t.like(status, {
    state: "TASK_FAILED",
    reason: "REASON_CONTAINER_LAUNCH_FAILED",
    message: "Failed to run the task as user 'no-such-user-x': no such user on this agent",
  });
});

test.serial(
  "task env - a task inherits no AGORA_* variable and finds no credential in its sandbox",
  async (t) => {
    const fw = await webFramework(t, isRoot ? "nobody" : me);
    const status = await outcome(
      fw,
      task(fw.offer, "env | cut -d= -f1 | sort; echo ---; ls -A", {
        command: {
          value: "env | cut -d= -f1 | sort; echo ---; ls -A",
          shell: true,
          environment: { MINE: "1" },
        },
      }),
    );
    t.is(status.state, "TASK_FINISHED", status.message);
    const [names = "", files = ""] = output(status).split("---\n");
    const vars = names.split("\n").filter((n) => n !== "");
    t.deepEqual(
      vars.filter((n) => /^(AGORA_|NATS_)/.test(n)),
      [],
    );
    t.true(vars.includes("MESOS_SANDBOX"));
    t.true(vars.includes("MINE"));
    t.true(vars.includes("MESOS_EXECUTOR_ID"));
    t.deepEqual(
      files.split("\n").filter((f) => f !== ""),
      ["stderr", "stdout"],
    );
  },
);

test.serial(
  "sandbox - a task id that would name a path outside the sandbox is refused",
  async (t) => {
    const fw = await webFramework(t);
    const status = await outcome(fw, task(fw.offer, "true", { taskId: "x/y" }));
    t.like(status, {
      state: "TASK_ERROR",
      reason: "REASON_TASK_INVALID",
      message:
        "task id \"x/y\" holds a path separator ('/' or '\\'): it would name a path outside the sandbox",
    });
  },
);

test.serial(
  "sandbox - a stdout the task replaced by a symlink is neither read by files.read nor sent as its output",
  async (t) => {
    const fw = await webFramework(t, isRoot ? "nobody" : me);
    const info = task(
      fw.offer,
      "echo hidden; rm -f stdout && ln -s /etc/passwd stdout && sleep 60",
    );
    const offers = fw.events.filter(isEvent("offers")).flatMap((e) => e.offers);
    await fw.driver.accept([offers.at(-1)!.offerId], [info], { refuseSeconds: 0 });
    await fw.events.waitFor(
      isEvent(
        "update",
        (e) => e.status.taskId === info.taskId && e.status.state === "TASK_RUNNING",
      ),
      { timeoutMs: WAIT_MS },
    );
    const nc = await connect({ servers: t.context.server.url, name: "acls-test" });
    t.teardown(() => closeGracefully(nc));
    const read = () =>
      request(
        nc,
        t.context.subjects.agentFiles(fw.offer.agentId),
        {
          type: "files.read",
          frameworkId: fw.driver.frameworkId,
          taskId: info.taskId,
          file: "stdout",
          offset: 0,
          length: 4096,
        },
        ["files.data"],
        WAIT_MS,
      );
    // the task replaces its stdout after it started: until then the read succeeds
    const err = await eventually(
      () =>
        read().then(
          () => undefined,
          (e: unknown) => e as AgoraError,
        ),
      "files.read to refuse the symlink",
    );
    t.is(err.code, ErrorCode.Forbidden, err.message);
    t.is(
      err.message,
      `the stdout of task ${info.taskId} is a symbolic link; it is not followed out of the sandbox`,
    );
    await fw.driver.kill(info.taskId);
    const end = await fw.events.waitFor(
      isEvent("update", (e) => e.status.taskId === info.taskId && isTerminalState(e.status.state)),
      { timeoutMs: WAIT_MS },
    );
    t.is(end.status.state, "TASK_KILLED");
    t.is(end.status.data, undefined, "the output tail does not follow the link");
  },
);

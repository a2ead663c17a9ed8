import test from "ava";
import { runSpecFrom, shellCommand, shellQuote, taskExitCode } from "../../../cli/commands/run.ts";
import { TaskState, type TaskStatus } from "../../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

function status(state: TaskStatus["state"], extra: Partial<TaskStatus> = {}): TaskStatus {
  return { taskId: "t", state, timestamp: 0, ...extra };
}

test("run - one argument is a shell command line; several are quoted word by word", (t) => {
  t.is(shellCommand(["echo hello | wc -c"]), "echo hello | wc -c");
  t.is(shellCommand(["sh", "-c", "exit 3"]), "sh -c 'exit 3'");
  t.is(shellCommand(["echo", "it's"]), "echo 'it'\\''s'");
  t.is(shellQuote(""), "''");
  t.is(shellQuote("a/b.c=d"), "a/b.c=d");
});

test("run - exit codes follow the task's end", (t) => {
  t.is(taskExitCode(status(TaskState.Finished, { exitCode: 0 })), 0);
  t.is(taskExitCode(status(TaskState.Failed, { exitCode: 3 })), 3);
  t.is(taskExitCode(status(TaskState.Failed, { signal: "SIGKILL" })), 137);
  t.is(taskExitCode(status(TaskState.Failed)), 1);
  t.is(taskExitCode(status(TaskState.Killed, { signal: "SIGTERM" })), 143);
  t.is(taskExitCode(status(TaskState.Killed)), 1);
  for (const s of [TaskState.Lost, TaskState.Error, TaskState.Dropped, TaskState.Gone]) {
    t.is(taskExitCode(status(s)), 1, s);
  }
});

const base = {
  nats: "nats://127.0.0.1:4222",
  prefix: "agora",
  name: "agora-run",
  resources: "cpus:1;mem:128",
  role: "*",
  env: undefined,
  killAfter: undefined,
  killGracePeriod: undefined,
  healthCmd: undefined,
  healthDelay: undefined,
  healthInterval: undefined,
  healthTimeout: undefined,
  healthRetries: undefined,
  healthStartPeriod: undefined,
  uri: undefined,
  uriExecutable: undefined,
  uriCache: false,
  group: undefined,
  unreachableTimeout: 45_000,
  creds: undefined,
  nkey: undefined,
  user: undefined,
  password: undefined,
  token: undefined,
  tlsCa: undefined,
  tlsCert: undefined,
  tlsKey: undefined,
  principal: undefined,
};

test("run - runSpecFrom checks the command line", (t) => {
  const spec = runSpecFrom({ ...base, env: ["A=1", "B=x=y"], killGracePeriod: 1500 }, ["true"]);
  t.deepEqual(spec.environment, { A: "1", B: "x=y" });
  t.is(spec.killGracePeriodSeconds, 1.5);
  t.is(spec.need.toString(), "cpus:1;mem:128");
  const usage = (values: Partial<typeof base>, positionals = ["true"]) => {
    const err = t.throws(() => runSpecFrom({ ...base, ...values }, positionals));
    t.true(err instanceof AgoraError);
    t.is((err as AgoraError).code, ErrorCode.InvalidConfig);
    return err!.message;
  };
  t.regex(usage({}, []), /no command/);
  t.regex(usage({ resources: "cpus:" }), /--resources/);
  t.regex(usage({ resources: "" }), /--resources/);
  t.regex(usage({ role: "bad role" }), /--role/);
  t.regex(usage({ env: ["1A=x"] as unknown as undefined }), /--env/);
  t.regex(usage({ name: " " }), /--name/);
  t.is(spec.unreachableTimeoutMs, 45_000);
});

test("run - --health-cmd and its tuning flags map to a COMMAND health check", (t) => {
  t.is(runSpecFrom(base, ["true"]).healthCheck, undefined);
  const spec = runSpecFrom(
    {
      ...base,
      healthCmd: "curl -f localhost:8080",
      healthDelay: 0,
      healthInterval: 500,
      healthTimeout: 2000,
      healthRetries: 2,
      healthStartPeriod: 1500,
    },
    ["true"],
  );
  t.deepEqual(spec.healthCheck, {
    type: "COMMAND",
    command: { value: "curl -f localhost:8080", shell: true },
    delaySeconds: 0,
    intervalSeconds: 0.5,
    timeoutSeconds: 2,
    consecutiveFailures: 2,
    gracePeriodSeconds: 1.5,
  });
  t.deepEqual(runSpecFrom({ ...base, healthCmd: "true" }, ["true"]).healthCheck, {
    type: "COMMAND",
    command: { value: "true", shell: true },
  });
  const usage = (values: Record<string, unknown>) => {
    const err = t.throws(() => runSpecFrom({ ...base, ...values }, ["true"]));
    t.is((err as AgoraError).code, ErrorCode.InvalidConfig);
    return err!.message;
  };
  t.regex(usage({ healthInterval: 500 }), /--health-interval needs --health-cmd/);
  t.regex(usage({ healthCmd: " " }), /--health-cmd/);
  t.regex(usage({ healthCmd: "true", healthRetries: 0 }), /--health-\*.*consecutiveFailures/);
});

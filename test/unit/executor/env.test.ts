import test from "ava";
import { executorEnvironment } from "../../../actors/agent/launcher.ts";
import { resolveExecutorConfig } from "../../../actors/executor/config.ts";
import { EXECUTOR_ENV } from "../../../actors/shared/executor-env.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

const values = {
  natsUrl: "nats://127.0.0.1:4222",
  subjectPrefix: "agora",
  agentId: "a1",
  agentPrincipal: "agents",
  token: "secret-token",
  frameworkId: "f1",
  executorId: "e1",
  sandbox: "/sandbox",
  logLevel: "info",
  shutdownGracePeriodMs: 3000,
  recoveryTimeoutMs: 90_000,
};

test("executor env - what the agent sets, the executor reads back", (t) => {
  const env = executorEnvironment(values, { EXTRA: "1" }, { PATH: "/bin", AGORA_AGENT_ID: "old" });
  t.is(env.PATH, "/bin");
  t.is(env.EXTRA, "1");
  t.is(env[EXECUTOR_ENV.agentId], "a1");
  t.is(env[EXECUTOR_ENV.agentPrincipal], "agents");
  t.is(env[EXECUTOR_ENV.token], "secret-token");
  t.is(env[EXECUTOR_ENV.shutdownGracePeriod], "3000ms");
  t.is(env[EXECUTOR_ENV.recoveryTimeout], "90000ms");
  t.deepEqual(resolveExecutorConfig(env), { ...values, credentials: {} });
});

test("executor env - the agent's credential is replaced by the executor credential", (t) => {
  const env = executorEnvironment(
    { ...values, credentials: { nkey: "/agent/executor.nk", principal: "executor" } },
    { AGORA_NATS_PASSWORD: "from-the-command" },
    { AGORA_NKEY: "/agent/agents.nk", AGORA_PRINCIPAL: "agents", AGORA_NATS_TOKEN: "t0ken" },
  );
  t.is(env.AGORA_NKEY, "/agent/executor.nk");
  t.is(env.AGORA_PRINCIPAL, "executor");
  t.is(env.AGORA_NATS_TOKEN, undefined);
  t.is(env.AGORA_NATS_PASSWORD, undefined);
  t.deepEqual(resolveExecutorConfig(env).credentials, {
    nkey: "/agent/executor.nk",
    principal: "executor",
  });
});

test("executor env - the agent's variables win over the executor command's", (t) => {
  const env = executorEnvironment(values, { AGORA_EXECUTOR_ID: "spoofed" }, {});
  t.is(env.AGORA_EXECUTOR_ID, "e1");
});

test("executor env - defaults for the optional variables", (t) => {
  const env = resolveExecutorConfig({
    AGORA_NATS_URL: "nats://h:1",
    AGORA_AGENT_ID: "a",
    AGORA_FRAMEWORK_ID: "f",
    AGORA_EXECUTOR_ID: "e",
  });
  t.is(env.subjectPrefix, "agora");
  t.is(env.logLevel, "info");
  t.is(env.sandbox, process.cwd());
  t.is(env.shutdownGracePeriodMs, 5000);
  t.is(env.recoveryTimeoutMs, 15 * 60_000);
});

test("executor env - missing or bad variables are INVALID_CONFIG errors", (t) => {
  const base = {
    AGORA_NATS_URL: "nats://h:1",
    AGORA_AGENT_ID: "a",
    AGORA_FRAMEWORK_ID: "f",
    AGORA_EXECUTOR_ID: "e",
  };
  for (const env of [
    { ...base, AGORA_NATS_URL: undefined },
    { ...base, AGORA_AGENT_ID: "" },
    { ...base, AGORA_EXECUTOR_ID: "a.b" },
    { ...base, AGORA_SHUTDOWN_GRACE_PERIOD: "soon" },
  ]) {
    const err = t.throws(() => resolveExecutorConfig(env), { instanceOf: AgoraError });
    t.is(err?.code, ErrorCode.InvalidConfig);
  }
});

test("executor env - the agent's own AGORA_* and NATS_* variables (its credential) are not passed on", (t) => {
  const env = executorEnvironment(
    values,
    {},
    {
      PATH: "/bin",
      AGORA_CREDS: "/etc/agora/agent.creds",
      NATS_PASSWORD: "secret",
    },
  );
  t.is(env.PATH, "/bin");
  t.is(env.AGORA_CREDS, undefined);
  t.is(env.NATS_PASSWORD, undefined);
  t.is(env[EXECUTOR_ENV.agentId], "a1");
});

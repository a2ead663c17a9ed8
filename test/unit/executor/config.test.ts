import test from "ava";
import { resolveExecutorConfig } from "../../../actors/executor/config.ts";
import { AgoraError } from "../../../protocol/errors.ts";

const BASE = {
  AGORA_NATS_URL: "nats://h:1",
  AGORA_AGENT_ID: "a",
  AGORA_FRAMEWORK_ID: "f",
  AGORA_EXECUTOR_ID: "e",
};

test("executor config - read once from the agent's variables: defaults, then the variables", (t) => {
  const defaults = resolveExecutorConfig(BASE);
  t.like(defaults, { subjectPrefix: "agora", logLevel: "info", shutdownGracePeriodMs: 5000 });
  const given = resolveExecutorConfig({
    ...BASE,
    AGORA_SUBJECT_PREFIX: "c2",
    AGORA_LOG_LEVEL: "debug",
    AGORA_SHUTDOWN_GRACE_PERIOD: "2500ms",
    AGORA_NKEY: "/x/executor.nk",
    AGORA_PRINCIPAL: "executor",
  });
  t.like(given, { subjectPrefix: "c2", logLevel: "debug", shutdownGracePeriodMs: 2500 });
  t.deepEqual(given.credentials, { nkey: "/x/executor.nk", principal: "executor" });
});

test("executor config - a bad variable is named in one line", (t) => {
  const message = (env: Record<string, string | undefined>) =>
    t.throws(() => resolveExecutorConfig(env), { instanceOf: AgoraError })?.message;
  t.is(
    message({ ...BASE, AGORA_AGENT_ID: undefined }),
    "AGORA_AGENT_ID is not set: an executor is started by an agora agent",
  );
  t.is(message({ ...BASE, AGORA_EXECUTOR_ID: "a.b" }), "AGORA_EXECUTOR_ID is not a valid id: a.b");
  t.is(
    message({ ...BASE, AGORA_RECOVERY_TIMEOUT: "0ms" }),
    "AGORA_RECOVERY_TIMEOUT must be at least 1ms, got 0ms",
  );
  t.is(
    message({ ...BASE, AGORA_LOG_LEVEL: "chatty" }),
    'AGORA_LOG_LEVEL must be fatal, error, warn, info, debug, trace or silent, got "chatty"',
  );
});

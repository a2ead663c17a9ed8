import os from "node:os";
import test from "ava";
import {
  AGENT_OPTIONS,
  parseAttributes,
  resolveAgentConfig,
} from "../../../actors/agent/config.ts";
import { formatHelp } from "../../../infra/config.ts";
import {
  DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
  DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD_MS,
  DEFAULT_REGISTRATION_BACKOFF_MS,
  DEFAULT_STATUS_UPDATE_RETRY_MAX_MS,
  DEFAULT_STATUS_UPDATE_RETRY_MIN_MS,
  DEFAULT_WORK_DIR,
} from "../../../infra/defaults.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

test("agent config - defaults", (t) => {
  const config = resolveAgentConfig({ env: {} });
  t.is(config.nats, "nats://127.0.0.1:4222");
  t.is(config.prefix, "agora");
  t.is(config.resources, undefined);
  t.is(config.attributes, undefined);
  t.is(config.workDir, DEFAULT_WORK_DIR);
  t.is(config.hostname, os.hostname());
  t.is(config.executorShutdownGracePeriod, DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD_MS);
  t.is(config.statusUpdateRetryMin, DEFAULT_STATUS_UPDATE_RETRY_MIN_MS);
  t.is(config.statusUpdateRetryMax, DEFAULT_STATUS_UPDATE_RETRY_MAX_MS);
  t.is(config.registrationBackoff, DEFAULT_REGISTRATION_BACKOFF_MS);
  t.is(config.executorRegistrationTimeout, DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS);
  t.is(DEFAULT_STATUS_UPDATE_RETRY_MIN_MS, 10_000);
  t.is(DEFAULT_STATUS_UPDATE_RETRY_MAX_MS, 600_000);
});

test("agent config - environment, then flags, then overrides", (t) => {
  const config = resolveAgentConfig({
    env: {
      AGORA_RESOURCES: "cpus:2",
      AGORA_ATTRIBUTES: "rack:r1",
      AGORA_WORK_DIR: "/from/env",
      AGORA_STATUS_UPDATE_RETRY_MIN: "100ms",
      AGORA_HOSTNAME: "env-host",
    },
    argv: [
      "--work-dir",
      "/from/flag",
      "--executor-shutdown-grace-period",
      "2s",
      "--resources",
      "cpus:3",
    ],
    overrides: { hostname: "code-host" },
  });
  t.is(config.resources, "cpus:3");
  t.is(config.attributes, "rack:r1");
  t.is(config.workDir, "/from/flag");
  t.is(config.statusUpdateRetryMin, 100);
  t.is(config.executorShutdownGracePeriod, 2000);
  t.is(config.hostname, "code-host");
});

test("agent config - durations in Mesos's forms", (t) => {
  const config = resolveAgentConfig({
    env: {},
    argv: ["--registration-backoff", "1secs", "--executor-registration-timeout", "1mins"],
  });
  t.is(config.registrationBackoff, 1000);
  t.is(config.executorRegistrationTimeout, 60_000);
});

test("agent config - bad values are INVALID_CONFIG errors", (t) => {
  for (const argv of [
    ["--status-update-retry-min", "soon"],
    ["--status-update-retry-min", "10s", "--status-update-retry-max", "1s"],
    ["--attributes", "rack"],
    ["--no-such-flag"],
  ]) {
    const err = t.throws(() => resolveAgentConfig({ env: {}, argv }), { instanceOf: AgoraError });
    t.is(err?.code, ErrorCode.InvalidConfig, argv.join(" "));
  }
});

test("agent config - attributes: numbers when numeric, text otherwise", (t) => {
  t.deepEqual(parseAttributes("rack:r1;zone:a;generation:3;weight:0.5;ver:1.2.3"), {
    rack: "r1",
    zone: "a",
    generation: 3,
    weight: 0.5,
    ver: "1.2.3",
  });
  t.deepEqual(parseAttributes(" rack : r1 ; ;"), { rack: "r1" });
  t.deepEqual(parseAttributes(undefined), {});
  t.deepEqual(parseAttributes("range:[1-10]"), { range: "[1-10]" });
});

test("agent config - help lists every flag with its environment variable", (t) => {
  const help = formatHelp("agora agent [options]", "Runs an agent.", AGENT_OPTIONS);
  for (const flag of [
    "--resources",
    "--attributes",
    "--work-dir",
    "--hostname",
    "--executor-shutdown-grace-period",
    "--status-update-retry-min",
    "--status-update-retry-max",
    "--registration-backoff",
    "--executor-registration-timeout",
    "--nats",
  ]) {
    t.true(help.includes(flag), flag);
  }
  t.true(help.includes("AGORA_RESOURCES"));
});

test("agent config - stages: default, AGORA_* over it, flag over that; bad values name the flag or variable", (t) => {
  t.is(resolveAgentConfig({ env: {} }).usageInterval, 10_000);
  t.is(resolveAgentConfig({ env: { AGORA_USAGE_INTERVAL: "2s" } }).usageInterval, 2000);
  t.is(
    resolveAgentConfig({ env: { AGORA_USAGE_INTERVAL: "2s" }, argv: ["--usage-interval", "750ms"] })
      .usageInterval,
    750,
  );
  const message = (input: Parameters<typeof resolveAgentConfig>[0]) =>
    t.throws(() => resolveAgentConfig(input), { instanceOf: AgoraError })?.message;
  t.is(
    message({ env: {}, argv: ["--usage-interval", "0s"] }),
    "--usage-interval must be at least 1ms, got 0s",
  );
  t.is(
    message({ env: { AGORA_RECOVER: "restart" } }),
    'AGORA_RECOVER must be reconnect or cleanup, got "restart"',
  );
  t.is(
    message({ env: {}, argv: ["--executor-reregistration-timeout", "20s"] }),
    "--executor-reregistration-timeout must be at most 15000ms, got 20s",
  );
  t.is(
    message({ env: {}, overrides: { cgroupsMaxPids: 0 } }),
    "--cgroups-max-pids must be at least 1, got 0",
  );
});

import { TypeCompiler } from "@sinclair/typebox/compiler";
import test from "ava";
import { MASTER_OPTIONS, resolveMasterConfig } from "../../../actors/master/config.ts";
import { generateMasterId } from "../../../actors/master/core.ts";
import { formatHelp } from "../../../infra/config.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { MasterState } from "../../../protocol/operator.ts";
import { isValidId } from "../../../protocol/subjects.ts";
import { acceptCall, Harness, task } from "./harness.ts";

test("config - Mesos defaults, in milliseconds", (t) => {
  const config = resolveMasterConfig({ env: {} });
  t.like(config, {
    nats: "nats://127.0.0.1:4222",
    prefix: "agora",
    policy: "drf",
    allocationInterval: 1000,
    agentPingTimeout: 15_000,
    maxAgentPingTimeouts: 5,
    offerTimeout: 0,
    frameworkHeartbeatInterval: 15_000,
    frameworkFailoverTimeout: 0,
  });
  t.is(config.masterId, undefined);
});

test("config - high availability flags and their defaults", (t) => {
  t.like(resolveMasterConfig({ env: {} }), {
    leaderLease: 1500,
    agentReregisterTimeout: 600_000,
    recoveryAgentFraction: 0.8,
    registry: "kv",
    registryReplicas: 1,
  });
  t.like(
    resolveMasterConfig({
      env: {},
      argv: [
        "--leader-lease",
        "2s",
        "--agent-reregister-timeout",
        "30s",
        "--recovery-agent-fraction",
        "1",
        "--registry",
        "memory",
        "--registry-replicas",
        "3",
      ],
    }),
    {
      leaderLease: 2000,
      agentReregisterTimeout: 30_000,
      recoveryAgentFraction: 1,
      registry: "memory",
      registryReplicas: 3,
    },
  );
  for (const [flag, value] of [
    ["--recovery-agent-fraction", "1.5"],
    ["--registry", "zookeeper"],
    ["--registry-replicas", "0"],
    ["--leader-lease", "0ms"],
  ] as const) {
    const err = t.throws(() => resolveMasterConfig({ env: {}, argv: [flag, value] }), {
      instanceOf: AgoraError,
    });
    t.is(err?.code, ErrorCode.InvalidConfig);
    t.true(err?.message.includes(flag), err?.message);
  }
  const help = formatHelp("agora master", "", MASTER_OPTIONS);
  for (const flag of [
    "--leader-lease",
    "--agent-reregister-timeout",
    "--recovery-agent-fraction",
    "--registry-replicas",
  ]) {
    t.true(help.includes(flag), flag);
  }
});

test("config - environment, then flags", (t) => {
  const config = resolveMasterConfig({
    env: { AGORA_ALLOCATION_INTERVAL: "250ms", AGORA_MASTER_ID: "env-id", AGORA_POLICY: "drf" },
    argv: ["--master-id", "flag-id", "--offer-timeout", "30s", "--max-agent-ping-timeouts", "2"],
  });
  t.like(config, {
    allocationInterval: 250,
    masterId: "flag-id",
    offerTimeout: 30_000,
    maxAgentPingTimeouts: 2,
  });
  t.regex(formatHelp("agora master", "", MASTER_OPTIONS), /--allocation-interval DURATION/);
});

test("config - out-of-range values are INVALID_CONFIG naming the flag", (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["--allocation-interval", "0s"], /--allocation-interval/],
    [["--max-agent-ping-timeouts", "0"], /--max-agent-ping-timeouts/],
    [["--master-id", "a.b"], /--master-id/],
    [["--agent-ping-timeout", "soon"], /agent-ping-timeout/],
  ];
  for (const [argv, message] of cases) {
    const err = t.throws(() => resolveMasterConfig({ env: {}, argv }), { instanceOf: AgoraError });
    t.is(err?.code, ErrorCode.InvalidConfig);
    t.regex(err?.message ?? "", message);
  }
});

test("config - min allocatable resources: Mesos's default, the flag, a bad value names the flag", (t) => {
  t.is(resolveMasterConfig({ env: {} }).minAllocatableResources, "cpus:0.01|mem:32");
  t.is(
    resolveMasterConfig({
      env: { AGORA_MIN_ALLOCATABLE_RESOURCES: "mem:64" },
      argv: ["--min-allocatable-resources", "cpus:1;mem:256|gpus:1"],
    }).minAllocatableResources,
    "cpus:1;mem:256|gpus:1",
  );
  const err = t.throws(
    () => resolveMasterConfig({ env: {}, argv: ["--min-allocatable-resources", "cpus:0"] }),
    { instanceOf: AgoraError },
  );
  t.is(err?.code, ErrorCode.InvalidConfig);
  t.regex(err?.message ?? "", /^--min-allocatable-resources: .*positive number/);
});

test("config - generated master ids are valid subject tokens", (t) => {
  const id = generateMasterId(Date.UTC(2025, 0, 2, 3, 4, 5));
  t.regex(id, /^20250102-030405-[0-9a-f]{6}$/);
  t.true(isValidId(id));
});

test("state - the state JSON matches the MasterState schema", (t) => {
  const h = new Harness();
  const fid = h.addFramework({ roles: ["*", "web"] });
  const aid = h.addAgent({ cpus: 4, mem: 4096, ports: [[31000, 32000]] });
  h.flush();
  const offer = h.offersTo(fid)[0]!;
  h.call(fid, acceptCall([offer.offerId], [task("t1", aid, { cpus: 1, ports: [[31000, 31000]] })]));
  h.update(aid, fid, { taskId: "t1", state: "TASK_RUNNING", executorId: "t1" });
  const state = h.state();
  const check = TypeCompiler.Compile(MasterState);
  t.true(check.Check(state), JSON.stringify(check.Errors(state).First()));
  t.like(state, { masterId: "m", leader: true, policy: "drf", startTime: h.clock.now() });
  t.deepEqual(state.frameworks[0]?.tasks[0], {
    id: "t1",
    name: "t1",
    state: "TASK_RUNNING",
    agentId: aid,
    resources: { cpus: 1, ports: [[31000, 31000]] },
    role: offer.role,
    executorId: "t1",
  });
  t.deepEqual(state.agents[0]?.used, { cpus: 1, ports: [[31000, 31000]] });
  t.deepEqual(Object.keys(state.roles).sort(), ["*", "web"]);
  t.deepEqual(JSON.parse(JSON.stringify(state)), state, "plain JSON");
});

test("config - stages: default, AGORA_* over it, flag over that; bad values name the flag or variable", (t) => {
  t.is(resolveMasterConfig({ env: {} }).offerTimeout, 0);
  t.is(resolveMasterConfig({ env: { AGORA_OFFER_TIMEOUT: "30s" } }).offerTimeout, 30_000);
  t.is(
    resolveMasterConfig({ env: { AGORA_OFFER_TIMEOUT: "30s" }, argv: ["--offer-timeout", "1m"] })
      .offerTimeout,
    60_000,
  );
  const message = (input: Parameters<typeof resolveMasterConfig>[0]) =>
    t.throws(() => resolveMasterConfig(input), { instanceOf: AgoraError })?.message;
  t.is(
    message({ env: {}, argv: ["--offer-timeout", "-5s"] }),
    "--offer-timeout must not be negative, got -5s",
  );
  t.is(
    message({ env: { AGORA_ALLOCATION_INTERVAL: "0ms" } }),
    "AGORA_ALLOCATION_INTERVAL must be at least 1ms, got 0ms",
  );
  t.is(
    message({ env: {}, argv: ["--registry", "zookeeper"] }),
    '--registry must be kv or memory, got "zookeeper"',
  );
  t.is(
    message({ env: {}, overrides: { maxAgentPingTimeouts: 0 } }),
    "--max-agent-ping-timeouts must be at least 1, got 0",
  );
  t.is(
    message({ env: {}, argv: ["--http-port", "70000"] }),
    "--http-port must be at most 65535, got 70000",
  );
  t.is(
    message({ env: { AGORA_LOG_LEVEL: "loud" } }),
    'AGORA_LOG_LEVEL must be fatal, error, warn, info, debug, trace or silent, got "loud"',
  );
});

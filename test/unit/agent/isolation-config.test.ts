import test from "ava";
import { isolationMode, resolveAgentConfig } from "../../../actors/agent/config.ts";
import { AgentContainers, containerResources } from "../../../actors/agent/containers.ts";
import type { Container, OomStatus } from "../../../actors/agent/isolation/index.ts";
import { memoryLimitation } from "../../../actors/agent/isolation/limits.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import type { TaskInfo } from "../../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

const MB = 1024 * 1024;

test("agent isolation config - defaults: auto, /sys/fs/cgroup, root agora, no CFS, no pids limit, no disk enforcement", (t) => {
  const c = resolveAgentConfig({ env: {} });
  t.is(isolationMode(c), "auto");
  t.is(c.cgroupsHierarchy, "/sys/fs/cgroup");
  t.is(c.cgroupsRoot, "agora");
  t.false(c.cgroupsEnableCfs);
  t.is(c.cgroupsMaxPids, undefined);
  t.false(c.enforceContainerDiskQuota);
  t.is(c.containerDiskWatchInterval, 15_000);
  t.is(c.usageInterval, 10_000);
});

test("agent isolation config - flags and environment", (t) => {
  const c = resolveAgentConfig({
    env: { AGORA_ISOLATION: "none", AGORA_CGROUPS_MAX_PIDS: "100" },
    argv: [
      "--cgroups-root",
      "x/y",
      "--cgroups-enable-cfs",
      "--enforce-container-disk-quota",
      "--container-disk-watch-interval",
      "2s",
      "--usage-interval",
      "500ms",
    ],
  });
  t.is(isolationMode(c), "none");
  t.is(c.cgroupsMaxPids, 100);
  t.is(c.cgroupsRoot, "x/y");
  t.true(c.cgroupsEnableCfs);
  t.true(c.enforceContainerDiskQuota);
  t.is(c.containerDiskWatchInterval, 2000);
  t.is(c.usageInterval, 500);
});

test("agent isolation config - bad values are INVALID_CONFIG", (t) => {
  for (const argv of [
    ["--isolation", "docker"],
    ["--cgroups-root", "/abs"],
    ["--cgroups-root", "a/../b"],
    ["--cgroups-max-pids", "0"],
  ]) {
    const err = t.throws(() => resolveAgentConfig({ env: {}, argv }), { instanceOf: AgoraError });
    t.is(err?.code, ErrorCode.InvalidConfig, argv.join(" "));
  }
});

function task(resources: TaskInfo["resources"], executor?: TaskInfo["executor"]): TaskInfo {
  return {
    taskId: "t",
    name: "t",
    agentId: "a",
    resources,
    ...(executor === undefined ? { command: { value: "true" } } : { executor }),
  };
}

test("agent containers - a command task's container: its resources plus 0.1 cpus and 32 MB for the executor", (t) => {
  t.deepEqual(containerResources(task({ cpus: 0.5, mem: 32, disk: 10 }), "command"), {
    resources: { cpus: 0.6, mem: 64, disk: 10 },
    overheadMem: 32,
  });
  // Nothing asked, nothing limited.
  t.deepEqual(containerResources(task({}), "command"), { resources: {}, overheadMem: 0 });
});

test("agent containers - a custom executor's own resources, or the allowance when it declares none", (t) => {
  const executor = { executorId: "e", command: { value: "x" }, resources: { cpus: 1, mem: 256 } };
  t.deepEqual(containerResources(task({ cpus: 1, mem: 128 }, executor), "custom"), {
    resources: { cpus: 2, mem: 384 },
    overheadMem: 256,
  });
  const bare = { executorId: "e", command: { value: "x" } };
  t.deepEqual(containerResources(task({ cpus: 1, mem: 128 }, bare), "custom").resources, {
    cpus: 1.1,
    mem: 160,
  });
});

function fakeContainer(oom: OomStatus): Container {
  return {
    id: "c",
    path: ["c"],
    wrap: (argv) => [...argv],
    procsFiles: () => [],
    child: async () => fakeContainer(oom),
    children: async () => [],
    pids: async () => [],
    stats: async () => ({ timestamp: 0 }),
    oom: async () => oom,
    killAll: async () => {},
    destroy: async () => {},
  };
}

test("agent containers - an OOM kill's limitation names the task's mem and the container's limit", async (t) => {
  const containers = new AgentContainers({
    config: {
      mode: "none",
      root: "agora",
      enableCfs: false,
      enforceDiskQuota: false,
      diskWatchIntervalMs: 1000,
    },
    clock: new VirtualClock(0),
    logger: silentLogger(),
    metrics: new Metrics(),
  });
  const killed: OomStatus = {
    killed: true,
    oomKills: 1,
    limitHits: 3,
    limitBytes: 64 * MB,
    limitation: memoryLimitation(64 * MB),
  };
  const limitation = await containers.limitation({
    id: "c",
    container: fakeContainer(killed),
    resources: { mem: 64 },
    overheadMem: 32,
  });
  t.is(limitation?.reason, "REASON_CONTAINER_LIMITATION_MEMORY");
  t.regex(
    limitation?.message ?? "",
    /^Memory limit of 32 MB exceeded: .*limit of 64 MB.*32 MB for its executor/,
  );
  const fine = await containers.limitation({
    id: "c",
    container: fakeContainer({ killed: false, oomKills: 0, limitHits: 0 }),
    resources: { mem: 64 },
    overheadMem: 32,
  });
  t.is(fine, undefined);
});

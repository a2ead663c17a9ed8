import test from "ava";
import {
  cfsQuotaUs,
  cpuShares,
  formatBytes,
  limitsFromResources,
  memoryLimitation,
  sharesToWeight,
  v1LimitWrites,
  v2LimitWrites,
} from "../../../actors/agent/isolation/limits.ts";

const MB = 1024 * 1024;

test("limits - cpu shares are cpus × 1024 with Mesos's floor of 2", (t) => {
  t.is(cpuShares(1), 1024);
  t.is(cpuShares(0.5), 512);
  t.is(cpuShares(0.1), 102);
  t.is(cpuShares(0.001), 2);
});

test("limits - cpu.weight maps shares linearly onto [1, 10000]", (t) => {
  t.is(sharesToWeight(2), 1);
  t.is(sharesToWeight(1024), 39);
  t.is(sharesToWeight(262_144), 10_000);
  t.is(sharesToWeight(1), 1);
  t.is(sharesToWeight(10_000_000), 10_000);
  // Twice the cpus, (about) twice the weight.
  t.true(Math.abs(sharesToWeight(cpuShares(4)) / sharesToWeight(cpuShares(2)) - 2) < 0.05);
});

test("limits - CFS quota per 100 ms period, at least 1 ms", (t) => {
  t.is(cfsQuotaUs(0.2), 20_000);
  t.is(cfsQuotaUs(2), 200_000);
  t.is(cfsQuotaUs(0.001), 1000);
});

test("limits - resources give shares always, a CFS quota only with enableCfs, pids.max when given", (t) => {
  t.deepEqual(limitsFromResources({ cpus: 0.5, mem: 64 }), { cpus: 0.5, memBytes: 64 * MB });
  t.deepEqual(limitsFromResources({ cpus: 0.5, mem: 64 }, { enableCfs: true, maxPids: 100 }), {
    cpus: 0.5,
    cpusQuota: 0.5,
    memBytes: 64 * MB,
    maxPids: 100,
  });
  t.deepEqual(limitsFromResources({ mem: 100 }, { memHighFraction: 0.9 }), {
    memBytes: 100 * MB,
    memHighBytes: 90 * MB,
  });
  t.deepEqual(limitsFromResources({}), {});
});

test("limits - v1 writes cpu.shares, the CFS pair, the memory limits and pids.max", (t) => {
  t.deepEqual(
    v1LimitWrites({ cpus: 0.2, cpusQuota: 0.2, memBytes: 16 * MB, maxPids: 8 }).map(
      (w) => `${w.controller}:${w.file}=${w.value}`,
    ),
    [
      "cpu:cpu.shares=204",
      "cpu:cpu.cfs_period_us=100000",
      "cpu:cpu.cfs_quota_us=20000",
      // Below Mesos's MIN_MEMORY the limit is raised to 32 MB.
      `memory:memory.limit_in_bytes=${32 * MB}`,
      `memory:memory.soft_limit_in_bytes=${32 * MB}`,
      "pids:pids.max=8",
    ],
  );
  t.deepEqual(
    v1LimitWrites({ memBytes: 64 * MB, memHighBytes: 48 * MB }).map((w) => `${w.file}=${w.value}`),
    [`memory.limit_in_bytes=${64 * MB}`, `memory.soft_limit_in_bytes=${48 * MB}`],
  );
});

test("limits - v2 writes cpu.weight, cpu.max, memory.max, memory.high and pids.max", (t) => {
  t.deepEqual(
    v2LimitWrites({
      cpus: 1,
      cpusQuota: 1,
      memBytes: 64 * MB,
      memHighBytes: 60 * MB,
      maxPids: 8,
    }).map((w) => `${w.file}=${w.value}`),
    [
      "cpu.weight=39",
      "cpu.max=100000 100000",
      `memory.max=${64 * MB}`,
      `memory.high=${60 * MB}`,
      "pids.max=8",
    ],
  );
  t.deepEqual(v2LimitWrites({}), []);
});

test("limits - the memory limitation message names the limit", (t) => {
  t.is(formatBytes(64 * MB), "64 MB");
  t.is(formatBytes(1.5 * MB), `1.5 MB (${1.5 * MB} bytes)`);
  const l = memoryLimitation(64 * MB);
  t.is(l.reason, "REASON_CONTAINER_LIMITATION_MEMORY");
  t.is(l.resource, "mem");
  t.is(l.message, "Memory limit exceeded: the container was OOM-killed at its limit of 64 MB");
});

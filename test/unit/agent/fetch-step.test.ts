import test from "ava";
import { resolveAgentConfig } from "../../../actors/agent/config.ts";
import { fetchPlan } from "../../../actors/agent/fetch-step.ts";
import type { TaskInfo } from "../../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

const base: TaskInfo = { taskId: "t1", name: "t", agentId: "a1", resources: { cpus: 1 } };

test("fetch step - the command executor fetches its task's uris, bounded by the task's disk", (t) => {
  const task: TaskInfo = {
    ...base,
    resources: { cpus: 1, disk: 64, "disk(web)": 16 },
    command: { value: "./x.sh", uris: [{ value: "http://h/x.tar.gz" }] },
  };
  t.deepEqual(fetchPlan("command", task), {
    uris: [{ value: "http://h/x.tar.gz" }],
    maxBytes: 80 * 1024 * 1024,
  });
  const noDisk = { ...task, resources: { cpus: 1 } };
  t.is(fetchPlan("command", noDisk).maxBytes, undefined, "no disk: the fetcher's own bound");
  t.deepEqual(fetchPlan("command", { ...base, command: { value: "true" } }).uris, []);
  t.deepEqual(fetchPlan("command", undefined).uris, []);
});

test("fetch step - a custom executor fetches its ExecutorInfo's uris, with its own disk", (t) => {
  const task: TaskInfo = {
    ...base,
    resources: { disk: 10 },
    executor: {
      executorId: "e1",
      command: { value: "./exec", uris: [{ value: "/opt/exec", executable: true }] },
      resources: { disk: 5 },
    },
  };
  t.deepEqual(fetchPlan("custom", task), {
    uris: [{ value: "/opt/exec", executable: true }],
    maxBytes: 15 * 1024 * 1024,
  });
});

test("fetch step - the agent's fetcher flags resolve and are checked", (t) => {
  const config = resolveAgentConfig({
    argv: ["--fetcher-cache-size", "512MB", "--fetcher-stall-timeout", "5s"],
    env: {},
  });
  t.is(config.fetcherCacheSize, "512MB");
  t.is(config.fetcherStallTimeout, 5000);
  t.regex(config.fetcherCacheDir, /agora[/\\]fetch$/);
  t.is(resolveAgentConfig({ env: {} }).fetcherCacheSize, "2GB");
  const err = t.throws(() =>
    resolveAgentConfig({ argv: ["--fetcher-cache-size", "lots"], env: {} }),
  );
  t.true(err instanceof AgoraError && err.code === ErrorCode.InvalidConfig);
  t.regex(err!.message, /--fetcher-cache-size/);
});

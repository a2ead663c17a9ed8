import { existsSync } from "node:fs";
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { AtomicFiles } from "../../../actors/agent/atomic-file.ts";
import { reconfigurationError } from "../../../actors/agent/reconfiguration.ts";
import { AgentStateStore, type TaskCheckpoint } from "../../../actors/agent/state-store.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { TaskState } from "../../../protocol/common.ts";

async function store() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-store-"));
  const metrics = new Metrics();
  return { dir, metrics, store: new AgentStateStore(dir, silentLogger(), metrics) };
}

const framework = { frameworkId: "fw/1", name: "test", role: "*" };

function taskCheckpoint(taskId: string, state: TaskState = TaskState.Running): TaskCheckpoint {
  const status = {
    taskId,
    state,
    uuid: `u-${taskId}`,
    timestamp: 1,
    data: new Uint8Array([1, 2, 250]),
  };
  return {
    frameworkId: framework.frameworkId,
    executorId: "ex-1",
    role: "*",
    task: { taskId, name: taskId, agentId: "a1", resources: { cpus: 1 }, command: { value: "x" } },
    status,
    launched: true,
    killed: false,
    pending: [status],
    acked: ["u-0"],
  };
}

test("checkpoint store - frameworks, executors and tasks read back as written, bytes included", async (t) => {
  const { dir, store: s } = await store();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await s.saveFramework(framework);
  const executor = {
    framework,
    executorId: "ex-1",
    kind: "command" as const,
    pid: 4242,
    startTime: 17,
    session: 4242,
    sandbox: "/sb",
  };
  await s.saveExecutor(executor);
  await s.saveTask(framework.frameworkId, "ex-1", "t1", () => taskCheckpoint("t1"));
  const state = await s.load();
  t.deepEqual(state.frameworks, [framework]);
  t.is(state.executors.length, 1);
  t.deepEqual(state.executors[0]?.executor, executor);
  t.deepEqual(state.executors[0]?.tasks, [taskCheckpoint("t1")]);
  // Ids are percent-encoded into path segments.
  t.deepEqual(await readdir(path.join(dir, "meta", "frameworks")), ["fw%2F1"]);
  await s.removeTask(framework.frameworkId, "ex-1", "t1");
  t.deepEqual((await s.load()).executors[0]?.tasks, []);
  await s.removeExecutor(framework.frameworkId, "ex-1");
  t.deepEqual((await s.load()).executors, []);
});

test("checkpoint store - a torn or invalid journal line is counted and skipped, the rest is read; the journal is compacted", async (t) => {
  const { dir, store: s, metrics } = await store();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await s.saveFramework(framework);
  await s.saveTask(framework.frameworkId, "ex-1", "t1", () => taskCheckpoint("t1"));
  await s.saveTask(framework.frameworkId, "ex-1", "t2", () => taskCheckpoint("t2"));
  await s.saveTask(framework.frameworkId, "ex-1", "t3", () => taskCheckpoint("t3"));
  await s.saveTask(framework.frameworkId, "ex-1", "t3", () =>
    taskCheckpoint("t3", TaskState.Finished),
  );
  const journal = s.journalFile(framework.frameworkId, "ex-1");
  // t2's latest line is not of the schema; a crash in the middle of an append tore the last one
  await appendFile(journal, '{"taskId":"t2","task":{"frameworkId":3}}\n{"taskId":"t1","ta');
  // an older agent's per-task file is read and folded into the journal
  const legacy = path.join(s.executorDir(framework.frameworkId, "ex-1"), "tasks");
  await mkdir(legacy, { recursive: true });
  await writeFile(
    path.join(legacy, "t4.json"),
    JSON.stringify(taskCheckpoint("t4"), (_k, v) =>
      v instanceof Uint8Array ? { $bytes: Buffer.from(v).toString("base64") } : v,
    ),
  );
  // a crash in the middle of a write leaves a temporary file: removed, never read
  await writeFile(path.join(legacy, "t5.json.123.tmp"), "{");
  const state = await s.load();
  t.is(state.executors.length, 1);
  // The executor's own file is missing: it cannot be found again, its tasks are still read.
  t.is(state.executors[0]?.executor, undefined);
  const tasks = state.executors[0]?.tasks ?? [];
  t.deepEqual(tasks.map((x) => x.task.taskId).sort(), ["t1", "t3", "t4"]);
  t.is(tasks.find((x) => x.task.taskId === "t3")?.status.state, TaskState.Finished);
  t.is(metrics.snapshot().checkpoint_files_corrupt, 2);
  t.false(existsSync(legacy));
  // compacted: one line per task it holds (t2's invalid line stays, to be read as it is)
  const lines = (await readFile(journal, "utf8")).trim().split("\n");
  t.is(lines.length, 4);
  t.deepEqual((await s.load()).executors[0]?.tasks.map((x) => x.task.taskId).sort(), [
    "t1",
    "t3",
    "t4",
  ]);
});

test("checkpoint store - the changes of many tasks share one journal append and fdatasync", async (t) => {
  const { dir, store: s, metrics } = await store();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await s.saveTask(framework.frameworkId, "ex-1", "t0", () => taskCheckpoint("t0"));
  const before = metrics.snapshot().checkpoint_fsyncs ?? 0;
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      s.saveTask(framework.frameworkId, "ex-1", `t${i}`, () => taskCheckpoint(`t${i}`)),
    ),
  );
  t.is((metrics.snapshot().checkpoint_fsyncs ?? 0) - before, 1);
  await s.removeTask(framework.frameworkId, "ex-1", "t7");
  // a task the journal never held costs nothing
  await s.removeTask(framework.frameworkId, "ex-1", "never");
  t.is((metrics.snapshot().checkpoint_fsyncs ?? 0) - before, 2);
  const tasks = (await s.load()).executors[0]?.tasks ?? [];
  t.is(tasks.length, 99);
  t.false(tasks.some((x) => x.task.taskId === "t7"));
});

test("checkpoint store - writes of one file are coalesced and atomic; the content is taken when the write starts", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-atomic-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files = new AtomicFiles();
  const file = path.join(dir, "a", "x.json");
  let value = 0;
  const writes = Array.from({ length: 50 }, () => {
    value++;
    return files.write(file, () => `${value}`);
  });
  await Promise.all(writes);
  t.is(await readFile(file, "utf8"), "50");
  // One write for the burst: the file is new (file + directory fsync).
  t.is(files.fsyncs, 2);
  await files.write(file, () => "51");
  t.is(files.fsyncs, 3);
  t.deepEqual(await readdir(path.dirname(file)), ["x.json"]);
  await files.remove(file);
  t.deepEqual(await readdir(path.dirname(file)), []);
});

test("checkpoint store - new files of one directory share its fsync; a removed directory is made again", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-atomic-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files = new AtomicFiles();
  const names = Array.from({ length: 20 }, (_, i) => path.join(dir, "tasks", `t${i}.json`));
  await Promise.all(names.map((f, i) => files.write(f, () => `${i}`)));
  t.deepEqual(
    (await readdir(path.join(dir, "tasks"))).sort(),
    names.map((f) => path.basename(f)).sort(),
  );
  // a file's own fsync each; the directory's fsyncs are shared (fewer than one per file)
  t.true(files.fsyncs >= 21 && files.fsyncs < 40, String(files.fsyncs));
  await rm(path.join(dir, "tasks"), { recursive: true });
  await files.write(names[0]!, () => "again");
  t.is(await readFile(names[0]!, "utf8"), "again");
});

test("reconfiguration policy - equal refuses any change, additive only additions", (t) => {
  const was = {
    resources: { cpus: 4, mem: 4096, ports: [[31000, 32000]] as [number, number][] },
    attributes: { rack: "r1" },
  };
  t.is(reconfigurationError("equal", was, was), undefined);
  t.regex(
    reconfigurationError("equal", was, { ...was, resources: { ...was.resources, cpus: 8 } }) ?? "",
    /^--reconfiguration-policy equal refuses the changed agent info \(cpus 4 → 8\)/,
  );
  const more = {
    resources: { cpus: 8, mem: 4096, gpus: 1, ports: [[30000, 33000]] as [number, number][] },
    attributes: { rack: "r1", zone: "a" },
  };
  t.is(reconfigurationError("additive", was, more), undefined);
  t.regex(
    reconfigurationError("additive", was, { ...was, resources: { ...was.resources, cpus: 2 } }) ??
      "",
    /cpus 4 → 2/,
  );
  t.regex(
    reconfigurationError("additive", was, { ...was, attributes: { rack: "r2" } }) ?? "",
    /attribute rack/,
  );
  t.regex(
    reconfigurationError("additive", was, { resources: { cpus: 4, mem: 4096 }, attributes: {} }) ??
      "",
    /ports removed/,
  );
});

import { existsSync } from "node:fs";
import { mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { fileCheckpointStore } from "../../../actors/agent/checkpoint.ts";
import { commandExecutorProgram } from "../../../actors/agent/launcher.ts";
import { commandProgram } from "../../../actors/shared/programs.ts";
import { createSandbox, executorDir } from "../../../actors/shared/sandbox.ts";

test("launcher - a shell command runs through /bin/sh -c, a program with its arguments", (t) => {
  t.deepEqual(commandProgram({ value: "echo hi | wc -c" }), {
    file: "/bin/sh",
    args: ["-c", "echo hi | wc -c"],
  });
  t.deepEqual(commandProgram({ value: "/bin/echo", shell: false, arguments: ["a", "b"] }), {
    file: "/bin/echo",
    args: ["a", "b"],
  });
  t.deepEqual(commandProgram({ value: "/bin/true", shell: false }), {
    file: "/bin/true",
    args: [],
  });
});

test("launcher - without a bundle, the command executor runs on this Node through tsx from the sources", (t) => {
  const program = commandExecutorProgram();
  t.is(program.file, process.execPath);
  t.is(program.args[0], "--import");
  t.true(program.args[1]?.startsWith("file:"));
  t.true(program.args[2]?.endsWith(path.join("actors", "executor", "command-executor.ts")));
  t.true(existsSync(program.args[2]!));
});

test("sandbox - Mesos's layout, one numbered run per launch, latest pointing at the newest", async (t) => {
  const workDir = await mkdtemp(path.join(os.tmpdir(), "agora-sandbox-"));
  t.teardown(() => rm(workDir, { recursive: true, force: true }));
  const first = await createSandbox(workDir, "a1", "f1", "e/1");
  const second = await createSandbox(workDir, "a1", "f1", "e/1");
  const base = executorDir(workDir, "a1", "f1", "e/1");
  t.is(base, path.join(workDir, "slaves", "a1", "frameworks", "f1", "executors", "e%2F1"));
  t.is(first, path.join(base, "runs", "0"));
  t.is(second, path.join(base, "runs", "1"));
  t.is(await readlink(path.join(base, "runs", "latest")), "1");
});

test("checkpoint - the agent id survives in <work-dir>/meta/agent.json", async (t) => {
  const workDir = await mkdtemp(path.join(os.tmpdir(), "agora-meta-"));
  t.teardown(() => rm(workDir, { recursive: true, force: true }));
  const store = fileCheckpointStore(workDir);
  t.is(await store.loadAgent(), undefined);
  await store.saveAgent({ agentId: "a-1", hostname: "h", registeredAt: 5 });
  t.deepEqual(await fileCheckpointStore(workDir).loadAgent(), {
    agentId: "a-1",
    hostname: "h",
    registeredAt: 5,
  });
  const json = JSON.parse(await readFile(path.join(workDir, "meta", "agent.json"), "utf8"));
  t.is(json.agentId, "a-1");
  await store.clearAgent();
  t.is(await store.loadAgent(), undefined);
});

test("checkpoint - a corrupt or hostile checkpoint is ignored", async (t) => {
  const workDir = await mkdtemp(path.join(os.tmpdir(), "agora-meta-"));
  t.teardown(() => rm(workDir, { recursive: true, force: true }));
  const store = fileCheckpointStore(workDir);
  const { mkdir, writeFile } = await import("node:fs/promises");
  await mkdir(path.join(workDir, "meta"));
  await writeFile(path.join(workDir, "meta", "agent.json"), "{not json");
  t.is(await store.loadAgent(), undefined);
  await writeFile(path.join(workDir, "meta", "agent.json"), JSON.stringify({ agentId: "a.b.>" }));
  t.is(await store.loadAgent(), undefined);
});

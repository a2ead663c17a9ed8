/**
 * Agent recovery through the whole stack, every part a real process:
 * `agora master`, `agora agent` and `agora run` (the framework). The agent
 * is SIGKILLed while the task runs and restarted on its work dir: the master
 * still has the task TASK_RUNNING on the same agent, and the task's later
 * finish reaches the framework (agora run exits 0).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../../helpers/wait.ts";
import { runAgora, startAgora } from "../cli/helpers.ts";

const nats = useNatsServer(test);

interface StateJson {
  agents: Array<{ id: string; hostname: string; active: boolean }>;
  frameworks: Array<{ tasks: Array<{ id: string; state: string; agentId: string }> }>;
}

test("agent recovery - agora agent SIGKILLed and restarted: the master keeps the task TASK_RUNNING and the framework gets its finish", async (t) => {
  const work = await mkdtemp(path.join(os.tmpdir(), "agora-recovery-cluster-"));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  // Whatever happens, the task ends (it waits for this file).
  t.teardown(() => writeFile(path.join(work, "go"), "").catch(() => {}));
  const common = ["--nats", nats().url, "--prefix", "recovercluster"];
  const master = startAgora(["master", ...common, "--allocation-interval", "200ms"]);
  t.teardown(() => master.child.kill("SIGKILL"));
  const agentArgs = [
    "agent",
    ...common,
    "--resources",
    "cpus:1;mem:512",
    "--hostname",
    "recovering-agent",
    "--work-dir",
    path.join(work, "agent"),
    "--registration-backoff",
    "100ms",
    "--executor-reregistration-timeout",
    "10s",
  ];
  const first = startAgora(agentArgs);
  t.teardown(() => first.child.kill("SIGKILL"));
  const go = path.join(work, "go");
  const run = startAgora([
    "run",
    ...common,
    "--",
    "sh",
    "-c",
    `while [ ! -f ${go} ]; do sleep 0.05; done; echo finished`,
  ]);
  t.teardown(() => run.child.kill("SIGKILL"));
  await run.stderr.waitFor((l) => /TASK_RUNNING/.test(l), { timeoutMs: 60_000, what: "RUNNING" });

  const state = async (): Promise<StateJson> => {
    const r = await runAgora(["state", ...common]);
    return JSON.parse(r.stdout) as StateJson;
  };
  const before = await state();
  const task = before.frameworks.flatMap((f) => f.tasks)[0];
  t.is(task?.state, "TASK_RUNNING");

  first.child.kill("SIGKILL");
  await first.result;
  const second = startAgora(agentArgs);
  t.teardown(() => second.child.kill("SIGKILL"));
  // Reregistered: the same agent id is active again, with the task still running on it.
  await eventually(
    async () => {
      const s = await state();
      const agent = s.agents.find((a) => a.id === task?.agentId);
      const now = s.frameworks.flatMap((f) => f.tasks).find((x) => x.id === task?.id);
      return agent?.active === true && now?.state === "TASK_RUNNING" && s.agents.length === 1;
    },
    "the agent to reregister",
    60_000,
  );
  await writeFile(go, "");
  const result = await run.result;
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /TASK_FINISHED/);
  t.notRegex(result.stderr, /TASK_LOST|TASK_FAILED/);
  t.regex(result.stdout, /^finished$/m);
  second.child.kill("SIGTERM");
  t.is((await second.result).code, 0);
});

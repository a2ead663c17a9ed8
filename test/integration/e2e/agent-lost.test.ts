/**
 * An agent that dies: a real `agora agent` child process is SIGKILLed; the
 * master notices the missed heartbeats, the framework's task on it becomes
 * TASK_UNREACHABLE (or TASK_LOST) and the offers of that agent are rescinded.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readlink } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import { isClusterEvent, watchClusterEvents } from "../../../cli/cluster-events.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { TaskState } from "../../../protocol/common.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { startCluster, startFramework, tempDir, WAIT_MS } from "./helpers.ts";

const AGORA_BIN = fileURLToPath(new URL("../../../bin/agora.js", import.meta.url));

const nats = useNatsServer(test);

/**
 * SIGKILLs every process whose working directory is under `dir`: the
 * executors and tasks of a killed agent outlive it by design.
 */
async function killProcessesUnder(dir: string): Promise<void> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = await readlink(`/proc/${entry}/cwd`);
      if (cwd.startsWith(dir)) process.kill(Number(entry), "SIGKILL");
    } catch {
      // gone, or not ours
    }
  }
}

test("agent lost - a killed agent's task becomes unreachable and its offers are rescinded", async (t) => {
  const subjects = new Subjects("agentlost");
  const cluster = await startCluster({
    url: nats().url,
    subjects,
    agents: [],
    master: { agentPingTimeout: 200, maxAgentPingTimeouts: 2 },
  });
  t.teardown(() => cluster.stop());
  const observer = await connect({ servers: nats().url, name: "observer" });
  t.teardown(() => closeGracefully(observer));
  const watch = await watchClusterEvents(observer, subjects, silentLogger());

  const work = await tempDir("agora-lost-");
  let agent: ChildProcess | undefined;
  t.teardown(async () => {
    agent?.kill("SIGKILL");
    await killProcessesUnder(work.dir);
    await work.remove();
  });
  agent = spawn(
    process.execPath,
    [
      AGORA_BIN,
      "agent",
      "--nats",
      nats().url,
      "--prefix",
      subjects.prefix,
      "--resources",
      "cpus:2;mem:1024",
      "--work-dir",
      path.join(work.dir, "agent"),
      "--hostname",
      "doomed",
    ],
    { stdio: "ignore", env: { ...process.env, AGORA_LOG_LEVEL: "warn" } },
  );
  const exited = new Promise((resolve) => agent?.once("exit", resolve));
  const added = await watch.recorder.waitFor(
    isClusterEvent("cluster.agentAdded", (e) => e.hostname === "doomed"),
    { timeoutMs: WAIT_MS, what: "the agent's registration" },
  );

  const fw = await startFramework({ servers: nats().url, subjects, framework: { name: "victim" } });
  t.teardown(() => fw.driver.teardown().catch(() => fw.driver.stop()));
  const first = await fw.events.waitFor(isEvent("offers"), { timeoutMs: WAIT_MS });
  const offer = first.offers[0]!;
  t.is(offer.agentId, added.agentId);
  const task = commandTask({
    name: "long",
    agentId: offer.agentId,
    resources: { cpus: 1, mem: 128 },
    command: "sleep 60",
  });
  // refuseSeconds 0: the unused half comes back at once as a new, outstanding offer.
  const mark = fw.events.mark();
  await fw.driver.accept([offer.offerId], [task], { refuseSeconds: 0 });
  await fw.events.waitFor(
    isEvent(
      "update",
      (e) => e.status.taskId === task.taskId && e.status.state === TaskState.Running,
    ),
    { timeoutMs: WAIT_MS, what: "the task running" },
  );
  const outstanding = (
    await fw.events.waitFor(
      isEvent("offers", (e) => e.offers.some((o) => o.agentId === offer.agentId)),
      { timeoutMs: WAIT_MS, from: mark, what: "the leftover offer" },
    )
  ).offers.find((o) => o.agentId === offer.agentId)!;

  agent.kill("SIGKILL");
  await exited;

  const rescinded = await fw.events.waitFor(
    isEvent("rescind", (e) => e.offerId === outstanding.offerId),
    { timeoutMs: WAIT_MS, what: "the rescind of the agent's offer" },
  );
  t.is(rescinded.offerId, outstanding.offerId);
  const lost = await fw.events.waitFor(
    isEvent(
      "update",
      (e) =>
        e.status.taskId === task.taskId &&
        (e.status.state === TaskState.Unreachable || e.status.state === TaskState.Lost),
    ),
    { timeoutMs: WAIT_MS, what: "the task unreachable" },
  );
  t.is(lost.status.agentId, offer.agentId);
  const unreachable = await watch.recorder.waitFor(
    isClusterEvent("cluster.agentUnreachable", (e) => e.agentId === offer.agentId),
    { timeoutMs: WAIT_MS },
  );
  t.is(unreachable.agentId, added.agentId);
});

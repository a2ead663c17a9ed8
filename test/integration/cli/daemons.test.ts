/**
 * `agora master` and `agora agent` as separate processes, as on a real
 * cluster: `agora run` works against them, and SIGINT/SIGTERM stop them with
 * exit code 0.
 */
import path from "node:path";
import test from "ava";
import { useNatsServer } from "../../helpers/nats.ts";
import { tempDir } from "../../helpers/temp-dir.ts";
import { runAgora, startAgora } from "./helpers.ts";

const nats = useNatsServer(test);

test("agora master + agent - run a task through them, then stop them cleanly", async (t) => {
  const work = await tempDir("agora-daemons-");
  t.teardown(() => work.remove());
  const common = ["--nats", nats().url, "--prefix", "daemons"];
  const master = startAgora(["master", ...common, "--allocation-interval", "200ms"]);
  t.teardown(() => master.child.kill("SIGKILL"));
  const agent = startAgora([
    "agent",
    ...common,
    "--resources",
    "cpus:1;mem:512",
    "--hostname",
    "daemon-agent",
    "--work-dir",
    path.join(work.dir, "agent"),
  ]);
  t.teardown(() => agent.child.kill("SIGKILL"));

  // `agora run` waits (retrying) until the master is up and the agent has registered.
  const run = await runAgora(["run", ...common, "--", "sh", "-c", "exit 4"]);
  t.is(run.code, 4, run.stderr);
  t.regex(run.stderr, /submitted to agent daemon-agent/);

  agent.child.kill("SIGTERM");
  master.child.kill("SIGINT");
  const [a, m] = await Promise.all([agent.result, master.result]);
  t.is(a.code, 0, a.stderr);
  t.is(m.code, 0, m.stderr);
});

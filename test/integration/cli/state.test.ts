/**
 * `agora state` and `agora events` against a master and an agent in this
 * test process.
 */
import anyTest, { type TestFn } from "ava";
import { type ClusterContext, useCluster } from "../../helpers/cluster.ts";
import { runAgora, startAgora } from "./helpers.ts";

const test = anyTest as TestFn<ClusterContext>;

useCluster(test, {
  prefix: "clistate",
  agents: [{ hostname: "state-agent", resources: "cpus:2;mem:2048", attributes: "rack:r1" }],
});

test("agora state - prints the master's state as JSON with the agents", async (t) => {
  const r = await runAgora(["state", ...t.context.args]);
  t.is(r.code, 0, r.stderr);
  const state = JSON.parse(r.stdout) as {
    agents: Array<{
      hostname: string;
      resources: Record<string, unknown>;
      attributes: object;
      active: boolean;
    }>;
    frameworks: unknown[];
  };
  t.is(state.agents.length, 1);
  const agent = state.agents[0]!;
  t.is(agent.hostname, "state-agent");
  t.is(agent.resources.cpus, 2);
  t.is(agent.resources.mem, 2048);
  t.deepEqual(agent.attributes, { rack: "r1" });
  t.true(agent.active);
  t.true(Array.isArray(state.frameworks));
});

test("agora events - prints cluster events as JSON lines", async (t) => {
  const events = startAgora(["events", ...t.context.args, "--count", "1"]);
  t.teardown(() => events.child.kill("SIGKILL"));
  await events.stderr.waitFor((l) => l.includes("listening"), { timeoutMs: 20_000 });
  // A framework subscribing makes the master publish framework.added.
  const run = await runAgora(["run", ...t.context.args, "--name", "observed", "--", "true"]);
  t.is(run.code, 0, run.stderr);
  const r = await events.result;
  t.is(r.code, 0, r.stderr);
  const first = JSON.parse(r.stdout.trim().split("\n")[0]!) as { type: string; subject: string };
  t.true(first.type.startsWith("cluster."));
  t.true(first.subject.startsWith("clistate.v3.events."));
});

test("agora events - Ctrl-C ends it with exit 0", async (t) => {
  const events = startAgora(["events", ...t.context.args]);
  t.teardown(() => events.child.kill("SIGKILL"));
  await events.stderr.waitFor((l) => l.includes("listening"), { timeoutMs: 20_000 });
  events.child.kill("SIGINT");
  const r = await events.result;
  t.is(r.code, 0, r.stderr);
});

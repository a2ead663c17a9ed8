/**
 * The event history on a nats-server without JetStream: `agora events
 * --since` fails with one line; a master with the memory registry serves on
 * with live events only.
 */
import anyTest, { type TestFn } from "ava";
import { createMaster, resolveMasterConfig } from "../../../actors/master/index.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { type ClusterContext, useCluster } from "../../helpers/cluster.ts";
import { runAgora, startAgora } from "./helpers.ts";

const test = anyTest as TestFn<ClusterContext>;

useCluster(test, {
  prefix: "clinojs",
  agents: [{ hostname: "nojs-agent", resources: "cpus:1;mem:512" }],
  master: { registry: "memory" },
  nats: { jetstream: false },
});

test("agora events - --since without JetStream fails with a one-line message", async (t) => {
  const r = await runAgora(["events", ...t.context.args, "--since", "10m"], { timeoutMs: 30_000 });
  t.not(r.code, 0);
  const lines = r.stderr.trim().split("\n");
  t.is(lines.length, 1, r.stderr);
  t.regex(lines[0]!, /JetStream/);
});

test("event history - a master without JetStream counts the failure and serves live events", async (t) => {
  const nc = await connect({ servers: t.context.server.url, name: "nojs", logger: silentLogger() });
  t.teardown(() => closeGracefully(nc));
  const master = createMaster({
    nc,
    logger: silentLogger(),
    subjects: new Subjects("clinojsmaster"),
    config: resolveMasterConfig({ env: {}, overrides: { registry: "memory" } }),
  });
  t.teardown(() => master.stop());
  await master.start();
  t.true(master.isLeading());
  t.is(master.metrics.get("events_stream_failures"), 1);
  // the cluster's own master (memory registry, no JetStream either) publishes live events
  const events = startAgora(["events", ...t.context.args, "--count", "1"]);
  t.teardown(() => events.child.kill("SIGKILL"));
  await events.stderr.waitFor((l) => l.includes("listening"), { timeoutMs: 20_000 });
  const run = await runAgora(["run", ...t.context.args, "--name", "live-only", "--", "true"]);
  t.is(run.code, 0, run.stderr);
  const r = await events.result;
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /"type":"cluster\./);
});

/**
 * The registry on a 3-node NATS cluster with KV replicas 3: killing the node
 * that leads the registry's stream loses no registration the master
 * acknowledged; the next leader reads every one back.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import test from "ava";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { startNatsCluster } from "../../../infra/nats-server.ts";
import { request } from "../../../infra/request.ts";
import { registryBucket } from "../../../protocol/store.ts";
import { freshSubjects, WAIT_MS } from "../master/helpers.ts";
import { leaderOf, startHaMaster } from "./helpers.ts";

const AGENTS = 30;

test("ha cluster - replicas 3: no acknowledged registration is lost when the stream leader's node dies", async (t) => {
  const cluster = await startNatsCluster(3);
  t.teardown(() => cluster.stop());
  const subjects = freshSubjects();
  const a = await startHaMaster(cluster.urls, subjects, "ca", { registryReplicas: 3 });
  t.teardown(() => a.stop());
  await leaderOf([a]);

  const agents = await connect({ servers: cluster.urls[0]!, name: "test-agents" });
  t.teardown(() => closeGracefully(agents));
  // registrations in flight together: the master pipelines their registry writes
  const replies = await Promise.all(
    Array.from({ length: AGENTS }, (_, i) =>
      request(
        agents,
        subjects.masterRegister(),
        {
          type: "agent.register",
          hostname: `host-${i}`,
          resources: { cpus: 1, mem: 128 },
          attributes: {},
        },
        ["agent.registered"],
        WAIT_MS,
      ),
    ),
  );
  const acknowledged = new Set(replies.map((r) => r.agentId));
  t.is(acknowledged.size, AGENTS);

  // find and kill the node leading the registry's stream
  const probe = await connect({ servers: cluster.urls, name: "test-probe" });
  const jsm = await jetstreamManager(probe);
  const info = await jsm.streams.info(`KV_${registryBucket(subjects.prefix)}`);
  await closeGracefully(probe);
  t.is(info.config.num_replicas, 3);
  const leaderName = info.cluster?.leader;
  const victim = cluster.servers.find((_, i) => `n${i + 1}` === leaderName);
  t.truthy(victim, `stream leader ${leaderName} is one of the nodes`);
  victim!.kill("SIGKILL");
  await victim!.exited;
  await a.crash();

  const survivors = cluster.urls.filter((url) => url !== victim!.url);
  const b = await startHaMaster(survivors, subjects, "cb", { registryReplicas: 3 });
  t.teardown(() => b.stop());
  await leaderOf([b], 60_000);
  const known = new Set(b.master.state().agents.map((x) => x.id));
  t.deepEqual(
    [...acknowledged].filter((id) => !known.has(id)),
    [],
    "every acknowledged registration survived",
  );
});

/**
 * Fault: one node of a 3-node NATS cluster is killed with SIGKILL, the one
 * that leads the master registry's KV stream (replicas 3). The masters keep
 * going on the other two nodes; then the leading master is killed too, and
 * the standby, which rebuilds from the registry as the two remaining nodes
 * hold it, still knows every agent and the framework: nothing that was
 * acknowledged is lost, and the tasks are intact.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { checkAfterFault } from "../harness/check.ts";
import { NEEDS } from "../harness/features.ts";
import { faultCase, startScenario } from "../harness/scenario.ts";
import { eventually } from "../harness/wait.ts";

export default faultCase(
  "nats cluster - killing the KV leader node of a 3-node cluster loses no acknowledged registry write",
  [NEEDS.masterHa, NEEDS.registryReplicas, NEEDS.driverFollowsLeader],
  async (t) => {
    const { cluster, framework, agentIds } = await startScenario(t, {
      prefix: "fcluster",
      nats: "cluster3",
      masters: ["m1", "m2"],
    });
    const nodes = cluster.natsCluster!.servers;
    const jsm = await jetstreamManager(cluster.observer);
    const kv = await eventually(async () => {
      for await (const info of jsm.streams.list()) {
        if (info.config.name.startsWith("KV_") && info.cluster?.leader !== undefined) {
          return {
            name: info.config.name,
            replicas: info.config.num_replicas,
            leader: info.cluster.leader,
          };
        }
      }
      return undefined;
    }, "the registry's KV stream and its leader");
    t.is(kv.replicas, 3, `${kv.name} is replicated on 3 nodes`);
    const victim = nodes.findIndex((_, i) => `n${i + 1}` === kv.leader);
    t.true(victim >= 0, `the KV leader ${kv.leader} is a node of the cluster`);
    const before = await cluster.waitLeader("the leader's state before the fault");

    nodes[victim]!.kill("SIGKILL");
    await nodes[victim]!.exited;

    // The masters keep going on the other nodes (a new KV leader is elected meanwhile).
    await cluster.waitLeader("a leader after the node was killed", 60_000);
    await checkAfterFault(t, cluster, { tasks: 4, timeoutMs: 60_000 });

    // What the registry acknowledged survives: the next leader rebuilds from it.
    // the lead may have moved meanwhile (a loaded machine): ask whoever leads now, retrying
    const leading = (await cluster.waitLeader("the leader after the fault", 60_000)).masterId;
    await cluster.master(leading).proc.kill();
    const next = await eventually(
      async () => {
        const s = await cluster.leaderState();
        return s.leader && s.masterId !== leading && s;
      },
      "the standby leading",
      60_000,
    );
    t.not(next.masterId, leading);
    await eventually(
      async () => {
        const s = await cluster.leaderState();
        return [...agentIds.values()].every((id) => s.agents.find((a) => a.id === id)?.active);
      },
      "every agent back under its id",
      60_000,
    );
    await framework.waitFor(
      (r) => r.subscriptions.some((s) => s.masterId === next.masterId),
      "the framework resubscribed to the new leader",
      60_000,
    );
    const after = await checkAfterFault(t, cluster, { tasks: 4, timeoutMs: 60_000 });
    t.deepEqual(
      after?.agents.map((a) => a.id).sort(),
      before.agents.map((a) => a.id).sort(),
      "the same agents",
    );
    const tasksOf = (s: typeof before | undefined) =>
      s?.frameworks
        .find((f) => f.id === framework.frameworkId)
        ?.tasks.map((task) => `${task.id} ${task.state}`)
        .sort();
    t.deepEqual(tasksOf(after), tasksOf(before), "the same tasks, running");
  },
);

/**
 * Fault: the leading master is frozen with SIGSTOP past its lease. The
 * standby takes over; when the old leader is continued with SIGCONT it is
 * fenced: it never answers as leader again (not even the requests that
 * queued up while it was frozen) and never serves `master.operator`, while
 * the new leader leads. At no moment do two masters say `leader: true`, and
 * the framework's tasks are intact at the new leader.
 */
import { TaskState } from "../../../protocol/common.ts";
import { checkAfterFault } from "../harness/check.ts";
import { NEEDS } from "../harness/features.ts";
import { splitBrain, watchLeaders } from "../harness/leaders.ts";
import { faultCase, startScenario } from "../harness/scenario.ts";
import { eventually } from "../harness/wait.ts";

/** Rounds the watch keeps asking after the old leader was fenced. */
const ROUNDS_AFTER_FENCING = 40;

export default faultCase(
  "leader pause - a SIGSTOPped leader is fenced: after SIGCONT it never answers as leader while the standby leads",
  [NEEDS.masterHa, NEEDS.driverFollowsLeader],
  async (t) => {
    const { cluster, framework, agentIds, leaderId } = await startScenario(t, {
      prefix: "fpauselead",
      masters: ["m1", "m2"],
    });
    t.is(leaderId, "m1");
    await eventually(async () => !(await cluster.instanceState("m2")).leader, "m2 standing by");
    const watch = watchLeaders(cluster.observer, cluster.subjects, () => ["m1", "m2"]);
    t.teardown(() => watch.close());

    cluster.master("m1").proc.pause();
    await eventually(async () => (await cluster.instanceState("m2")).leader, "m2 leading");
    await eventually(async () => {
      const s = await cluster.leaderState();
      return (
        s.masterId === "m2" &&
        [...agentIds.values()].every((id) => s.agents.find((a) => a.id === id)?.active)
      );
    }, "every agent reregistered with m2");
    await framework.waitFor(
      (r) => r.subscriptions.some((s) => s.masterId === "m2"),
      "the framework resubscribed to m2",
    );
    await checkAfterFault(t, cluster, { tasks: 4 });

    cluster.master("m1").proc.resume();
    const fenced = await eventually(async () => {
      const s = await cluster.instanceState("m1");
      if (s.leader || s.leaderId === undefined) return false;
      const leader = await cluster.leaderState();
      return s.leaderId === leader.masterId && s;
    }, "the continued m1 answering as a standby that names the leader");
    t.not(fenced.leaderId, "m1", "m1 knows another master leads");
    const from = watch.rounds;
    await eventually(
      () =>
        watch.answers.some(
          (a) =>
            a.masterId === "m1" && a.via === "instance" && a.round >= from + ROUNDS_AFTER_FENCING,
        ),
      `${ROUNDS_AFTER_FENCING} more rounds answered by m1`,
    );
    watch.stop();
    t.deepEqual(splitBrain(watch.answers), [], "never two leaders");
    t.true(
      watch.answers.some((a) => a.masterId === "m2" && a.leader),
      "the watch saw m2 lead",
    );

    const state = await checkAfterFault(t, cluster, { tasks: 4 });
    t.is(state?.masterId, "m2", "m2 still leads");
    for (const task of framework.report().tasks.values()) {
      t.is(task.latest, TaskState.Running, `${task.taskId} runs`);
    }
  },
);

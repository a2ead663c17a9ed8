/**
 * Policies as actors, live: a master with real agents allocates through an
 * `agora policy serve` process; when that process is killed mid-run the
 * built-in drf takes over; `agora policy use` switches back and forth without
 * losing resources or offers. The master's books are audited after every
 * cluster event (total = free + offered + used) and everything is free again
 * once the frameworks are gone.
 */
import test from "ava";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import { TaskState } from "../../../protocol/common.ts";
import { Resources } from "../../../protocol/resources.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually, WAIT_MS } from "../../helpers/wait.ts";
import { runAgora } from "../cli/helpers.ts";
import {
  heldByFramework,
  offersOf,
  type PolicyCluster,
  receivedBy,
  startFramework,
  startPolicyActor,
  startPolicyCluster,
  type TestFramework,
} from "./helpers.ts";

const nats = useNatsServer(test);
let prefixSeq = 0;
const freshSubjects = () => new Subjects(`pol${process.pid}x${prefixSeq++}`);

const AGENT = "cpus:2;mem:1024";
const AGENTS = 3;

/** The cluster's total (the agents also detect disk and ports). */
function all(cluster: PolicyCluster): Resources {
  return Resources.fromJSON(cluster.master.state().total).quantities();
}

/** A cluster of 3 agents and frameworks fw-a and fw-b, subscribed before the agents come. */
async function setup(
  t: { teardown(fn: () => Promise<void> | void): void },
  subjects: Subjects,
  policy: string,
): Promise<{ cluster: PolicyCluster; frameworks: TestFramework[] }> {
  const url = nats().url;
  const frameworks: TestFramework[] = [];
  const cluster = await startPolicyCluster({
    url,
    subjects,
    agents: AGENTS,
    resources: AGENT,
    master: { policy, policyTimeout: 300 },
    beforeAgents: async () => {
      frameworks.push(await startFramework(url, subjects, "fw-a"));
      frameworks.push(await startFramework(url, subjects, "fw-b"));
    },
  });
  t.teardown(async () => {
    for (const f of frameworks) await f.driver.stop();
    await cluster.stop();
  });
  return { cluster, frameworks };
}

/** The framework holding every agent, once one does and has received the offers. */
function whenOneHoldsAll(cluster: PolicyCluster, frameworks: TestFramework[]) {
  return eventually(() => {
    const held = heldByFramework(cluster.master.state());
    const total = all(cluster);
    return frameworks.find((f) => held[f.name]?.equals(total) && receivedBy(f).equals(total));
  }, "one framework holding every agent");
}

test.serial(
  "policy actor - the master started with --policy NAME allocates through it",
  async (t) => {
    const subjects = freshSubjects();
    const actor = await startPolicyActor(nats().url, subjects, "binpack");
    t.teardown(() => actor.child.kill("SIGKILL"));
    const { cluster, frameworks } = await setup(t, subjects, "binpack");
    const { master } = cluster;
    t.is(master.state().policy, "binpack");
    // binpack packs every agent onto one framework (drf would split them 2:1)
    const rich = await whenOneHoldsAll(cluster, frameworks);
    const poor = frameworks.find((f) => f !== rich)!;
    t.true(heldByFramework(master.state())[poor.name]!.isEmpty());
    t.true(master.metrics.get("policy_decisions") > 0);
    t.is(master.metrics.get("policy_fallbacks"), 0);
    t.deepEqual(cluster.auditor.problems, []);
  },
);

test.serial("policy actor - killed mid-run: drf takes over and nothing leaks", async (t) => {
  const subjects = freshSubjects();
  const actor = await startPolicyActor(nats().url, subjects, "binpack");
  t.teardown(() => actor.child.kill("SIGKILL"));
  const { cluster, frameworks } = await setup(t, subjects, "binpack");
  const { master } = cluster;
  const rich = await whenOneHoldsAll(cluster, frameworks);
  const poor = frameworks.find((f) => f !== rich)!;
  const [first, ...rest] = offersOf(rich);
  t.is(rest.length, AGENTS - 1);

  actor.child.kill("SIGKILL");
  await actor.result;
  const mark = poor.events.mark();
  // The rich framework runs a short task on one offer and gives the rest back; what returns to
  // the pool (now, and when the task ends) is allocated by the fallback, drf, to the other one.
  await rich.driver.accept(
    [first!.offerId],
    [
      {
        taskId: "short",
        name: "short",
        agentId: first!.agentId,
        resources: { cpus: 0.5, mem: 64 },
        command: { value: "sleep 0.5" },
      },
    ],
    { refuseSeconds: 600 },
  );
  await rich.driver.decline(
    rest.map((o) => o.offerId),
    { refuseSeconds: 600 },
  );
  await poor.events.waitFor(isEvent("offers"), {
    from: mark,
    timeoutMs: WAIT_MS,
    what: "offers to the other framework after the kill",
  });
  await rich.events.waitFor(
    (e) =>
      e.type === "update" && e.status.taskId === "short" && e.status.state === TaskState.Finished,
    { timeoutMs: WAIT_MS, what: "the short task finished" },
  );
  await eventually(
    () => heldByFramework(master.state())[poor.name]!.equals(all(cluster)),
    "the other framework holding every agent",
  );
  t.true(master.metrics.get("policy_fallbacks") > 0, "fallbacks counted");
  t.is(master.state().policy, "binpack", "the master keeps asking for the actor");

  // `agora state` agrees, and tearing the frameworks down frees everything: nothing leaked
  const state = await runAgora(["state", "--nats", nats().url, "--prefix", subjects.prefix]);
  t.is(state.code, 0, state.stderr);
  const json = JSON.parse(state.stdout) as { agents: Array<{ used: object; offered: object }> };
  t.is(json.agents.length, AGENTS);
  for (const f of frameworks) await f.driver.teardown("test over");
  await eventually(
    () =>
      master
        .state()
        .agents.every(
          (a) => Object.keys(a.used).length === 0 && Object.keys(a.offered).length === 0,
        ),
    "every agent free again",
  );
  t.true(cluster.auditor.events > 0);
  t.deepEqual(cluster.auditor.problems, []);
  t.deepEqual(master.checkInvariants(), []);
});

test.serial("policy use - switching back and forth loses no resources and no offers", async (t) => {
  const subjects = freshSubjects();
  const url = nats().url;
  const actor = await startPolicyActor(url, subjects, "binpack");
  t.teardown(() => actor.child.kill("SIGKILL"));
  const { cluster, frameworks } = await setup(t, subjects, "drf");
  const { master } = cluster;
  // drf spreads the three agents over both frameworks
  const spread = await eventually(() => {
    const held = heldByFramework(master.state());
    const a = held["fw-a"];
    const b = held["fw-b"];
    return a &&
      b &&
      !a.isEmpty() &&
      !b.isEmpty() &&
      a.add(b).equals(all(cluster)) &&
      frameworks.every((f) => receivedBy(f).equals(held[f.name]!))
      ? held
      : undefined;
  }, "both frameworks holding offers");
  const use = async (name: string) => {
    const r = await runAgora(["policy", "use", name, "--nats", url, "--prefix", subjects.prefix]);
    t.is(r.code, 0, r.stderr);
    t.is(master.state().policy, name);
    const held = heldByFramework(master.state());
    for (const f of frameworks) t.true(held[f.name]!.equals(spread[f.name]!), `${f.name} kept all`);
  };
  await use("binpack");
  await use("drf");
  await use("binpack");
  const decisionsBefore = master.metrics.get("policy_decisions");

  // Every offer made before the switches is still usable: launch a task on each.
  for (const f of frameworks) {
    for (const offer of offersOf(f)) {
      const taskId = `task-${offer.offerId}`;
      await f.driver.accept(
        [offer.offerId],
        [
          {
            taskId,
            name: taskId,
            agentId: offer.agentId,
            resources: { cpus: 0.25, mem: 32 },
            command: { value: "true" },
          },
        ],
        { refuseSeconds: 0 },
      );
      await f.events.waitFor(
        (e) =>
          e.type === "update" &&
          e.status.taskId === taskId &&
          e.status.state === TaskState.Finished,
        { timeoutMs: WAIT_MS, what: `${taskId} finished` },
      );
    }
  }
  // what came back was allocated by the policy actor now in use
  await eventually(
    () => master.metrics.get("policy_decisions") > decisionsBefore,
    "a decision of the policy actor",
  );
  await eventually(() => {
    const held = heldByFramework(master.state());
    return held["fw-a"]!.add(held["fw-b"]!).equals(all(cluster));
  }, "every agent offered again");
  t.is(master.metrics.get("policy_switches"), 3);
  t.is(master.metrics.get("policy_fallbacks"), 0);
  for (const f of frameworks) await f.driver.teardown("test over");
  await eventually(
    () =>
      master
        .state()
        .agents.every(
          (a) => Object.keys(a.used).length === 0 && Object.keys(a.offered).length === 0,
        ),
    "every agent free again",
  );
  t.deepEqual(cluster.auditor.problems, []);
});

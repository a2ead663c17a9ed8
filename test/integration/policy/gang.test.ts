/**
 * Gang placement on a live master over a real nats-server with real agents
 * running real processes, driven by the SchedulerDriver: a gang of three
 * members, one per agent, holds what a small framework's tasks free (`agora
 * state` shows it, `agora explain` says why the small framework gets
 * nothing), is offered its whole set in one `offers` event with its id, and
 * launches on every agent with `acceptGang`. After launch the members are
 * tasks like any other: one killed, the others run on. A gang that cannot fit
 * times out and the driver delivers `gangTimedOut`.
 */
import test from "ava";
import { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import { recordEvents } from "../../../actors/scheduler/recorder.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { type Offer, TaskState } from "../../../protocol/common.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually, WAIT_MS } from "../../helpers/wait.ts";
import { runAgora } from "../cli/helpers.ts";
import { freshSubjects } from "../master/helpers.ts";
import { startFramework, startPolicyCluster } from "./helpers.ts";

const nats = useNatsServer(test);

test("gang - held, placed whole across three agents, launched all at once through the driver", async (t) => {
  const url = nats().url;
  const subjects = freshSubjects();
  const cluster = await startPolicyCluster({
    url,
    subjects,
    agents: 3,
    resources: "cpus:1;mem:256",
    // the whole gang may be held (the default half would let the second freed cpu go to small
    // when the tasks end in separate cycles, and small keeps its offers)
    master: { gangHoldFraction: 1 },
  });
  const small = await startFramework(url, subjects, "small");
  // train wants its gang only: ordinary offers suppressed
  const train = new SchedulerDriver({
    servers: url,
    subjects,
    framework: { name: "train" },
    suppressedRoles: ["*"],
    logger: silentLogger(),
  });
  const trainEvents = recordEvents(train);
  t.teardown(async () => {
    await Promise.allSettled([small.driver.stop(), train.stop()]);
    await cluster.stop();
  });
  const agora = (...args: string[]) =>
    runAgora([...args, "--nats", url, "--prefix", subjects.prefix]);

  // small runs one long task on each agent
  const smallOffers: Offer[] = [];
  await small.events.waitFor(
    (e) => {
      if (e.type === "offers") smallOffers.push(...e.offers);
      return new Set(smallOffers.map((o) => o.agentId)).size === 3;
    },
    { timeoutMs: WAIT_MS, what: "small offered the three agents" },
  );
  const byAgent = new Map(smallOffers.map((o) => [o.agentId, o]));
  const agentIds = Array.from(byAgent.keys()).sort();
  for (const [i, agentId] of agentIds.entries()) {
    await small.driver.accept(
      [byAgent.get(agentId)!.offerId],
      [
        {
          taskId: `small-${i}`,
          name: `small-${i}`,
          agentId,
          resources: { cpus: 1, mem: 128 },
          command: { value: "sleep 600" },
          killPolicy: { gracePeriodSeconds: 1 },
        },
      ],
      { refuseSeconds: 3600 },
    );
  }
  const running = (events: typeof small.events, taskId: string) =>
    events.waitFor(
      (e) =>
        e.type === "update" && e.status.taskId === taskId && e.status.state === TaskState.Running,
      { timeoutMs: WAIT_MS, what: `${taskId} running` },
    );
  for (const i of [0, 1, 2]) await running(small.events, `small-${i}`);

  await train.start();
  const member = { resources: { cpus: 1, mem: 128 } };
  await train.requestGang({
    gangId: "g",
    members: [member, member, member],
    spread: true,
    timeoutSeconds: 60,
  });

  // the first agent's task ends: the gang holds its cpu, small is not offered it (the other
  // members hold the memory free on the other agents, as it frees up)
  await small.driver.kill("small-0", agentIds[0]);
  await eventually(
    () => cluster.master.state().gangs?.[0]?.held[agentIds[0]!]?.cpus === 1,
    "the gang holds the freed cpu",
  );
  const state = await agora("state");
  t.is(state.code, 0, state.stderr);
  t.like((JSON.parse(state.stdout) as { gangs: unknown[] }).gangs[0], {
    gangId: "g",
    state: "HOLDING",
    members: 3,
    held: { [agentIds[0]!]: { cpus: 1, mem: 128 } },
  });
  const why = await agora("explain", small.driver.frameworkId!);
  t.is(why.code, 0, why.stderr);
  t.regex(
    why.stdout,
    /heldForGang: .*held for gang g of framework .* on 3 agent\(s\): cpus:1;mem:384/,
  );

  // the others end: the whole set is offered in one event, marked with the gang
  await small.driver.kill("small-1", agentIds[1]);
  await small.driver.kill("small-2", agentIds[2]);
  const offered = await trainEvents.waitFor((e) => e.type === "offers" && e.gangId === "g", {
    timeoutMs: WAIT_MS,
    what: "the gang's offers",
  });
  const offers = offered.type === "offers" ? offered.offers : [];
  t.deepEqual(offers.map((o) => o.agentId).sort(), agentIds);
  t.true(offers.every((o) => o.resources.cpus === 1 && o.resources.mem === 128));

  await train.acceptGang(
    "g",
    offers.map((o, i) => ({
      taskId: `member-${i}`,
      name: `member-${i}`,
      agentId: o.agentId,
      resources: member.resources,
      command: { value: "sleep 600" },
      killPolicy: { gracePeriodSeconds: 1 },
    })),
  );
  for (const i of [0, 1, 2]) await running(trainEvents, `member-${i}`);
  t.is(cluster.master.metrics.get("gangs_placed"), 1);
  t.is(cluster.master.state().gangs, undefined);

  // one member ends: the others are not touched
  await train.kill("member-0", offers[0]!.agentId);
  await trainEvents.waitFor(
    (e) =>
      e.type === "update" && e.status.taskId === "member-0" && e.status.state === TaskState.Killed,
    { timeoutMs: WAIT_MS, what: "member-0 killed" },
  );
  const tasks = cluster.master.state().frameworks.find((f) => f.name === "train")?.tasks ?? [];
  t.deepEqual(tasks.map((x) => [x.id, x.state]).sort(), [
    ["member-0", TaskState.Killed],
    ["member-1", TaskState.Running],
    ["member-2", TaskState.Running],
  ]);

  // a gang that cannot fit (four members, one per agent, on three agents) times out
  await train.requestGang({
    gangId: "too-wide",
    members: [member, member, member, member],
    spread: true,
    timeoutSeconds: 1,
  });
  const timedOut = await trainEvents.waitFor((e) => e.type === "gangTimedOut", {
    timeoutMs: WAIT_MS,
    what: "the gang timed out",
  });
  t.like(timedOut, { type: "gangTimedOut", gangId: "too-wide", backoffSeconds: 30 });
  t.is(cluster.master.state().gangs, undefined);
  t.is(cluster.master.metrics.get("gangs_timed_out"), 1);
  t.deepEqual(cluster.auditor.problems, []);
});

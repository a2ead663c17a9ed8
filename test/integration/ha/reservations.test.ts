/**
 * Dynamic reservations and persistent volumes survive a master failover:
 * they are in the agent's registry record (written before the operator's
 * `ok`), the new leader restores them, and an agent that reregisters without
 * them (it missed the checkpoint) is given the registry's back in the reply.
 */
import test from "ava";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { FakeAgent, FakeScheduler, freshSubjects, is, WAIT_MS } from "../master/helpers.ts";
import { type HaMaster, instanceState, leaderOf, operator, startHaMaster } from "./helpers.ts";

const nats = useNatsServer(test);

test("ha - a reservation and a volume made on one leader are the next leader's, and offered to the role", async (t) => {
  const subjects = freshSubjects();
  const masters: HaMaster[] = [];
  t.teardown(async () => {
    for (const m of masters) await m.stop();
  });
  const a = await startHaMaster(nats().url, subjects, "va");
  masters.push(a);
  const b = await startHaMaster(nats().url, subjects, "vb");
  masters.push(b);
  const nc = await connect({ servers: nats().url, name: "test-operator" });
  t.teardown(() => closeGracefully(nc));
  t.is(await leaderOf([a, b]), a);

  const agent = await FakeAgent.connect(nats().url, subjects);
  t.teardown(() => agent.close());
  const plain = { cpus: 4, mem: 4096, disk: 2048 };
  const { agentId } = await agent.register(plain);
  agent.startHeartbeats(50);

  const mark = agent.inbox.items.length;
  await operator(
    nc,
    subjects,
    {
      type: "operator.reserveResources",
      agentId,
      resources: { "cpus(web,ops,team=a)": 1, "disk(web,ops,team=a)": 1024 },
    },
    ["ok"],
  );
  await operator(
    nc,
    subjects,
    {
      type: "operator.createVolumes",
      agentId,
      volumes: { "disk(web,ops,team=a)[pg:data]": 1024 },
    },
    ["ok"],
  );
  const told = await agent.inbox.waitFor(
    (m) =>
      m.type === "agent.checkpointResources" &&
      Object.keys(m.resources).some((k) => k.endsWith("[pg:data]")),
    "the checkpointed volume",
    WAIT_MS,
    mark,
  );
  t.deepEqual((told as { resources: unknown }).resources, {
    "cpus(web,ops,team=a)": 1,
    "disk(web,ops,team=a)[pg:data]": 1024,
  });
  const expected = {
    cpus: 3,
    "cpus(web,ops,team=a)": 1,
    mem: 4096,
    disk: 1024,
    "disk(web,ops,team=a)[pg:data]": 1024,
  };
  t.deepEqual(a.master.state().agents[0]?.resources, expected);

  const agentMark = agent.inbox.items.length;
  await a.crash();
  t.is(await leaderOf([b]), b);
  const recovered = await instanceState(nc, subjects, "vb");
  t.deepEqual(recovered.agents[0]?.resources, expected, "the registry held them");

  await agent.inbox.waitFor(
    is("agent.reregisterRequest"),
    "agent.reregisterRequest",
    WAIT_MS,
    agentMark,
  );
  // the agent comes back as if it had missed the checkpoint: the registry's win
  const reregistered = await agent.reregister(plain);
  t.deepEqual(reregistered.checkpointedResources, {
    "cpus(web,ops,team=a)": 1,
    "disk(web,ops,team=a)[pg:data]": 1024,
  });
  t.deepEqual(b.master.state().agents[0]?.resources, expected);

  // a framework of the role is offered the reserved cpus and the volume
  const scheduler = await FakeScheduler.connect(nats().url, subjects);
  t.teardown(() => scheduler.close());
  await scheduler.subscribe({ roles: ["web"] });
  const offers = await scheduler.offers();
  t.deepEqual(offers.offers[0]?.resources, expected);
  t.deepEqual(b.master.checkInvariants(), []);
});

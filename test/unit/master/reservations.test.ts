import test from "ava";
import { createAuthorizer } from "../../../actors/master/authorizer.ts";
import { handleOperatorCall, NO_CONTROLS } from "../../../actors/master/operator.ts";
import { MemoryRegistry } from "../../../actors/master/registry.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { decodeRecord, StoreChecks, StoreKeys } from "../../../protocol/store.ts";
import { Harness, task } from "./harness.ts";

function setup(
  options: { principal?: string; acls?: Parameters<typeof createAuthorizer>[0] } = {},
) {
  const registry = new MemoryRegistry();
  const h = new Harness(
    {},
    {
      registry,
      ...(options.acls === undefined ? {} : { authorizer: createAuthorizer(options.acls) }),
    },
  );
  const fid = h.addFramework({
    roles: ["web"],
    ...(options.principal === undefined ? {} : { principal: options.principal }),
  });
  const aid = h.addAgent({ cpus: 4, mem: 4096, disk: 2048 });
  h.flush();
  return { h, fid, aid, registry };
}

test("accept - RESERVE, CREATE and LAUNCH in one accept: stored, the agent told before the task", (t) => {
  const { h, fid, aid, registry } = setup({ principal: "alice" });
  const [offer] = h.offersTo(fid);
  const mark = h.mark();
  h.call(fid, {
    type: "scheduler.accept",
    offerIds: [offer!.offerId],
    operations: [
      // an empty principal is the framework's
      { type: "reserve", resources: { "cpus(web,)": 1, "disk(web,alice,team=a)": 1024 } },
      { type: "create", volumes: { "disk(web,alice,team=a)[v1:data]": 1024 } },
      {
        type: "launch",
        tasks: [task("t1", aid, { "cpus(web,alice)": 1, "disk(web,alice,team=a)[v1:data]": 1024 })],
      },
    ],
  });
  const sent = h.outbox.sent
    .slice(mark)
    .filter((s) => s.to === "agent")
    .map((s) => s.msg);
  t.deepEqual(
    sent.map((m) => m.type),
    ["agent.checkpointResources", "agent.runTask"],
  );
  t.deepEqual((sent[0] as { resources: unknown }).resources, {
    "cpus(web,alice)": 1,
    "disk(web,alice,team=a)[v1:data]": 1024,
  });
  const record = decodeRecord(registry.values.get(StoreKeys.agent(aid))!, StoreChecks.agent);
  t.deepEqual(record.resources, {
    cpus: 3,
    "cpus(web,alice)": 1,
    mem: 4096,
    disk: 1024,
    "disk(web,alice,team=a)[v1:data]": 1024,
  });
  t.is(h.state().frameworks[0]?.tasks[0]?.state, "TASK_STAGING");
  t.is(h.metrics.get("operations_reserve"), 1);
  t.is(h.metrics.get("operations_create"), 1);
  t.deepEqual(h.invariants(), []);

  // the task ends: its volume (and reserved cpus) are offered again to the role
  h.update(aid, fid, { taskId: "t1", state: "TASK_FINISHED" });
  h.advance(6000);
  const again = h.offersTo(fid, mark).at(-1);
  t.like(again?.resources, { "cpus(web,alice)": 1, "disk(web,alice,team=a)[v1:data]": 1024 });
});

test("accept - an operation that does not apply is dropped and the others go on (Mesos)", (t) => {
  const { h, fid, aid } = setup({ principal: "alice" });
  const [offer] = h.offersTo(fid);
  const mark = h.mark();
  h.call(fid, {
    type: "scheduler.accept",
    offerIds: [offer!.offerId],
    operations: [
      { type: "reserve", resources: { "cpus(web,alice)": 100 } }, // not in the offer
      { type: "reserve", resources: { "cpus(web,bob)": 1 } }, // another principal
      { type: "reserve", resources: { "cpus(db,alice)": 1 } }, // not the offer's role
      { type: "unreserve", resources: { "cpus(web,alice)": 1 } }, // nothing reserved
      { type: "reserve", resources: { "mem(web,alice)": 512 } },
    ],
  });
  t.is(h.metrics.get("operations_dropped"), 4);
  t.is(h.metrics.get("operations_reserve"), 1);
  t.deepEqual(h.sentTo("agent", aid, "agent.checkpointResources", mark)[0]?.resources, {
    "mem(web,alice)": 512,
  });
  t.deepEqual(h.invariants(), []);
});

test("operator - reserve and unreserve on an agent rescind its offers, are stored and ACL-checked", async (t) => {
  const { h, fid, aid, registry } = setup({
    acls: {
      reserve_resources: [{ principals: { values: ["ops"] }, roles: { type: "ANY" } }],
      unreserve_resources: [
        { principals: { values: ["ops"] }, reserver_principals: { values: ["ops"] } },
      ],
      register_frameworks: [{ principals: { type: "ANY" }, roles: { type: "ANY" } }],
      permissive: false,
    } as Parameters<typeof createAuthorizer>[0],
  });
  t.is(h.offersTo(fid).length, 1, "the agent is offered");
  const call = {
    type: "operator.reserveResources" as const,
    agentId: aid,
    resources: { "cpus(web,)": 2 },
  };
  const err = t.throws(() => handleOperatorCall(h.ctx, NO_CONTROLS, call, "eve"), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.PermissionDenied);
  await handleOperatorCall(h.ctx, NO_CONTROLS, call, "ops");
  t.is(h.ctx.offers.size, 0, "the offer holding the cpus was rescinded");
  const record = decodeRecord(registry.values.get(StoreKeys.agent(aid))!, StoreChecks.agent);
  t.is(record.resources["cpus(web,ops)"], 2);
  t.is(h.ctx.agents.get(aid)?.total.toString(), "cpus:2;cpus(web,ops):2;mem:4096;disk:2048");
  const tooMuch = t.throws(
    () =>
      handleOperatorCall(h.ctx, NO_CONTROLS, { ...call, resources: { "cpus(web,ops)": 5 } }, "ops"),
    { instanceOf: AgoraError },
  );
  t.regex(tooMuch?.message ?? "", /not available/);
  await handleOperatorCall(
    h.ctx,
    NO_CONTROLS,
    { type: "operator.unreserveResources", agentId: aid, resources: { "cpus(web,ops)": 2 } },
    "ops",
  );
  t.is(h.ctx.agents.get(aid)?.total.toString(), "cpus:4;mem:4096;disk:2048");
  t.deepEqual(h.invariants(), []);
});

test("reregistration - the registry's checkpointed resources win over the agent's and are sent back", (t) => {
  const { h, aid } = setup();
  h.ctx.agents.get(aid)!.total = h.ctx.agents.get(aid)!.total; // unchanged
  handleOperatorCall(
    h.ctx,
    NO_CONTROLS,
    { type: "operator.reserveResources", agentId: aid, resources: { "cpus(web,ops)": 1 } },
    undefined,
  );
  // the agent comes back without having heard of the reservation
  const reply = h.agent(
    aid,
    {
      type: "agent.reregister",
      agentId: aid,
      hostname: "h",
      resources: { cpus: 4, mem: 4096, disk: 2048 },
      attributes: {},
      tasks: [],
    },
    true,
  ) as { type: string; checkpointedResources?: unknown };
  t.is(reply.type, "agent.registered");
  t.deepEqual(reply.checkpointedResources, { "cpus(web,ops)": 1 });
  t.is(h.ctx.agents.get(aid)?.total.toString(), "cpus:3;cpus(web,ops):1;mem:4096;disk:2048");
});

/**
 * Preemption in the master core (actors/master/preemption.ts): demands from
 * `scheduler.request` and their validation, a round killing its victim with
 * the reason on the victim's TASK_KILLED, one round per demand, the demand
 * ending with the offer that serves it, and `operator.updatePreemption`
 * (stored, restored by a new leader, checked by the ACLs).
 */
import test from "ava";
import { createAuthorizer } from "../../../actors/master/authorizer.ts";
import { handleOperatorCall, NO_CONTROLS } from "../../../actors/master/operator.ts";
import { recoverFromRegistry } from "../../../actors/master/recovery.ts";
import { MemoryRegistry, parseSnapshot } from "../../../actors/master/registry.ts";
import { setRoleQuota } from "../../../actors/master/roles.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { TaskReason } from "../../../protocol/common.ts";
import { type AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { Resources } from "../../../protocol/resources.ts";
import { decodeRecord, StoreChecks, StoreKeys } from "../../../protocol/store.ts";
import { Harness } from "./harness.ts";

/** One agent of 2 cpus, full with `low`'s task (role batch); `high` (role prod, guaranteed 1 cpu) subscribed. */
function fullCluster(preemption: boolean) {
  const registry = new MemoryRegistry();
  const h = new Harness({ preemption }, { registry });
  const agentId = h.addAgent({ cpus: 2, mem: 1024 });
  const low = h.addFramework({ name: "low", roles: ["batch"] });
  h.flush();
  const offer = h.offersTo(low)[0]!;
  h.call(low, {
    type: "scheduler.accept",
    offerIds: [offer.offerId],
    operations: [
      {
        type: "launch",
        tasks: [
          {
            taskId: "t1",
            name: "t1",
            agentId,
            resources: { cpus: 2, mem: 512 },
            command: { value: "sleep 600" },
          },
        ],
      },
    ],
    filters: { refuseSeconds: 3600 },
  });
  h.update(agentId, low, { taskId: "t1", state: "TASK_RUNNING" });
  setRoleQuota(h.ctx, "prod", { guarantee: { cpus: 1, mem: 1024 } });
  const high = h.addFramework({ name: "high", roles: ["prod"] });
  return { h, registry, agentId, low, high };
}

test("preemption - off: a demand kills nothing; on: the victim is killed once, its end says why", (t) => {
  const { h, agentId, low, high } = fullCluster(false);
  const mark = h.mark();
  h.call(high, { type: "scheduler.request", requests: [{ resources: { cpus: 1, mem: 128 } }] });
  h.flush();
  h.advance(1000);
  t.deepEqual(h.sentTo("agent", agentId, "agent.killTask", mark), []);

  handleOperatorCall(h.ctx, NO_CONTROLS, { type: "operator.updatePreemption", enabled: true });
  t.true(h.state().preemption);
  h.flush();
  t.deepEqual(h.sentTo("agent", agentId, "agent.killTask", mark), [
    { type: "agent.killTask", frameworkId: low, taskId: "t1" },
  ]);
  t.is(h.metrics.get("tasks_preempted"), 1);
  // the next cycles do not kill again for the same demand
  h.advance(3000);
  t.is(h.sentTo("agent", agentId, "agent.killTask", mark).length, 1);

  // the agent reports the kill: the framework's update carries REASON_TASK_PREEMPTED
  const before = h.mark();
  h.update(agentId, low, { taskId: "t1", state: "TASK_KILLED", uuid: "u-1" });
  const [status] = h.updatesTo(low, before);
  t.is(status?.state, "TASK_KILLED");
  t.is(status?.reason, TaskReason.TaskPreempted);
  // the freed cpus go to high (below its guarantee: served first), which ends its demand
  h.advance(1000);
  t.true(h.offersTo(high, before).some((o) => Resources.fromJSON(o.resources).scalar("cpus") >= 1));
  t.is(h.ctx.preemption.demands.size, 0);
  t.is(h.metrics.get("demands_served"), 1);
});

test("preemption - scheduler.request validates roles and resources", (t) => {
  const { h, high } = fullCluster(true);
  const badRole = t.throws(() =>
    h.call(high, {
      type: "scheduler.request",
      requests: [{ role: "batch", resources: { cpus: 1 } }],
    }),
  );
  t.is((badRole as AgoraError).code, ErrorCode.NotFound);
  t.regex((badRole as AgoraError).message, /requests\[0\]: .* has not subscribed with role batch/);
  const ports = t.throws(() =>
    h.call(high, {
      type: "scheduler.request",
      requests: [{ resources: { ports: [[1, 2]] } }],
    }),
  );
  t.is((ports as AgoraError).code, ErrorCode.InvalidResources);
  t.is(h.ctx.preemption.demands.size, 0);
  h.call(high, { type: "scheduler.request", requests: [{ resources: { cpus: 1 } }] });
  t.is(h.ctx.preemption.demands.get(high)?.length, 1);
  h.call(high, { type: "scheduler.request", requests: [] });
  t.is(h.ctx.preemption.demands.size, 0, "an empty list withdraws the demands");
});

test("preemption - the switch is stored, restored by a new leader, and checked by the ACLs", (t) => {
  const { h, registry } = fullCluster(false);
  handleOperatorCall(h.ctx, NO_CONTROLS, { type: "operator.updatePreemption", enabled: true });
  t.deepEqual(decodeRecord(registry.values.get(StoreKeys.preemption)!, StoreChecks.preemption), {
    enabled: true,
  });
  const next = new Harness({ preemption: false });
  recoverFromRegistry(next.ctx, parseSnapshot(registry.values, silentLogger(), next.metrics));
  t.true(next.ctx.preemption.enabled);

  const acl = new Harness(
    {},
    {
      authorizer: createAuthorizer({
        permissive: false,
        update_preemption: [{ principals: { values: ["ops"] }, modes: { values: ["off"] } }],
      }),
    },
  );
  const denied = t.throws(() =>
    handleOperatorCall(
      acl.ctx,
      NO_CONTROLS,
      { type: "operator.updatePreemption", enabled: true },
      "ops",
    ),
  );
  t.is((denied as AgoraError).code, ErrorCode.PermissionDenied);
  t.notThrows(() =>
    handleOperatorCall(
      acl.ctx,
      NO_CONTROLS,
      { type: "operator.updatePreemption", enabled: false },
      "ops",
    ),
  );
  t.false(acl.ctx.preemption.enabled);
});

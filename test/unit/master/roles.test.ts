import test from "ava";
import { buildContext } from "../../../actors/master/allocator.ts";
import {
  removeRoleQuota,
  roleQuotas,
  roleWeights,
  setRolePriority,
  setRoleQuota,
  setRoleWeight,
  setRoleWeights,
} from "../../../actors/master/roles.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { Resources } from "../../../protocol/resources.ts";
import { acceptCall, Harness, task } from "./harness.ts";

test("roles - weights: set, listed, reset to 1, validated", (t) => {
  const h = new Harness();
  setRoleWeight(h.ctx, "web", 2);
  setRoleWeights(h.ctx, { batch: 0.5, "eng/api": 3 });
  t.deepEqual(roleWeights(h.ctx), { web: 2, batch: 0.5, "eng/api": 3 });
  setRoleWeight(h.ctx, "web", undefined);
  t.deepEqual(roleWeights(h.ctx), { batch: 0.5, "eng/api": 3 });
  t.false(h.ctx.roles.has("web"), "a role back to its defaults is forgotten");
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    const err = t.throws(() => setRoleWeight(h.ctx, "web", bad), { instanceOf: AgoraError });
    t.is(err?.code, ErrorCode.InvalidMessage);
  }
  t.throws(() => setRoleWeights(h.ctx, { ok: 2, bad: 0 }), { instanceOf: AgoraError });
  t.false(h.ctx.roles.has("ok"), "setRoleWeights checks all before setting any");
  t.throws(() => setRoleWeight(h.ctx, "a//b", 2), { instanceOf: AgoraError });
});

test("roles - quota: set from JSON or Resources, validated, removed", (t) => {
  const h = new Harness();
  setRoleQuota(h.ctx, "prod", {
    guarantee: { cpus: 2 },
    limit: Resources.parse("cpus:4;mem:4096"),
  });
  t.deepEqual(roleQuotas(h.ctx), {
    prod: { guarantee: { cpus: 2 }, limit: { cpus: 4, mem: 4096 } },
  });
  setRoleQuota(h.ctx, "prod", { limit: { cpus: 3 } });
  t.deepEqual(roleQuotas(h.ctx), { prod: { limit: { cpus: 3 } } }, "a part left out is removed");
  const cases: Array<[string, Parameters<typeof setRoleQuota>[2]]> = [
    ["reserved", { guarantee: { "cpus(prod)": 1 } }],
    ["ranges", { limit: { ports: [[1, 2]] } }],
    ["guarantee above limit", { guarantee: { cpus: 5 }, limit: { cpus: 4 } }],
    ["malformed", { guarantee: { cpus: -1 } }],
  ];
  for (const [what, quota] of cases) {
    const err = t.throws(
      () => setRoleQuota(h.ctx, "prod", quota),
      { instanceOf: AgoraError },
      what,
    );
    t.is(err?.code, ErrorCode.InvalidResources, what);
  }
  t.throws(() => setRoleQuota(h.ctx, "*", { limit: { cpus: 1 } }), { instanceOf: AgoraError });
  t.deepEqual(roleQuotas(h.ctx), { prod: { limit: { cpus: 3 } } }, "failed calls change nothing");
  removeRoleQuota(h.ctx, "prod");
  t.deepEqual(roleQuotas(h.ctx), {});
  t.false(h.ctx.roles.has("prod"));
  setRoleQuota(h.ctx, "prod", { guarantee: { cpus: 1 } });
  setRoleQuota(h.ctx, "prod", {});
  t.deepEqual(roleQuotas(h.ctx), {}, "neither part removes the quota");
});

test("roles - settings reach the policy's context and ask for a cycle", (t) => {
  const h = new Harness();
  const fid = h.addFramework({ roles: ["web"], priority: 7 });
  h.addAgent({ cpus: 2, mem: 2048 });
  h.flush();
  setRoleWeight(h.ctx, "web", 2);
  setRolePriority(h.ctx, "web", 5);
  setRoleQuota(h.ctx, "prod", { guarantee: { cpus: 1 } });
  const context = buildContext(h.ctx);
  t.is(context.roles.web?.weight, 2);
  t.is(context.roles.web?.priority, 5);
  t.is(`${context.roles.prod?.quota?.guarantee}`, "cpus:1");
  t.is(context.roles.prod?.weight, 1);
  t.is(context.allocationInterval, 1000);
  t.is(context.frameworks.find((f) => f.frameworkId === fid)?.priority, 7);
});

test("roles - the state lists roles with their ancestors, settings and subtree shares", (t) => {
  const h = new Harness();
  const web = h.addFramework({ roles: ["eng/web"] });
  h.addAgent({ cpus: 4, mem: 4096 });
  setRoleWeight(h.ctx, "eng", 3);
  setRolePriority(h.ctx, "ops", 2);
  setRoleQuota(h.ctx, "eng", { guarantee: { cpus: 1 }, limit: { cpus: 2 } });
  h.flush();
  t.deepEqual(h.offersTo(web)[0]?.resources, { cpus: 2, mem: 4096 }, "chopped by eng's limit");
  const { roles } = h.state();
  t.deepEqual(roles.eng, {
    weight: 3,
    quota: { guarantee: { cpus: 1 }, limit: { cpus: 2 } },
    allocated: { cpus: 2, mem: 4096 },
    dominantShare: 1,
  });
  t.deepEqual(roles["eng/web"], { weight: 1, allocated: { cpus: 2, mem: 4096 }, dominantShare: 1 });
  t.deepEqual(roles.ops, { weight: 1, priority: 2, allocated: {}, dominantShare: 0 });
});

test("roles - cluster.allocation carries every role's and framework's share, only when they change", (t) => {
  const h = new Harness();
  const fid = h.addFramework({ roles: ["eng/web"] });
  h.addAgent({ cpus: 4, mem: 4096 });
  h.flush();
  const events = () =>
    h.outbox.sent
      .filter((s) => s.msg.type === "cluster.allocation")
      .map((s) => s.msg as MessageOf<"cluster.allocation">);
  t.is(events().length, 1);
  t.deepEqual(events()[0]?.roles, { eng: { dominantShare: 1 }, "eng/web": { dominantShare: 1 } });
  t.deepEqual(events()[0]?.frameworks, { [fid]: { dominantShare: 1, role: "eng/web" } });
  h.core.allocator.run();
  t.is(events().length, 1, "no change, no event");
});

test("roles - decline filters are per role and last at least one allocation interval", (t) => {
  const h = new Harness({ allocationInterval: 2000 });
  const fid = h.addFramework({ roles: ["a", "b"] });
  const aid = h.addAgent({ cpus: 2, mem: 2048, "cpus(b)": 1 });
  h.flush();
  const offers = h.offersTo(fid);
  t.deepEqual(
    offers.map((o) => [o.role, o.resources]),
    [
      ["a", { cpus: 2, mem: 2048 }],
      ["b", { "cpus(b)": 1 }],
    ],
  );
  const a = offers.find((o) => o.role === "a")!;
  h.call(fid, acceptCall([a.offerId], [task("t1", aid, { cpus: 1, mem: 1024 })], 0.5));
  const framework = h.ctx.frameworks.get(fid)!;
  t.deepEqual(
    framework.filters.map((f) => [f.role, `${f.resources}`, f.expiresAt - h.clock.now()]),
    [["a", "cpus:1;mem:1024", 2000]],
    "refuseSeconds 0.5 is raised to the 2 s interval",
  );
  h.call(fid, { type: "scheduler.decline", offerIds: [offers[1]!.offerId] });
  t.is(framework.filters[1]?.role, "b");
  h.call(fid, { type: "scheduler.revive", roles: ["a"] });
  t.deepEqual(
    framework.filters.map((f) => f.role),
    ["b"],
    "revive clears the filters of its roles only",
  );
  const mark = h.mark();
  h.flush();
  t.deepEqual(
    h.offersTo(fid, mark).map((o) => [o.role, o.resources]),
    [["b", { cpus: 1, mem: 1024, "cpus(b)": 1 }]],
    "b is poorer; its filter holds cpus(b):1 only, so the larger offer passes it",
  );
  t.deepEqual(h.invariants(), []);
});

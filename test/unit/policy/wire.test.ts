import test from "ava";
import { contextFromWire, contextToWire, decisionToWire } from "../../../actors/policy/wire.ts";
import type { AllocationContext, AllocationDecision } from "../../../policies/types.ts";
import { decodeAs, encode } from "../../../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { Resources } from "../../../protocol/resources.ts";

const R = (s: string) => Resources.parse(s);

function fullContext(): AllocationContext {
  return {
    now: 1234,
    total: R("cpus:8;mem:8192;cpus(web):2;ports:[31000-31010]"),
    agents: [
      {
        agentId: "a1",
        hostname: "h1",
        total: R("cpus:8;mem:8192;cpus(web):2;ports:[31000-31010]"),
        free: R("cpus:4;mem:2048;ports:[31000-31005]"),
        attributes: { rack: "r1", slots: 4 },
      },
    ],
    frameworks: [
      {
        frameworkId: "f1",
        roles: ["web", "*"],
        active: true,
        allocation: { web: R("cpus:2;mem:1024"), "*": R("cpus:1") },
        suppressedRoles: ["*"],
        filters: [{ agentId: "a1", role: "web", resources: R("cpus:1"), expiresAt: 5000 }],
        allocations: 7,
        priority: 2,
      },
    ],
    roles: {
      web: { weight: 2, priority: 1, quota: { guarantee: R("cpus:1"), limit: R("cpus:4") } },
      "eng/batch": { weight: 0.5 },
    },
    allocationInterval: 1000,
    minAllocatable: [{ cpus: 1, mem: 256 }, { gpus: 1 }],
  };
}

test("policy wire - a context survives the wire: resources come back as Resources", (t) => {
  const context = fullContext();
  const decoded = decodeAs(encode({ type: "policy.allocate", context: contextToWire(context) }), [
    "policy.allocate",
  ]);
  const back = contextFromWire(decoded.context);
  t.true(back.total instanceof Resources);
  t.true(back.total.equals(context.total));
  t.true(back.agents[0]!.free.equals(context.agents[0]!.free));
  t.deepEqual(back.agents[0]!.attributes, { rack: "r1", slots: 4 });
  t.true(back.frameworks[0]!.allocation.web!.equals(R("cpus:2;mem:1024")));
  t.true(back.frameworks[0]!.filters[0]!.resources.equals(R("cpus:1")));
  t.is(back.frameworks[0]!.filters[0]!.role, "web");
  t.true(back.roles.web!.quota!.limit!.equals(R("cpus:4")));
  t.is(back.roles["eng/batch"]!.weight, 0.5);
  t.deepEqual(back.minAllocatable, [{ cpus: 1, mem: 256 }, { gpus: 1 }]);
  // the round trip is the identity on the wire form
  t.deepEqual(contextToWire(back), contextToWire(context));
});

test("policy wire - a malformed resource set is INVALID_RESOURCES naming its path", (t) => {
  const wire = contextToWire(fullContext());
  wire.frameworks[0]!.allocation.web = { ports: [[9, 1]] };
  const err = t.throws(() => contextFromWire(wire), { instanceOf: AgoraError });
  t.is(err?.code, ErrorCode.InvalidResources);
  t.regex(err?.message ?? "", /^\/frameworks\/0\/allocation\/web: /);
});

test("policy wire - a decision goes out as JSON; anything else is INTERNAL", (t) => {
  const decision: AllocationDecision = {
    allocations: [{ frameworkId: "f1", role: "*", agentId: "a1", resources: R("cpus:1;mem:64") }],
  };
  t.deepEqual(decisionToWire(decision), [
    { frameworkId: "f1", role: "*", agentId: "a1", resources: { cpus: 1, mem: 64 } },
  ]);
  for (const bad of [
    undefined,
    {},
    { allocations: [{ frameworkId: "f1" }] },
    { allocations: [null] },
  ]) {
    const err = t.throws(() => decisionToWire(bad as unknown as AllocationDecision), {
      instanceOf: AgoraError,
    });
    t.is(err?.code, ErrorCode.Internal);
  }
});

import test from "ava";
import { checkDecision, stillValid } from "../../../actors/policy/validate.ts";
import type { AllocationContext, FrameworkStanding } from "../../../policies/types.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import type { PolicyAllocationJson } from "../../../protocol/policy.ts";
import { Resources } from "../../../protocol/resources.ts";

const R = (s: string) => Resources.parse(s);

function framework(frameworkId: string, extra: Partial<FrameworkStanding> = {}): FrameworkStanding {
  return {
    frameworkId,
    roles: ["*", "web"],
    active: true,
    allocation: {},
    suppressedRoles: [],
    filters: [],
    ...extra,
  };
}

function context(extra: Partial<AllocationContext> = {}): AllocationContext {
  const total = R("cpus:4;mem:4096;cpus(web):1");
  return {
    now: 1000,
    total,
    agents: [
      { agentId: "a1", hostname: "h1", total, free: R("cpus:2;mem:2048;cpus(web):1") },
      { agentId: "a2", hostname: "h2", total, free: R("cpus:4;mem:4096") },
    ],
    frameworks: [
      framework("f1"),
      framework("f2"),
      framework("off", { active: false }),
      framework("quiet", { suppressedRoles: ["*"] }),
      framework("declined", {
        filters: [{ agentId: "a2", resources: R("cpus:4;mem:4096"), expiresAt: 2000 }],
      }),
    ],
    roles: {},
    ...extra,
  };
}

const alloc = (
  frameworkId: string,
  agentId: string,
  resources: PolicyAllocationJson["resources"],
  role = "*",
): PolicyAllocationJson => ({ frameworkId, agentId, role, resources });

test("policy validate - a sound decision becomes allocations", (t) => {
  const allocations = checkDecision(
    [
      alloc("f1", "a1", { cpus: 1, mem: 1024 }),
      alloc("f2", "a1", { cpus: 1, mem: 1024 }),
      alloc("f1", "a1", { "cpus(web)": 1 }, "web"),
      alloc("f2", "a2", { cpus: 4, mem: 4096 }),
    ],
    context(),
  );
  t.is(allocations.length, 4);
  t.true(allocations[2]!.resources.equals(R("cpus(web):1")));
});

const rejected: Array<[string, PolicyAllocationJson[], RegExp]> = [
  ["an unknown framework", [alloc("ghost", "a1", { cpus: 1 })], /unknown framework/],
  ["an inactive framework", [alloc("off", "a1", { cpus: 1 })], /not active/],
  ["a role the framework lacks", [alloc("f1", "a1", { cpus: 1 }, "db")], /did not subscribe/],
  ["a suppressed role", [alloc("quiet", "a1", { cpus: 1 })], /suppressed/],
  ["an unknown agent", [alloc("f1", "a9", { cpus: 1 })], /unknown agent/],
  ["no resources", [alloc("f1", "a1", {})], /no resources/],
  ["another role's reservation", [alloc("f1", "a1", { "cpus(web)": 1 })], /reserved/],
  ["more than free", [alloc("f1", "a1", { cpus: 3 })], /only .* free/],
  [
    "more than free in sum",
    [alloc("f1", "a1", { cpus: 1.5 }), alloc("f2", "a1", { cpus: 1 })],
    /allocation 2 .*only cpus:0.5/,
  ],
  ["declined resources", [alloc("declined", "a2", { cpus: 4, mem: 4096 })], /declined/],
  ["a repeated (framework, agent, role)", [alloc("f1", "a2", { cpus: 1 })], /repeats/],
  ["malformed resources", [alloc("f1", "a1", { ports: [[5, 1]] })], /malformed resources/],
];

for (const [what, allocations, message] of rejected) {
  test(`policy validate - ${what} rejects the whole decision`, (t) => {
    const err = t.throws(
      () => checkDecision([alloc("f1", "a2", { mem: 64 }), ...allocations], context()),
      {
        instanceOf: AgoraError,
      },
    );
    t.is(err?.code, ErrorCode.InvalidMessage);
    t.regex(err?.message ?? "", message);
  });
}

test("policy validate - stillValid keeps only what can still be allocated", (t) => {
  const decided = checkDecision(
    [alloc("f1", "a1", { cpus: 2, mem: 2048 }), alloc("f2", "a2", { cpus: 4, mem: 4096 })],
    context(),
  );
  // since: a1 lost half its free resources to another offer, f2 went away
  const later = context({
    agents: [
      { agentId: "a1", hostname: "h1", total: R("cpus:4;mem:4096"), free: R("cpus:1;mem:1024") },
      { agentId: "a2", hostname: "h2", total: R("cpus:4;mem:4096"), free: R("cpus:4;mem:4096") },
    ],
    frameworks: [framework("f1")],
  });
  t.deepEqual(stillValid(decided, later), []);
  const stillFree = context({ frameworks: [framework("f1"), framework("f2")] });
  t.is(stillValid(decided, stillFree).length, 2);
});

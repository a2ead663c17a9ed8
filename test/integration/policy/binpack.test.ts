/**
 * The example policy examples/policies/binpack.ts: first as a pure function
 * (no broker needed), then served by the generic policy host over a real
 * nats-server and asked by a master-side client, as `agora policy serve`
 * runs it. Copy this file with the example when you write your own policy.
 */
import test from "ava";
import { createPolicyHost } from "../../../actors/policy/host.ts";
import { loadPolicyModule } from "../../../actors/policy/load.ts";
import { contextToWire } from "../../../actors/policy/wire.ts";
import binpack, { allocateBinpack } from "../../../examples/policies/binpack.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { request } from "../../../infra/request.ts";
import type { AgentSlot, AllocationContext, FrameworkStanding } from "../../../policies/types.ts";
import { Resources } from "../../../protocol/resources.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";

const R = (s: string) => Resources.parse(s);
const nats = useNatsServer(test, { jetstream: false });

function agent(agentId: string, total: string, free = total): AgentSlot {
  return { agentId, hostname: agentId, total: R(total), free: R(free) };
}

function framework(
  frameworkId: string,
  allocation: Record<string, string> = {},
  extra: Partial<FrameworkStanding> = {},
): FrameworkStanding {
  return {
    frameworkId,
    roles: ["*"],
    active: true,
    allocation: Object.fromEntries(Object.entries(allocation).map(([role, r]) => [role, R(r)])),
    suppressedRoles: [],
    filters: [],
    ...extra,
  };
}

function context(agents: AgentSlot[], frameworks: FrameworkStanding[]): AllocationContext {
  let total = Resources.empty();
  for (const a of agents) total = total.add(a.total);
  return { now: 1000, total, agents, frameworks, roles: {} };
}

/** `agentId → frameworkId` of a decision. */
function placement(decision: ReturnType<typeof allocateBinpack>): Record<string, string> {
  return Object.fromEntries(decision.allocations.map((a) => [a.agentId, a.frameworkId]));
}

test("binpack - the framework holding the most gets every free agent", (t) => {
  const decision = allocateBinpack(
    context(
      [agent("a1", "cpus:4;mem:4096"), agent("a2", "cpus:4;mem:4096")],
      [framework("poor"), framework("rich", { "*": "cpus:1;mem:512" })],
    ),
  );
  t.deepEqual(placement(decision), { a1: "rich", a2: "rich" });
  t.true(decision.allocations[0]!.resources.equals(R("cpus:4;mem:4096")));
});

test("binpack - the fullest agent is filled first", (t) => {
  const decision = allocateBinpack(
    context(
      [
        agent("empty", "cpus:4;mem:4096"),
        agent("half", "cpus:4;mem:4096", "cpus:2;mem:2048"),
        agent("nearly", "cpus:4;mem:4096", "cpus:0.5;mem:512"),
      ],
      [framework("only")],
    ),
  );
  t.deepEqual(
    decision.allocations.map((a) => a.agentId),
    ["nearly", "half", "empty"],
  );
});

test("binpack - inactive, suppressed and filtered frameworks are skipped", (t) => {
  const a1 = agent("a1", "cpus:2;mem:1024");
  const decision = allocateBinpack(
    context(
      [a1],
      [
        framework("gone", { "*": "cpus:8" }, { active: false }),
        framework("quiet", { "*": "cpus:4" }, { suppressedRoles: ["*"] }),
        framework(
          "declined",
          { "*": "cpus:2" },
          { filters: [{ agentId: "a1", resources: a1.free, expiresAt: 5000 }] },
        ),
        framework("taker"),
      ],
    ),
  );
  t.deepEqual(placement(decision), { a1: "taker" });
});

test("binpack - resources reserved to a role go only to that role", (t) => {
  const decision = allocateBinpack(
    context(
      [agent("a1", "cpus:2;mem:1024;cpus(web):1")],
      [framework("batch", { "*": "cpus:1" }), framework("web", {}, { roles: ["web"] })],
    ),
  );
  const byFramework = Object.fromEntries(
    decision.allocations.map((a) => [a.frameworkId, a.resources.toString()]),
  );
  t.deepEqual(byFramework, { batch: "cpus:2;mem:1024", web: "cpus(web):1" });
});

test("binpack - served by the policy host, it answers over NATS", async (t) => {
  const nc = await connect({ servers: nats().url, name: "binpack-test" });
  const subjects = new Subjects("binpack");
  const policy = await loadPolicyModule("examples/policies/binpack.ts", { name: "binpack" });
  t.is(policy, binpack);
  const host = createPolicyHost({ nc, logger: silentLogger(), subjects, name: "binpack", policy });
  try {
    await host.start();
    const ctx = context(
      [agent("a1", "cpus:4;mem:4096"), agent("a2", "cpus:4;mem:4096")],
      [framework("poor"), framework("rich", { "*": "cpus:1;mem:512" })],
    );
    const reply = await request(
      nc,
      subjects.policy("binpack"),
      { type: "policy.allocate", context: contextToWire(ctx) },
      ["policy.decision"],
      5000,
    );
    t.deepEqual(reply.allocations, [
      { frameworkId: "rich", role: "*", agentId: "a1", resources: { cpus: 4, mem: 4096 } },
      { frameworkId: "rich", role: "*", agentId: "a2", resources: { cpus: 4, mem: 4096 } },
    ]);
    t.is(host.metrics.get("decisions"), 1);
  } finally {
    await host.stop();
    await closeGracefully(nc);
  }
});

import test from "ava";
import { drfOrdering } from "../../../policies/drf.ts";
import { explainFramework } from "../../../policies/explain.ts";
import { allocateDrf } from "../../../policies/index.ts";
import { agent, context, framework, R, role, summary } from "./helpers.ts";

const lines = (ctx: Parameters<typeof explainFramework>[0], id: string, r?: string) =>
  explainFramework(ctx, drfOrdering, id, r)?.flatMap((e) => [
    `${e.role} ${e.share}`,
    ...e.reasons.map((reason) => `${reason.kind}: ${reason.message}`),
  ]);

test("explain - an inactive and a suppressed framework say so", (t) => {
  const ctx = context(
    [agent("a1", "cpus:4;mem:4096")],
    [
      framework("off", { active: false }),
      framework("quiet", { roles: ["web", "batch"], suppressedRoles: ["web"] }),
    ],
  );
  t.deepEqual(lines(ctx, "off"), [
    "* 0",
    "inactive: the framework is not connected (or has not called since it subscribed)",
  ]);
  t.deepEqual(lines(ctx, "quiet"), [
    "web 0",
    "suppressed: offers for web are suppressed (revive)",
    "batch 0",
    "wouldReceive: first in line for 1 agent: the next cycle offers them",
  ]);
  t.deepEqual(lines(ctx, "quiet", "batch"), [
    "batch 0",
    "wouldReceive: first in line for 1 agent: the next cycle offers them",
  ]);
  t.is(explainFramework(ctx, drfOrdering, "nobody"), undefined);
  t.is(explainFramework(ctx, drfOrdering, "quiet", "other"), undefined);
});

test("explain - no agents, filters with their expiry, and who comes first with shares", (t) => {
  t.deepEqual(lines(context([], [framework("f1")]), "f1"), [
    "* 0",
    "noAgents: no agent has allocatable free resources (cpus:0.01 or mem:32)",
  ]);
  const ctx = context(
    [
      agent("a1", "cpus:4;mem:4096"),
      agent("a2", "cpus:4;mem:4096"),
      agent("a3", "cpus:4;mem:4096"),
    ],
    [
      framework("rich", { allocation: { "*": "cpus:2;mem:2048" } }),
      framework("poor", {
        filters: [
          { agentId: "a1", resources: R("cpus:8;mem:8192"), expiresAt: 6000 },
          { agentId: "a2", resources: R("cpus:8;mem:8192"), expiresAt: 4000 },
        ],
      }),
    ],
    { total: R("cpus:8;mem:8192") },
  );
  const [poor] = explainFramework(ctx, drfOrdering, "poor")!;
  t.deepEqual(poor!.reasons[0], {
    kind: "filtered",
    agents: 2,
    until: 6000,
    filters: [
      { agentId: "a2", resources: "cpus:8;mem:8192", expiresAt: 4000 },
      { agentId: "a1", resources: "cpus:8;mem:8192", expiresAt: 6000 },
    ],
    message: "2 agents declined with a filter (the last expires at 1970-01-01T00:00:06.000Z)",
  });
  t.deepEqual(poor!.reasons.slice(1), [
    {
      kind: "wouldReceive",
      agents: 1,
      message: "first in line for 1 agent: the next cycle offers them",
    },
  ]);
  t.deepEqual(lines(ctx, "rich"), [
    "* 0.25",
    "outranked: 3 agents pass every check, offered first to poor (share 0); shares are updated after each offer",
  ]);
  // the cycle agrees: a3 goes to poor, a1 and a2 (filtered for poor) to rich
  t.deepEqual(summary(allocateDrf(ctx)), [
    "a1->rich(*):cpus:4;mem:4096",
    "a2->rich(*):cpus:4;mem:4096",
    "a3->poor(*):cpus:4;mem:4096",
  ]);
});

test("explain - a quota limit, guarantee headroom, reservations and roles ahead", (t) => {
  const ctx = context(
    [agent("a1", "cpus:2;mem:2048"), agent("a2", "cpus(prod):2;mem(prod):2048")],
    [
      framework("dev1", { roles: ["dev"], allocation: { dev: "cpus:2;mem:2048" } }),
      framework("prod1", { roles: ["prod"] }),
      framework("other", { roles: ["other"] }),
    ],
    {
      total: R("cpus:4;mem:4096;cpus(prod):2;mem(prod):2048"),
      roles: {
        dev: role({ limit: "cpus:2;mem:2048" }),
        prod: role({ guarantee: "cpus:6;mem:6144" }),
      },
    },
  );
  t.deepEqual(lines(ctx, "dev1"), [
    "dev 0.3333",
    "reservedElsewhere: 1 agent free only in resources reserved for other roles",
    "quotaLimit: 1 agent held back by the quota limit of dev (limit cpus:2;mem:2048, consumed cpus:2;mem:2048)",
  ]);
  t.deepEqual(lines(ctx, "other"), [
    "other 0",
    "reservedElsewhere: 1 agent free only in resources reserved for other roles",
    "headroom: 1 agent held back as headroom for other roles' quota guarantees (required cpus:4;mem:4096, available cpus:2;mem:2048)",
  ]);
  t.deepEqual(lines(ctx, "prod1"), [
    "prod 0",
    "wouldReceive: first in line for 2 agents: the next cycle offers them",
  ]);
  t.deepEqual(summary(allocateDrf(ctx)), [
    "a1->prod1(prod):cpus:2;mem:2048",
    "a2->prod1(prod):cpus(prod):2;mem(prod):2048",
  ]);
});

import test from "ava";
import { allocateDrf, drfPolicy } from "../../../policies/drf.ts";
import { policyNames, resolvePolicy } from "../../../policies/index.ts";
import { dominantShare } from "../../../policies/shares.ts";
import type { AllocationContext, DeclineFilter } from "../../../policies/types.ts";
import { isFiltered } from "../../../policies/types.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { Resources } from "../../../protocol/resources.ts";
import { agent, context, framework, R, summary as summarize } from "./helpers.ts";

const summary = (ctx: AllocationContext) => summarize(allocateDrf(ctx));

test("drf - the whole free agent goes to the framework with the lowest dominant share", (t) => {
  const ctx = context(
    [agent("a1", "cpus:10;mem:10000", "cpus:4;mem:4000")],
    [
      framework("f1", { allocation: { "*": "cpus:4;mem:1000" } }),
      framework("f2", { allocation: { "*": "cpus:1;mem:2000" } }),
    ],
  );
  t.deepEqual(summary(ctx), ["a1->f2(*):cpus:4;mem:4000"]);
});

test("drf - agents and leftovers below the context's minAllocatable are not offered", (t) => {
  const agents = [
    agent("a1", "cpus:4;mem:4096", "cpus:0.5;mem:4096"),
    agent("a2", "cpus:2;mem:512"),
  ];
  const frameworks = [framework("f1")];
  t.deepEqual(summary(context(agents, frameworks)), [
    "a1->f1(*):cpus:0.5;mem:4096",
    "a2->f1(*):cpus:2;mem:512",
  ]);
  t.deepEqual(summary(context(agents, frameworks, { minAllocatable: [{ cpus: 1, mem: 256 }] })), [
    "a2->f1(*):cpus:2;mem:512",
  ]);
});

test("drf - shares are updated as agents are visited", (t) => {
  const ctx = context(
    [
      agent("a1", "cpus:2;mem:2048"),
      agent("a2", "cpus:2;mem:2048"),
      agent("a3", "cpus:2;mem:2048"),
    ],
    [framework("f1"), framework("f2")],
  );
  t.deepEqual(summary(ctx), [
    "a1->f1(*):cpus:2;mem:2048",
    "a2->f2(*):cpus:2;mem:2048",
    "a3->f1(*):cpus:2;mem:2048",
  ]);
});

test("drf - equal shares go to fewer allocations, then to the smaller id", (t) => {
  const one = context([agent("a1", "cpus:1;mem:128")], [framework("f2"), framework("f1")]);
  t.deepEqual(summary(one), ["a1->f1(*):cpus:1;mem:128"]);
  const two = context(
    [agent("a1", "cpus:1;mem:128")],
    [framework("f1", { allocations: 3 }), framework("f2", { allocations: 1 })],
  );
  t.deepEqual(summary(two), ["a1->f2(*):cpus:1;mem:128"]);
});

test("drf - the DRF paper example: A ⟨1 cpu, 4 GB⟩ gets 3 tasks, B ⟨3 cpus, 1 GB⟩ gets 2", (t) => {
  // Ghodsi et al., NSDI 2011, §4: 9 cpus, 18 GB. Each round the chosen framework
  // launches one task on its offer and declines the rest; a framework whose
  // task does not fit declines with a filter.
  const total = R("cpus:9;mem:18432");
  const demand: Record<string, Resources> = { A: R("cpus:1;mem:4096"), B: R("cpus:3;mem:1024") };
  const used: Record<string, Resources> = { A: Resources.empty(), B: Resources.empty() };
  const tasks: Record<string, number> = { A: 0, B: 0 };
  const allocations: Record<string, number> = { A: 0, B: 0 };
  const filters: Record<string, DeclineFilter[]> = { A: [], B: [] };
  for (let round = 0; round < 50; round++) {
    const free = total.subtract(used.A!).subtract(used.B!);
    const ctx = context(
      [{ agentId: "node", hostname: "node", total, free }],
      ["A", "B"].map((id) =>
        framework(id, {
          allocation: { "*": used[id]!.toString() },
          allocations: allocations[id],
          filters: filters[id],
        }),
      ),
    );
    const decision = drfPolicy.allocate(ctx);
    if (decision.allocations.length === 0) break;
    t.is(decision.allocations.length, 1);
    const { frameworkId, resources } = decision.allocations[0]!;
    allocations[frameworkId]! += 1;
    if (resources.contains(demand[frameworkId]!)) {
      used[frameworkId] = used[frameworkId]!.add(demand[frameworkId]!);
      tasks[frameworkId]! += 1;
    } else {
      filters[frameworkId]!.push({
        agentId: "node",
        resources,
        expiresAt: Number.MAX_SAFE_INTEGER,
      });
    }
  }
  t.deepEqual(tasks, { A: 3, B: 2 });
  t.is(dominantShare(used.A!, total), 2 / 3);
  t.is(dominantShare(used.B!, total), 2 / 3);
});

test("drf - a decline filter skips the framework only for resources it contains", (t) => {
  const filter: DeclineFilter = { agentId: "a1", resources: R("cpus:2;mem:2048"), expiresAt: 5000 };
  const filtered = context(
    [agent("a1", "cpus:4;mem:4096", "cpus:1;mem:1024")],
    [framework("f1", { filters: [filter] }), framework("f2", { allocation: { "*": "cpus:3" } })],
  );
  t.deepEqual(summary(filtered), ["a1->f2(*):cpus:1;mem:1024"]);
  const bigger = context(
    [agent("a1", "cpus:4;mem:4096")],
    [framework("f1", { filters: [filter] }), framework("f2", { allocation: { "*": "cpus:3" } })],
  );
  t.deepEqual(summary(bigger), ["a1->f1(*):cpus:4;mem:4096"]);
  const expired = context(
    [agent("a1", "cpus:4;mem:4096", "cpus:1;mem:1024")],
    [framework("f1", { filters: [filter] })],
    { now: 5000 },
  );
  t.deepEqual(summary(expired), ["a1->f1(*):cpus:1;mem:1024"]);
  t.false(isFiltered([filter], "a2", R("cpus:1"), 0));
});

test("drf - suppressed roles and inactive frameworks get nothing", (t) => {
  const ctx = context(
    [agent("a1", "cpus:1;mem:128")],
    [framework("f1", { suppressedRoles: ["*"] }), framework("f2", { active: false })],
  );
  t.deepEqual(summary(ctx), []);
  const withThird = context(
    [agent("a1", "cpus:1;mem:128")],
    [
      framework("f1", { suppressedRoles: ["*"] }),
      framework("f2", { active: false }),
      framework("f3", { allocation: { "*": "cpus:100" } }),
    ],
  );
  t.deepEqual(summary(withThird), ["a1->f3(*):cpus:1;mem:128"]);
});

test("drf - leftovers below cpus:0.01 and mem:32 are not offered (either one suffices)", (t) => {
  const fws = [framework("f1")];
  t.deepEqual(summary(context([agent("a1", "cpus:4;mem:4096", "cpus:0.009;mem:31")], fws)), []);
  t.deepEqual(summary(context([agent("a1", "cpus:4;mem:4096", "cpus:0.01")], fws)), [
    "a1->f1(*):cpus:0.01",
  ]);
  t.deepEqual(summary(context([agent("a1", "cpus:4;mem:4096", "mem:32;disk:5")], fws)), [
    "a1->f1(*):mem:32;disk:5",
  ]);
});

test("drf - roles by weighted share; reserved resources only to their role", (t) => {
  const agents = [agent("a1", "cpus:2;mem:2048;cpus(web):2"), agent("a2", "cpus:2;mem:2048")];
  const ctx = context(agents, [
    framework("web-fw", { roles: ["web"], allocation: { web: "cpus:2" } }),
    framework("batch-fw", { roles: ["batch"], allocation: { batch: "cpus:1" } }),
  ]);
  // batch (1/6) is poorer than web (2/6): it gets a1's unreserved part, web gets a1's
  // reservation; then batch holds 3/6 and web 4/6, so a2 goes to batch too.
  t.deepEqual(summary(ctx), [
    "a1->batch-fw(batch):cpus:2;mem:2048",
    "a1->web-fw(web):cpus(web):2",
    "a2->batch-fw(batch):cpus:2;mem:2048",
  ]);
  const weighted = context(
    agents.slice(1),
    [
      framework("web-fw", { roles: ["web"], allocation: { web: "cpus:2" } }),
      framework("batch-fw", { roles: ["batch"], allocation: { batch: "cpus:1" } }),
    ],
    { roles: { web: { weight: 4 } } },
  );
  t.deepEqual(summary(weighted), ["a2->web-fw(web):cpus:2;mem:2048"]);
});

test("drf - the context is not modified", (t) => {
  const ctx = context([agent("a1", "cpus:2;mem:2048")], [framework("f1")]);
  const before = JSON.stringify(ctx);
  allocateDrf(ctx);
  t.is(JSON.stringify(ctx), before);
});

test("policies - resolvePolicy knows drf and names the known ones for an unknown name", (t) => {
  t.is(resolvePolicy("drf"), drfPolicy);
  t.deepEqual(policyNames(), ["drf", "priority"]);
  const err = t.throws(() => resolvePolicy("fifo"), { instanceOf: AgoraError });
  t.is(err?.code, ErrorCode.InvalidConfig);
  t.regex(err?.message ?? "", /unknown allocation policy "fifo" \(known: drf, priority\)/);
});

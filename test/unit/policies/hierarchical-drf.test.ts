import test from "ava";
import { allocateDrf } from "../../../policies/drf.ts";
import { sortRoleTree } from "../../../policies/role-tree.ts";
import { agent, context, framework, R, role, summary } from "./helpers.ts";

const ones = (n: number) =>
  Array.from({ length: n }, (_, i) => agent(`n${i + 1}`, "cpus:1;mem:1024"));

test("role tree - siblings by key, subtrees kept together, pre-order", (t) => {
  const keys: Record<string, number> = { a: 0.5, "a/x": 0.1, "a/y": 0, b: 0.2, c: 0.9 };
  const order = sortRoleTree(["a/x", "a/y", "b", "c"], (path) => ({
    share: keys[path] ?? 0,
    count: 0,
  }));
  t.deepEqual(order, ["b", "a/y", "a/x", "c"]);
});

test("role tree - a role with frameworks and sub-roles competes as a virtual leaf", (t) => {
  const order = sortRoleTree(["a", "a/x"], (path, own) => ({
    share: own ? 0.3 : path === "a/x" ? 0.1 : 0.4,
    count: 0,
  }));
  t.deepEqual(order, ["a/x", "a"]);
  const tied = sortRoleTree(["a", "a/x"], () => ({ share: 0, count: 0 }));
  t.deepEqual(tied, ["a", "a/x"], "ties: the virtual leaf `a/.` sorts before `a/x`");
});

test("role tree - ties go to fewer allocations, then to the name", (t) => {
  const counts: Record<string, number> = { a: 2, b: 1, c: 1 };
  t.deepEqual(
    sortRoleTree(["a", "b", "c"], (p) => ({ share: 0, count: counts[p] ?? 0 })),
    ["b", "c", "a"],
  );
});

test("drf - nested roles: a parent's share includes its sub-roles", (t) => {
  // eng/web and eng/batch share eng's half against ops: hierarchical DRF gives
  // ops 2 of 4 agents, where flat DRF over three roles would give it 1 or 2.
  const decision = allocateDrf(
    context(ones(4), [
      framework("web", { roles: ["eng/web"] }),
      framework("batch", { roles: ["eng/batch"] }),
      framework("ops", { roles: ["ops"] }),
    ]),
  );
  t.deepEqual(summary(decision), [
    "n1->batch(eng/batch):cpus:1;mem:1024",
    "n2->ops(ops):cpus:1;mem:1024",
    "n3->web(eng/web):cpus:1;mem:1024",
    "n4->ops(ops):cpus:1;mem:1024",
  ]);
});

test("drf - existing allocations of a sub-role count for its parent", (t) => {
  const decision = allocateDrf(
    context(
      [agent("n1", "cpus:4;mem:4096", "cpus:1;mem:1024")],
      [
        framework("web", { roles: ["eng/web"], allocation: { "eng/web": "cpus:2;mem:2048" } }),
        framework("batch", { roles: ["eng/batch"] }),
        framework("ops", { roles: ["ops"], allocation: { ops: "cpus:1;mem:1024" } }),
      ],
    ),
  );
  // eng holds 2/4 (all in eng/web), ops 1/4: ops comes first although eng/batch holds nothing.
  t.deepEqual(summary(decision), ["n1->ops(ops):cpus:1;mem:1024"]);
});

test("drf - weights of parents and sub-roles", (t) => {
  const frameworks = [
    framework("web", { roles: ["eng/web"] }),
    framework("batch", { roles: ["eng/batch"] }),
    framework("ops", { roles: ["ops"] }),
  ];
  const weighted = allocateDrf(
    context(ones(6), frameworks, {
      roles: { eng: role({ weight: 2 }), "eng/web": role({ weight: 3 }) },
    }),
  );
  const count = (id: string) => weighted.allocations.filter((a) => a.frameworkId === id).length;
  // eng (weight 2) gets 4 of 6; within eng, web (weight 3) gets 3 of those 4.
  t.is(count("ops"), 2);
  t.is(count("web"), 3);
  t.is(count("batch"), 1);
});

test("drf - frameworks within a role by their share, then fewer allocations, then id", (t) => {
  const decision = allocateDrf(
    context(ones(3), [
      framework("f2", { roles: ["r"] }),
      framework("f1", { roles: ["r"], allocations: 1 }),
      framework("f3", { roles: ["r"], allocation: { r: "cpus:1" } }),
    ]),
  );
  t.deepEqual(summary(decision), [
    "n1->f2(r):cpus:1;mem:1024",
    "n2->f1(r):cpus:1;mem:1024",
    "n3->f3(r):cpus:1;mem:1024",
  ]);
});

test("drf - a multi-role framework gets one offer per (agent, role)", (t) => {
  const decision = allocateDrf(
    context(
      [agent("n1", "cpus:2;mem:2048;cpus(a):1;cpus(b):1")],
      [framework("f", { roles: ["a", "b"] })],
    ),
  );
  t.deepEqual(summary(decision), ["n1->f(a):cpus:2;cpus(a):1;mem:2048", "n1->f(b):cpus(b):1"]);
});

test("drf - decline filters are per role", (t) => {
  const filter = { agentId: "n1", role: "a", resources: R("cpus:2;mem:2048"), expiresAt: 5000 };
  const decision = allocateDrf(
    context(
      [agent("n1", "cpus:2;mem:2048")],
      [framework("f", { roles: ["a", "b"], filters: [filter] })],
    ),
  );
  t.deepEqual(summary(decision), ["n1->f(b):cpus:2;mem:2048"]);
});

import test from "ava";
import { allocateDrf } from "../../../policies/drf.ts";
import { resolvePolicy } from "../../../policies/index.ts";
import { allocatePriority, effectivePriority, priorityPolicy } from "../../../policies/priority.ts";
import { agent, context, framework, R, role, summary } from "./helpers.ts";

const twoAgents = () => [agent("n1", "cpus:2;mem:2048"), agent("n2", "cpus:2;mem:2048")];

test("priority - resolved by name", (t) => {
  t.is(resolvePolicy("priority"), priorityPolicy);
});

test("priority - a higher priority role is always offered first, whatever its share", (t) => {
  const frameworks = [
    framework("lo", { roles: ["lo"] }),
    framework("hi", { roles: ["hi"], allocation: { hi: "cpus:4;mem:4096" } }),
  ];
  const agents = [
    agent("n1", "cpus:6;mem:6144", "cpus:2;mem:2048"),
    agent("n2", "cpus:6;mem:6144", "cpus:2;mem:2048"),
  ];
  const roles = { hi: role({ priority: 10 }), lo: role({ priority: 1 }) };
  t.deepEqual(summary(allocatePriority(context(agents, frameworks, { roles }))), [
    "n1->hi(hi):cpus:2;mem:2048",
    "n2->hi(hi):cpus:2;mem:2048",
  ]);
  t.deepEqual(summary(allocateDrf(context(agents, frameworks, { roles }))), [
    "n1->lo(lo):cpus:2;mem:2048",
    "n2->lo(lo):cpus:2;mem:2048",
  ]);
});

test("priority - lower roles get only what higher ones leave (filtered, suppressed, limited)", (t) => {
  const filter = { agentId: "n1", resources: R("cpus:2;mem:2048"), expiresAt: 5000 };
  const decision = allocatePriority(
    context(
      twoAgents(),
      [framework("hi", { roles: ["hi"], filters: [filter] }), framework("lo", { roles: ["lo"] })],
      { roles: { hi: role({ priority: 2, limit: "cpus:1" }) } },
    ),
  );
  t.deepEqual(summary(decision), [
    "n1->lo(lo):cpus:2;mem:2048",
    "n2->hi(hi):cpus:1;mem:2048",
    "n2->lo(lo):cpus:1",
  ]);
});

test("priority - sub-roles inherit their nearest ancestor's priority; roles sort flat", (t) => {
  const ctx = context(twoAgents(), [], {
    roles: { eng: role({ priority: 5 }), "eng/web": role({ priority: 1 }) },
  });
  t.is(effectivePriority(ctx, "eng/batch/nightly"), 5);
  t.is(effectivePriority(ctx, "eng/web/api"), 1);
  t.is(effectivePriority(ctx, "ops"), 0);
  const decision = allocatePriority(
    context(
      [
        agent("n1", "cpus:1;mem:1024"),
        agent("n2", "cpus:1;mem:1024"),
        agent("n3", "cpus:1;mem:1024"),
      ],
      [
        framework("web", { roles: ["eng/web"] }),
        framework("batch", { roles: ["eng/batch"] }),
        framework("ops", { roles: ["ops"] }),
      ],
      { roles: ctx.roles },
    ),
  );
  t.deepEqual(summary(decision), [
    "n1->batch(eng/batch):cpus:1;mem:1024",
    "n2->batch(eng/batch):cpus:1;mem:1024",
    "n3->batch(eng/batch):cpus:1;mem:1024",
  ]);
});

test("priority - frameworks of higher priority first within a role; equal ones by DRF", (t) => {
  const decision = allocatePriority(
    context(
      [
        agent("n1", "cpus:1;mem:1024"),
        agent("n2", "cpus:1;mem:1024"),
        agent("n3", "cpus:1;mem:1024"),
      ],
      [
        framework("a", { roles: ["r"] }),
        framework("b", { roles: ["r"] }),
        framework("c", { roles: ["r"], priority: 3, active: true, suppressedRoles: [] }),
      ],
    ),
  );
  t.deepEqual(summary(decision), [
    "n1->c(r):cpus:1;mem:1024",
    "n2->c(r):cpus:1;mem:1024",
    "n3->c(r):cpus:1;mem:1024",
  ]);
  const equal = allocatePriority(
    context(
      [agent("n1", "cpus:1;mem:1024"), agent("n2", "cpus:1;mem:1024")],
      [framework("b", { roles: ["r"] }), framework("a", { roles: ["r"] })],
    ),
  );
  t.deepEqual(summary(equal), ["n1->a(r):cpus:1;mem:1024", "n2->b(r):cpus:1;mem:1024"]);
});

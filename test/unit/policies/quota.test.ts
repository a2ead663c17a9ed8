import test from "ava";
import { allocateDrf } from "../../../policies/drf.ts";
import { shrinkTo, shrinkToLimit } from "../../../policies/quantities.ts";
import { agent, context, framework, R, role, summary } from "./helpers.ts";

const four = () => ["n1", "n2", "n3", "n4"].map((id) => agent(id, "cpus:2;mem:2048"));

test("quantities - shrinkTo drops names the target lacks; shrinkToLimit keeps them", (t) => {
  t.is(`${shrinkTo(R("cpus:4;mem:100;disk:5"), R("cpus:1.5;mem:200"))}`, "cpus:1.5;mem:100");
  t.is(
    `${shrinkToLimit(R("cpus:4;mem:100;disk:5"), R("cpus:3"), R("cpus:2.5"))}`,
    "cpus:0.5;mem:100;disk:5",
  );
  t.is(`${shrinkToLimit(R("cpus:4"), R("cpus:3"), R("cpus:3"))}`, "");
});

test("quota - unsatisfied guarantees are held back from other roles as headroom", (t) => {
  const decision = allocateDrf(
    context(four(), [framework("dev", { roles: ["dev"] })], {
      roles: { prod: role({ guarantee: "cpus:4;mem:4096" }) },
    }),
  );
  t.deepEqual(summary(decision), ["n1->dev(dev):cpus:2;mem:2048", "n2->dev(dev):cpus:2;mem:2048"]);
});

test("quota - headroom is chopped per resource, not per agent", (t) => {
  const decision = allocateDrf(
    context([agent("n1", "cpus:4;mem:4096")], [framework("dev", { roles: ["dev"] })], {
      roles: { prod: role({ guarantee: "cpus:3" }) },
    }),
  );
  t.deepEqual(summary(decision), ["n1->dev(dev):cpus:1;mem:4096"]);
});

test("quota - a role below its guarantee is allocated first (stage 1), bursting within headroom", (t) => {
  const frameworks = [framework("dev", { roles: ["dev"] }), framework("prod", { roles: ["prod"] })];
  const agents = [agent("n1", "cpus:4;mem:4096"), agent("n2", "cpus:4;mem:4096")];
  t.deepEqual(summary(allocateDrf(context(agents, frameworks))), [
    "n1->dev(dev):cpus:4;mem:4096",
    "n2->prod(prod):cpus:4;mem:4096",
  ]);
  const withQuota = context(agents, frameworks, {
    roles: { prod: role({ guarantee: "cpus:2;mem:2048" }) },
  });
  t.deepEqual(summary(allocateDrf(withQuota)), [
    "n1->prod(prod):cpus:4;mem:4096",
    "n2->dev(dev):cpus:4;mem:4096",
  ]);
});

test("quota - guarantee equal to limit: the role gets exactly its quota, the rest goes on", (t) => {
  const decision = allocateDrf(
    context(
      [agent("n1", "cpus:4;mem:4096")],
      [framework("dev", { roles: ["dev"] }), framework("prod", { roles: ["prod"] })],
      { roles: { prod: role({ guarantee: "cpus:2;mem:2048", limit: "cpus:2;mem:2048" }) } },
    ),
  );
  t.deepEqual(summary(decision), [
    "n1->prod(prod):cpus:2;mem:2048",
    "n1->dev(dev):cpus:2;mem:2048",
  ]);
});

test("quota - a limit chops offers; resources it does not name are whole", (t) => {
  const decision = allocateDrf(
    context(
      [agent("n1", "cpus:2;mem:2048"), agent("n2", "cpus:2;mem:2048")],
      [framework("batch", { roles: ["batch"] })],
      { roles: { batch: role({ limit: "cpus:3" }) } },
    ),
  );
  t.deepEqual(summary(decision), [
    "n1->batch(batch):cpus:2;mem:2048",
    "n2->batch(batch):cpus:1;mem:2048",
  ]);
});

test("quota - a role at its cpus limit gets only what the limit does not name", (t) => {
  const decision = allocateDrf(
    context(
      [agent("n1", "cpus:4;mem:4096", "cpus:2;mem:2048")],
      [framework("batch", { roles: ["batch"], allocation: { batch: "cpus:2;mem:2048" } })],
      { roles: { batch: role({ limit: "cpus:2" }) } },
    ),
  );
  t.deepEqual(summary(decision), ["n1->batch(batch):mem:2048"]);
});

test("quota - a parent's limit caps its sub-roles together", (t) => {
  const decision = allocateDrf(
    context(
      [agent("n1", "cpus:2;mem:2048"), agent("n2", "cpus:2;mem:2048")],
      [framework("web", { roles: ["eng/web"] }), framework("batch", { roles: ["eng/batch"] })],
      { roles: { eng: role({ limit: "cpus:3" }) } },
    ),
  );
  t.deepEqual(summary(decision), [
    "n1->batch(eng/batch):cpus:2;mem:2048",
    "n2->web(eng/web):cpus:1;mem:2048",
  ]);
});

test("quota - reservations count towards consumption: limit and guarantee", (t) => {
  const limited = allocateDrf(
    context([agent("n1", "cpus:4;mem:1024;cpus(web):2")], [framework("web", { roles: ["web"] })], {
      roles: { web: role({ limit: "cpus:3" }) },
    }),
  );
  t.deepEqual(summary(limited), ["n1->web(web):cpus:1;cpus(web):2;mem:1024"]);
  // prod's guarantee is met by its reservation: nothing is held back from dev.
  const guaranteed = allocateDrf(
    context(
      [agent("n1", "cpus(prod):2;mem(prod):2048"), agent("n2", "cpus:2;mem:2048")],
      [framework("dev", { roles: ["dev"] })],
      { roles: { prod: role({ guarantee: "cpus:2;mem:2048" }) } },
    ),
  );
  t.deepEqual(summary(guaranteed), ["n2->dev(dev):cpus:2;mem:2048"]);
});

test("quota - what a role holds counts towards its guarantee", (t) => {
  const decision = allocateDrf(
    context(
      [agent("n1", "cpus:4;mem:4096", "cpus:2;mem:2048")],
      [
        framework("dev", { roles: ["dev"] }),
        framework("prod", { roles: ["prod"], allocation: { prod: "cpus:2;mem:2048" } }),
      ],
      { roles: { prod: role({ guarantee: "cpus:2;mem:2048" }) } },
    ),
  );
  t.deepEqual(summary(decision), ["n1->dev(dev):cpus:2;mem:2048"]);
});

test("quota - reserved resources are always offered to their role, whatever the headroom", (t) => {
  const decision = allocateDrf(
    context([agent("n1", "cpus:2;mem:2048;cpus(dev):1")], [framework("dev", { roles: ["dev"] })], {
      roles: { prod: role({ guarantee: "cpus:2;mem:2048" }) },
    }),
  );
  t.deepEqual(summary(decision), ["n1->dev(dev):cpus(dev):1"]);
});

import test from "ava";
import { allocateDrf } from "../../../policies/drf.ts";
import { offerableTo } from "../../../policies/types.ts";
import { agent, context, framework, R, summary } from "./helpers.ts";

test("reservations - offerable to their role and its sub-roles, never to others", (t) => {
  const r = R("cpus:1;cpus(eng):2;cpus(eng/web):3;cpus(ops):4");
  t.is(`${offerableTo(r, "eng")}`, "cpus:1;cpus(eng):2");
  t.is(`${offerableTo(r, "eng/web")}`, "cpus:1;cpus(eng):2;cpus(eng/web):3");
  t.is(`${offerableTo(r, "engineering")}`, "cpus:1");
  t.is(`${offerableTo(r, "*")}`, "cpus:1");
});

test("reservations - only their role gets them; the unreserved part goes by fairness", (t) => {
  const decision = allocateDrf(
    context(
      [agent("n1", "cpus:2;mem:2048;cpus(web):2;mem(web):1024"), agent("n2", "cpus(web):1")],
      [framework("batch", { roles: ["batch"] }), framework("web", { roles: ["web"] })],
    ),
  );
  t.deepEqual(summary(decision), [
    "n1->batch(batch):cpus:2;mem:2048",
    "n1->web(web):cpus(web):2;mem(web):1024",
    "n2->web(web):cpus(web):1",
  ]);
});

test("reservations - a parent's reservation goes to its sub-roles", (t) => {
  const decision = allocateDrf(
    context(
      [agent("n1", "cpus(eng):2;mem(eng):2048")],
      [framework("ops", { roles: ["ops"] }), framework("web", { roles: ["eng/web"] })],
    ),
  );
  t.deepEqual(summary(decision), ["n1->web(eng/web):cpus(eng):2;mem(eng):2048"]);
});

test("reservations - a sub-role's reservation does not go to its parent", (t) => {
  const decision = allocateDrf(
    context(
      [agent("n1", "cpus(eng/web):2;mem(eng/web):2048")],
      [framework("eng", { roles: ["eng"] })],
    ),
  );
  t.deepEqual(summary(decision), []);
});

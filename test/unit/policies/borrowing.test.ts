/**
 * Quota lending and borrowing in the allocation cycle (Kueue's cohorts on
 * the role tree): a role lends its unmet guarantee up to its `lendingLimit`
 * to the roles of the same parent only; a borrower takes it up to its
 * `borrowingLimit` beyond its own guarantee; without a lending limit the
 * guarantee is held back as in Mesos.
 */
import test from "ava";
import { allocateDrf } from "../../../policies/drf.ts";
import type { RoleStanding } from "../../../policies/types.ts";
import { agent, context, framework, R, summary } from "./helpers.ts";

const agents = () => [agent("a1", "cpus:4;mem:4096"), agent("a2", "cpus:4;mem:4096")];

function roles(extra: Record<string, RoleStanding> = {}): Record<string, RoleStanding> {
  return {
    "team/a": { weight: 1, quota: { guarantee: R("cpus:4;mem:4096"), lendingLimit: R("cpus:2") } },
    ...extra,
  };
}

test("borrowing - a sibling borrows up to the lending limit; a role outside the cohort does not", (t) => {
  const sibling = allocateDrf(
    context(agents(), [framework("b", { roles: ["team/b"] })], { roles: roles() }),
  );
  // 4 cpus unguaranteed + 2 lent; mem: 4096 unguaranteed only (the lending limit names cpus)
  t.deepEqual(summary(sibling), ["a1->b(team/b):cpus:4;mem:4096", "a2->b(team/b):cpus:2"]);

  const outsider = allocateDrf(
    context(agents(), [framework("x", { roles: ["other"] })], { roles: roles() }),
  );
  t.deepEqual(summary(outsider), ["a1->x(other):cpus:4;mem:4096"]);
});

test("borrowing - the borrowing limit caps what a role holds beyond its own guarantee", (t) => {
  const capped = allocateDrf(
    context(agents(), [framework("b", { roles: ["team/b"] })], {
      roles: roles({ "team/b": { weight: 1, quota: { borrowingLimit: R("cpus:5") } } }),
    }),
  );
  // a1 is surplus (4 cpus, counted as held beyond team/b's guarantee of nothing): 1 cpu of the lent 2
  t.deepEqual(summary(capped), ["a1->b(team/b):cpus:4;mem:4096", "a2->b(team/b):cpus:1"]);
});

test("borrowing - without a lending limit nothing is lent (Mesos)", (t) => {
  const held = allocateDrf(
    context(agents(), [framework("b", { roles: ["team/b"] })], {
      roles: { "team/a": { weight: 1, quota: { guarantee: R("cpus:4;mem:4096") } } },
    }),
  );
  t.deepEqual(summary(held), ["a1->b(team/b):cpus:4;mem:4096"]);
});

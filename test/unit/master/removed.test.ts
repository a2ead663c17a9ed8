import test from "ava";
import { rememberRemoved } from "../../../actors/master/removed.ts";
import { MAX_REMEMBERED_REMOVED } from "../../../infra/defaults.ts";

test("removed ids - bounded: the oldest are forgotten first, a repeated id counts as new", (t) => {
  const removed = new Set<string>();
  for (let i = 0; i < MAX_REMEMBERED_REMOVED; i++) rememberRemoved(removed, `a${i}`);
  rememberRemoved(removed, "a0"); // removed again: now the newest
  rememberRemoved(removed, "late");
  t.is(removed.size, MAX_REMEMBERED_REMOVED);
  t.true(removed.has("a0"));
  t.false(removed.has("a1"), "the oldest went");
  t.true(removed.has("late"));
});

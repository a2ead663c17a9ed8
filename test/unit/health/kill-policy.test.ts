import test from "ava";
import { killGracePeriodMs } from "../../../actors/executor/health/kill-policy.ts";

test("kill policy - the kill's grace wins, then the task's kill policy, then the legacy field, then the default", (t) => {
  const task = { killPolicy: { gracePeriodSeconds: 2 }, killGracePeriodSeconds: 7 };
  t.is(killGracePeriodMs(task, 0.5, 5000), 500);
  t.is(killGracePeriodMs(task, undefined, 5000), 2000);
  t.is(killGracePeriodMs({ killPolicy: {}, killGracePeriodSeconds: 7 }, undefined, 5000), 7000);
  t.is(killGracePeriodMs({}, undefined, 5000), 5000);
  t.is(killGracePeriodMs({ killPolicy: { gracePeriodSeconds: 0 } }, undefined, 5000), 0);
});

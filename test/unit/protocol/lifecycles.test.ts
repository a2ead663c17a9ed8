import test from "ava";
import { transition } from "xstate";
import { TaskState, TERMINAL_TASK_STATES } from "../../../protocol/common.ts";
import { agentLifecycle } from "../../../protocol/lifecycles/agent.machine.ts";
import { frameworkLifecycle } from "../../../protocol/lifecycles/framework.machine.ts";
import { OfferDelay, offerLifecycle } from "../../../protocol/lifecycles/offer.machine.ts";
import { taskLifecycle } from "../../../protocol/lifecycles/task.machine.ts";

const ALL = Object.values(TaskState);

test("lifecycles - the task table agrees with the machine for every state and event", (t) => {
  for (const from of ALL) {
    const snapshot = taskLifecycle.machine.resolveState({ value: from, context: {} });
    for (const event of ALL) {
      const [next] = transition(taskLifecycle.machine, snapshot, { type: event });
      const expected =
        next.value === from && !taskLifecycle.machine.root.states[from]?.transitions.has(event)
          ? undefined
          : next.value;
      t.is(taskLifecycle.next(from, event), expected, `${from} --${event}-->`);
    }
  }
});

test("lifecycles - terminal task states are final and never change", (t) => {
  for (const state of TERMINAL_TASK_STATES) {
    t.true(taskLifecycle.isFinal(state), state);
    for (const event of ALL)
      t.is(taskLifecycle.next(state, event), undefined, `${state} + ${event}`);
  }
});

test("lifecycles - the Mesos happy path and kill path are legal", (t) => {
  const path = [TaskState.Starting, TaskState.Running, TaskState.Killing, TaskState.Killed];
  let state: TaskState = TaskState.Staging;
  for (const next of path) {
    const to = taskLifecycle.next(state, next);
    t.is(to, next);
    state = next;
  }
  t.is(taskLifecycle.next(TaskState.Running, TaskState.Running), TaskState.Running);
});

test("lifecycles - a live task cannot go back to staging or starting", (t) => {
  t.is(taskLifecycle.next(TaskState.Running, TaskState.Staging), undefined);
  t.is(taskLifecycle.next(TaskState.Running, TaskState.Starting), undefined);
  t.is(taskLifecycle.next(TaskState.Killing, TaskState.Running), undefined);
});

test("lifecycles - an unreachable task comes back when its agent reregisters", (t) => {
  t.is(taskLifecycle.next(TaskState.Running, TaskState.Unreachable), TaskState.Unreachable);
  t.is(taskLifecycle.next(TaskState.Unreachable, TaskState.Running), TaskState.Running);
  t.is(taskLifecycle.next(TaskState.Unreachable, TaskState.Lost), TaskState.Lost);
});

test("lifecycles - an offer is usable once", (t) => {
  t.is(offerLifecycle.next("outstanding", "ACCEPT"), "accepted");
  for (const event of offerLifecycle.events) {
    for (const used of ["accepted", "declined", "rescinded", "expired"] as const) {
      t.is(offerLifecycle.next(used, event), undefined);
    }
  }
});

test("lifecycles - the offer timeout is the machine's named delay: outstanding expires after it", (t) => {
  t.deepEqual(offerLifecycle.timeouts("outstanding"), [
    { delay: OfferDelay.OfferTimeout, target: "expired" },
  ]);
  t.is(offerLifecycle.next("outstanding", "EXPIRE"), "expired", "the timer sends EXPIRE");
  for (const ended of ["accepted", "declined", "rescinded", "expired"] as const) {
    t.deepEqual(offerLifecycle.timeouts(ended), []);
  }
});

test("lifecycles - the task machine's final states are exactly the terminal states", (t) => {
  t.deepEqual(
    ALL.filter((s) => taskLifecycle.isFinal(s)),
    ALL.filter((s) => TERMINAL_TASK_STATES.has(s)),
  );
});

test("lifecycles - agents and frameworks follow DESIGN §4", (t) => {
  t.is(agentLifecycle.next("registering", "REGISTERED"), "active");
  t.is(agentLifecycle.next("active", "PING_TIMEOUT"), "unreachable");
  t.is(agentLifecycle.next("unreachable", "REREGISTERED"), "active");
  t.is(agentLifecycle.next("unreachable", "REMOVE"), "removed");
  t.true(agentLifecycle.isFinal("removed"));
  t.is(frameworkLifecycle.next("subscribed", "DISCONNECT"), "disconnected");
  t.is(frameworkLifecycle.next("disconnected", "SUBSCRIBE"), "subscribed");
  t.is(frameworkLifecycle.next("disconnected", "FAILOVER_TIMEOUT"), "removed");
  t.is(frameworkLifecycle.next("subscribed", "FAILOVER_TIMEOUT"), undefined);
});

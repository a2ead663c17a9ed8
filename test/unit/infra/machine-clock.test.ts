import test from "ava";
import { assign, createActor, setup } from "xstate";
import { VirtualClock } from "../../../infra/clock.ts";
import { machineClock } from "../../../infra/machine-clock.ts";

const machine = setup({
  types: {} as { context: { fired: number }; events: { type: "RESET" } },
  delays: { timeout: 1000 },
}).createMachine({
  id: "t",
  context: { fired: 0 },
  initial: "waiting",
  states: {
    waiting: {
      after: {
        timeout: { target: "done", actions: assign({ fired: ({ context }) => context.fired + 1 }) },
      },
      on: { RESET: { target: "waiting", reenter: true } },
    },
    done: {},
  },
});

test("machine clock - a named delay fires on the virtual clock, and a re-entry restarts it", (t) => {
  const clock = new VirtualClock();
  const actor = createActor(machine, { clock: machineClock(clock) }).start();
  clock.advance(999);
  t.is(actor.getSnapshot().value, "waiting");
  actor.send({ type: "RESET" });
  clock.advance(999);
  t.is(actor.getSnapshot().value, "waiting");
  clock.advance(1);
  t.is(actor.getSnapshot().value, "done");
  t.is(actor.getSnapshot().context.fired, 1);
  actor.stop();
});

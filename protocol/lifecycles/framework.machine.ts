/** The framework lifecycle, as the master sees a framework. */
import { setup } from "xstate";
import { deriveLifecycle } from "./lifecycle.ts";

export const FrameworkState = {
  Subscribed: "subscribed",
  Disconnected: "disconnected",
  Removed: "removed",
} as const;
export type FrameworkState = (typeof FrameworkState)[keyof typeof FrameworkState];

export const FrameworkEvent = {
  Subscribe: "SUBSCRIBE",
  Disconnect: "DISCONNECT",
  FailoverTimeout: "FAILOVER_TIMEOUT",
  Teardown: "TEARDOWN",
} as const;
export type FrameworkEvent = (typeof FrameworkEvent)[keyof typeof FrameworkEvent];

/** The framework lifecycle machine. */
export const frameworkMachine = setup({
  types: {} as { events: { type: FrameworkEvent } },
}).createMachine({
  id: "framework",
  initial: FrameworkState.Subscribed,
  states: {
    [FrameworkState.Subscribed]: {
      on: {
        [FrameworkEvent.Subscribe]: { target: FrameworkState.Subscribed },
        [FrameworkEvent.Disconnect]: { target: FrameworkState.Disconnected },
        [FrameworkEvent.Teardown]: { target: FrameworkState.Removed },
      },
    },
    [FrameworkState.Disconnected]: {
      on: {
        [FrameworkEvent.Subscribe]: { target: FrameworkState.Subscribed },
        [FrameworkEvent.FailoverTimeout]: { target: FrameworkState.Removed },
        [FrameworkEvent.Teardown]: { target: FrameworkState.Removed },
      },
    },
    [FrameworkState.Removed]: { type: "final" },
  },
});

/** The framework transition table derived from {@link frameworkMachine}. */
export const frameworkLifecycle = deriveLifecycle(
  frameworkMachine,
  Object.values(FrameworkState),
  Object.values(FrameworkEvent),
);

/** The agent lifecycle, as the master sees an agent. */
import { setup } from "xstate";
import { deriveLifecycle } from "./lifecycle.ts";

export const AgentState = {
  Registering: "registering",
  Active: "active",
  Unreachable: "unreachable",
  Removed: "removed",
} as const;
export type AgentState = (typeof AgentState)[keyof typeof AgentState];

export const AgentEvent = {
  Registered: "REGISTERED",
  Reregistered: "REREGISTERED",
  PingTimeout: "PING_TIMEOUT",
  Remove: "REMOVE",
} as const;
export type AgentEvent = (typeof AgentEvent)[keyof typeof AgentEvent];

/** The agent lifecycle machine. */
export const agentMachine = setup({ types: {} as { events: { type: AgentEvent } } }).createMachine({
  id: "agent",
  initial: AgentState.Registering,
  states: {
    [AgentState.Registering]: {
      on: {
        [AgentEvent.Registered]: { target: AgentState.Active },
        [AgentEvent.Reregistered]: { target: AgentState.Active },
        [AgentEvent.Remove]: { target: AgentState.Removed },
      },
    },
    [AgentState.Active]: {
      on: {
        [AgentEvent.Reregistered]: { target: AgentState.Active },
        [AgentEvent.PingTimeout]: { target: AgentState.Unreachable },
        [AgentEvent.Remove]: { target: AgentState.Removed },
      },
    },
    [AgentState.Unreachable]: {
      on: {
        [AgentEvent.Reregistered]: { target: AgentState.Active },
        [AgentEvent.Remove]: { target: AgentState.Removed },
      },
    },
    [AgentState.Removed]: { type: "final" },
  },
});

/** The agent transition table derived from {@link agentMachine}. */
export const agentLifecycle = deriveLifecycle(
  agentMachine,
  Object.values(AgentState),
  Object.values(AgentEvent),
);

/** The agent lifecycle, as the master sees an agent. */
import { setup } from "xstate";
import { deriveLifecycle } from "./lifecycle.ts";

export const AgentState = {
  Registering: "registering",
  /** Known from the registry after a master failover; not reregistered yet (not offered). */
  Recovered: "recovered",
  Active: "active",
  Unreachable: "unreachable",
  Removed: "removed",
} as const;
export type AgentState = (typeof AgentState)[keyof typeof AgentState];

export const AgentEvent = {
  Registered: "REGISTERED",
  /** A new leader read the agent from the registry. */
  Recover: "RECOVER",
  Reregistered: "REREGISTERED",
  /** A recovered agent did not reregister within the agent reregister timeout. */
  ReregisterTimeout: "REREGISTER_TIMEOUT",
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
        [AgentEvent.Recover]: { target: AgentState.Recovered },
        [AgentEvent.Remove]: { target: AgentState.Removed },
      },
    },
    [AgentState.Recovered]: {
      on: {
        [AgentEvent.Reregistered]: { target: AgentState.Active },
        [AgentEvent.ReregisterTimeout]: { target: AgentState.Unreachable },
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

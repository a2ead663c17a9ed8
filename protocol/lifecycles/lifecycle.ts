/**
 * Lifecycles are XState v5 machines: the single definition of the legal
 * transitions. Hot paths (hundreds of thousands of tasks in the master) do not
 * run a live actor per object; they use a transition table derived once from
 * the machine by asking it, for every state and event, where it goes.
 */
import { type AnyStateMachine, transition } from "xstate";

/** A transition table derived from a machine, plus the machine itself. */
export interface Lifecycle<S extends string, E extends string> {
  /** The XState machine (for visualisation, simulation and tests). */
  readonly machine: AnyStateMachine;
  readonly states: readonly S[];
  readonly events: readonly E[];
  /** The state after `event` in `from`, or undefined when the event is not legal there. */
  next(from: S, event: E): S | undefined;
  /** True when the state is final (nothing leaves it). */
  isFinal(state: S): boolean;
}

/** Derives the transition table of a flat machine whose states and events are strings. */
export function deriveLifecycle<S extends string, E extends string>(
  machine: AnyStateMachine,
  states: readonly S[],
  events: readonly E[],
): Lifecycle<S, E> {
  const table = new Map<S, Map<E, S>>();
  const finals = new Set<S>();
  for (const from of states) {
    const row = new Map<E, S>();
    const snapshot = machine.resolveState({ value: from, context: {} });
    if (snapshot.status === "done") finals.add(from);
    for (const event of events) {
      if (!machineHandles(machine, from, event)) continue;
      const [next] = transition(machine, snapshot, { type: event });
      row.set(event, next.value as S);
    }
    table.set(from, row);
  }
  return {
    machine,
    states,
    events,
    next: (from, event) => table.get(from)?.get(event),
    isFinal: (state) => finals.has(state),
  };
}

function machineHandles(machine: AnyStateMachine, state: string, event: string): boolean {
  const node = machine.root.states[state];
  return node?.transitions.has(event) ?? false;
}

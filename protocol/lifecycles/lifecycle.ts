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
  /**
   * The machine's named delays in `state` (its `after` transitions): which
   * delay, and the event it stands for. The host schedules a timer for each
   * with the delay's configured value and sends the event when it fires.
   */
  timeouts(state: S): readonly Timeout<S>[];
}

/** A named delay of a state: after `delay`, the machine goes to `target`. */
export interface Timeout<S extends string> {
  readonly delay: string;
  readonly target: S;
}

/** Derives the transition table of a flat machine whose states and events are strings. */
export function deriveLifecycle<S extends string, E extends string>(
  machine: AnyStateMachine,
  states: readonly S[],
  events: readonly E[],
): Lifecycle<S, E> {
  const table = new Map<S, Map<E, S>>();
  const finals = new Set<S>();
  const delayed = new Map<S, Timeout<S>[]>();
  for (const from of states) {
    delayed.set(from, namedDelays<S>(machine, from));
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
    timeouts: (state) => delayed.get(state) ?? [],
  };
}

/** The `after` transitions of a state whose delay is named (not a number). */
function namedDelays<S extends string>(machine: AnyStateMachine, state: string): Timeout<S>[] {
  const node = machine.root.states[state];
  if (node === undefined) return [];
  const out: Timeout<S>[] = [];
  for (const t of node.after) {
    const delay = (t as { delay?: unknown }).delay;
    const target = t.target?.[0]?.key;
    if (typeof delay === "string" && target !== undefined) out.push({ delay, target: target as S });
  }
  return out;
}

function machineHandles(machine: AnyStateMachine, state: string, event: string): boolean {
  const node = machine.root.states[state];
  return node?.transitions.has(event) ?? false;
}

/**
 * The task lifecycle: Mesos `TaskState`. Events are named by the state a
 * status update reports. Terminal states are final; a repeated update of a
 * non-terminal state (e.g. RUNNING with new health) is legal and keeps it.
 * An agent that comes back after being unreachable reports its tasks' real
 * states again, so UNREACHABLE may go back to a live state.
 */
import { setup } from "xstate";
import { TaskState, TERMINAL_TASK_STATES } from "../common.ts";
import { deriveLifecycle } from "./lifecycle.ts";

const S = TaskState;
/** The terminal states, written once (protocol/common.ts); each is a final state here. */
const TERMINAL = Array.from(TERMINAL_TASK_STATES);

type Target = { target: TaskState };
const to = (states: readonly TaskState[]): Record<string, Target> =>
  Object.fromEntries(states.map((s) => [s, { target: s }]));
const final = { type: "final" as const };

/** The task lifecycle machine. */
export const taskMachine = setup({
  types: {} as { events: { type: TaskState } },
}).createMachine({
  id: "task",
  initial: S.Staging,
  states: {
    [S.Staging]: {
      on: to([S.Staging, S.Starting, S.Running, S.Killing, S.Unreachable, S.Unknown, ...TERMINAL]),
    },
    [S.Starting]: {
      on: to([S.Starting, S.Running, S.Killing, S.Unreachable, S.Unknown, ...TERMINAL]),
    },
    [S.Running]: { on: to([S.Running, S.Killing, S.Unreachable, S.Unknown, ...TERMINAL]) },
    [S.Killing]: { on: to([S.Killing, S.Unreachable, S.Unknown, ...TERMINAL]) },
    [S.Unreachable]: {
      on: to([S.Unreachable, S.Staging, S.Starting, S.Running, S.Killing, S.Unknown, ...TERMINAL]),
    },
    [S.Unknown]: {
      on: to([S.Unknown, S.Staging, S.Starting, S.Running, S.Killing, S.Unreachable, ...TERMINAL]),
    },
    ...Object.fromEntries(TERMINAL.map((state) => [state, final])),
  },
});

const ALL = Object.values(TaskState);

/** The task transition table derived from {@link taskMachine}. */
export const taskLifecycle = deriveLifecycle<TaskState, TaskState>(taskMachine, ALL, ALL);

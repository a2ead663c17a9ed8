/**
 * The task lifecycle: Mesos `TaskState`. Events are named by the state a
 * status update reports. Terminal states are final; a repeated update of a
 * non-terminal state (e.g. RUNNING with new health) is legal and keeps it.
 * An agent that comes back after being unreachable reports its tasks' real
 * states again, so UNREACHABLE may go back to a live state.
 */
import { setup } from "xstate";
import { TaskState } from "../common.ts";
import { deriveLifecycle } from "./lifecycle.ts";

const S = TaskState;
const TERMINAL = [
  S.Finished,
  S.Failed,
  S.Killed,
  S.Error,
  S.Lost,
  S.Dropped,
  S.Gone,
  S.GoneByOperator,
] as const;

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
    [S.Finished]: final,
    [S.Failed]: final,
    [S.Killed]: final,
    [S.Error]: final,
    [S.Lost]: final,
    [S.Dropped]: final,
    [S.Gone]: final,
    [S.GoneByOperator]: final,
  },
});

const ALL = Object.values(TaskState);

/** The task transition table derived from {@link taskMachine}. */
export const taskLifecycle = deriveLifecycle<TaskState, TaskState>(taskMachine, ALL, ALL);

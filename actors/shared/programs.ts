/**
 * Programs as the agent and the executors start them: a task's command, and
 * the argument that selects the default executor in the executor bundle.
 */
import type { CommandInfo } from "../../protocol/common.ts";

/** A program and its arguments. */
export interface ProgramSpec {
  file: string;
  args: string[];
}

/** The argument that makes the executor bundle run the default executor instead of the command executor. */
export const DEFAULT_EXECUTOR_ARG = "--default-executor";

/** The program of a `CommandInfo`: `/bin/sh -c value`, or `value` with its arguments. */
export function commandProgram(command: CommandInfo): ProgramSpec {
  if (command.shell === false) return { file: command.value, args: [...(command.arguments ?? [])] };
  return { file: "/bin/sh", args: ["-c", command.value] };
}

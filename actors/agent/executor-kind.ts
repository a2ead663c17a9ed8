/**
 * What an executor is: the built-in command executor (one command task), a
 * framework's own (`custom`), or the built-in default executor (task groups).
 * In a file of its own: `containers.ts` and `executor-record.ts` both need it.
 */
export type ExecutorKind = "command" | "custom" | "default";

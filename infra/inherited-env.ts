/**
 * The process's own environment as the base of a child's (an executor's, a
 * task's, a health check's, a helper program's). The one module besides the
 * configuration resolvers (infra/config.ts, actors/<actor>/config.ts) that
 * touches `process.env`, and only to copy or scrub it: configuration is never
 * read here (test/unit/env-reads.test.ts keeps it so).
 */

/** A copy of the process's environment, to build a child's from. */
export function inheritedEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env };
}

/**
 * Removes the variables `isPrivate` names from the process's own environment,
 * so that no child started later inherits them.
 */
export function scrubInheritedEnvironment(isPrivate: (name: string) => boolean): void {
  for (const name of Object.keys(process.env)) if (isPrivate(name)) delete process.env[name];
}

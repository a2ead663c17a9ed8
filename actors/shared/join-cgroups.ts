/**
 * Starting a process inside a container with no race. The spawned program is
 * `/bin/sh`, which writes its own pid (`$$`) into the `cgroup.procs` file of
 * every hierarchy and only then runs the real program: the pid stays the
 * same across `exec`, so the program, and everything it forks, is born inside
 * the cgroups. Moving a pid after `spawn()` returns would leave a window in
 * which the program can fork children that stay outside.
 *
 * A program that is itself a `/bin/sh -c SCRIPT` (a task's shell command)
 * costs one shell, not two: the joins are put in front of SCRIPT, in the same
 * shell, and the script keeps its `$0` and arguments. Any other program is
 * `exec`ed by the joining shell.
 *
 * If a write fails (the cgroup is gone, no permission), the shell prints one
 * line to stderr and exits with {@link JOIN_CGROUP_FAILED_EXIT} without running
 * the program; the agent reports that as `REASON_CONTAINER_LAUNCH_FAILED`.
 */

/** Exit code of a wrapped process that could not join its cgroups. */
export const JOIN_CGROUP_FAILED_EXIT = 125;

/** The shell for commands, whose `-c SCRIPT` the joins are merged into. */
const SHELL = "/bin/sh";

/** `s` as one single-quoted shell word. */
function quoted(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Shell lines that write `$$` to each file, or exit 125 naming the one that failed. */
function joinLines(procsFiles: readonly string[]): string {
  return procsFiles
    .map((f) => {
      const q = quoted(f);
      return `echo $$ 2>/dev/null >${q} || { echo "agora: cannot join cgroup "${q} >&2; exit ${JOIN_CGROUP_FAILED_EXIT}; }\n`;
    })
    .join("");
}

/**
 * The argv that runs `argv` inside the cgroups whose `cgroup.procs` files are
 * given: `["/bin/sh", "-c", joins + SCRIPT, ...rest]` when `argv` is
 * `["/bin/sh", "-c", SCRIPT, ...rest]`, else `["/bin/sh", "-c", joins +
 * 'exec "$@"', "sh", ...argv]`.
 */
export function joinCgroupsArgv(procsFiles: readonly string[], argv: readonly string[]): string[] {
  if (argv.length === 0) throw new Error("joinCgroupsArgv: empty argv");
  if (procsFiles.length === 0) return [...argv];
  const joins = joinLines(procsFiles);
  if (argv[0] === SHELL && argv[1] === "-c" && argv[2] !== undefined) {
    return [SHELL, "-c", `${joins}${argv[2]}`, ...argv.slice(3)];
  }
  return [SHELL, "-c", `${joins}exec "$@"`, "sh", ...argv];
}

/**
 * Starting a process inside a container with no race. The spawned program is
 * `/bin/sh`, which writes its own pid (`$$`) into the `cgroup.procs` file of
 * every hierarchy and only then `exec`s the real program: the pid stays the
 * same across `exec`, so the program, and everything it forks, is born inside
 * the cgroups. Moving a pid after `spawn()` returns would leave a window in
 * which the program can fork children that stay outside.
 *
 * If a write fails (the cgroup is gone, no permission), the shell prints one
 * line to stderr and exits with {@link JOIN_CGROUP_FAILED_EXIT} without running
 * the program; the agent reports that as `REASON_CONTAINER_LAUNCH_FAILED`.
 */

/** Exit code of a wrapped process that could not join its cgroups. */
export const JOIN_CGROUP_FAILED_EXIT = 125;

const SCRIPT = [
  'n="$1"; shift',
  'while [ "$n" -gt 0 ]; do',
  '  echo $$ 2>/dev/null >"$1" || { echo "agora: cannot join cgroup $1" >&2; exit 125; }',
  "  n=$((n - 1)); shift",
  "done",
  'exec "$@"',
].join("\n");

/**
 * The argv that runs `argv` inside the cgroups whose `cgroup.procs` files are
 * given: `["/bin/sh", "-c", script, "sh", count, ...procsFiles, ...argv]`.
 */
export function joinCgroupsArgv(procsFiles: readonly string[], argv: readonly string[]): string[] {
  if (argv.length === 0) throw new Error("joinCgroupsArgv: empty argv");
  if (procsFiles.length === 0) return [...argv];
  return ["/bin/sh", "-c", SCRIPT, "sh", String(procsFiles.length), ...procsFiles, ...argv];
}

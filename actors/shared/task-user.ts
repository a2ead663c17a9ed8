/**
 * Running a task as a user (Mesos's `--switch_user`): the user's uid, gid and
 * supplementary groups from `/etc/passwd` and `/etc/group` (read here, no
 * native module), the spawn options that start the task as that user, the
 * sandbox handed to it, and the task's environment, which never carries a
 * credential or an `AGORA_*` variable of its executor.
 *
 * Node's `spawn({uid, gid})` drops every supplementary group (libuv calls
 * `setgroups(0)`), so a user with supplementary groups is started through
 * util-linux `setpriv --groups` when it is installed.
 */
import { chownSync, existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** A user a task runs as. */
export interface TaskUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary group ids (the primary group excluded). */
  readonly groups: readonly number[];
  readonly home: string;
}

/** Where users and groups are read. */
export interface UserDatabase {
  passwd: string;
  group: string;
}

const SYSTEM_USERS: UserDatabase = { passwd: "/etc/passwd", group: "/etc/group" };

const SETPRIV_PATHS = ["/usr/bin/setpriv", "/bin/setpriv"];

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** Looks a user up by name (or by a numeric uid); undefined when there is none. */
export function lookupUser(name: string, db: UserDatabase = SYSTEM_USERS): TaskUser | undefined {
  let found: { name: string; uid: number; gid: number; home: string } | undefined;
  for (const line of readText(db.passwd).split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || line.startsWith("#")) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    if (f[0] === name || (/^\d+$/.test(name) && uid === Number(name))) {
      found = { name: f[0]!, uid, gid, home: f[5] ?? "/" };
      break;
    }
  }
  if (found === undefined) return undefined;
  const groups = new Set<number>();
  for (const line of readText(db.group).split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || line.startsWith("#")) continue;
    const gid = Number(f[2]);
    const members = (f[3] ?? "").split(",").map((m) => m.trim());
    if (Number.isInteger(gid) && gid !== found.gid && members.includes(found.name)) groups.add(gid);
  }
  return { ...found, groups: [...groups].sort((a, b) => a - b) };
}

/** The uid this process runs as (undefined where there are no uids). */
function processUid(): number | undefined {
  return typeof process.getuid === "function" ? process.getuid() : undefined;
}

/** Whether starting a process as `user` needs a switch from this process's user. */
export function needsSwitch(user: TaskUser, uid = processUid()): boolean {
  return uid !== undefined && user.uid !== uid;
}

/**
 * Why a task cannot run as `name` here, or undefined when it can (a one-line
 * message naming the user, for the task's TASK_FAILED).
 */
export function userProblem(
  name: string,
  db: UserDatabase = SYSTEM_USERS,
  uid = processUid(),
): string | undefined {
  const user = lookupUser(name, db);
  if (user === undefined)
    return `Failed to run the task as user '${name}': no such user on this agent`;
  if (needsSwitch(user, uid) && uid !== 0) {
    return `Failed to run the task as user '${name}': the agent does not run as root and cannot switch users (start it as root, or with --switch-user=false to run tasks as the agent's user)`;
  }
  return undefined;
}

/** The program and spawn options that start `argv` as `user` (unchanged when no switch is needed). */
export function spawnAsUser(
  user: TaskUser | undefined,
  program: { file: string; args: readonly string[] },
  uid = processUid(),
  /** The switch must happen inside the argv (a wrapper runs before it with our privileges). */
  inArgv = false,
): { file: string; args: string[]; uid?: number; gid?: number } {
  if (user === undefined || !needsSwitch(user, uid)) {
    return { file: program.file, args: [...program.args] };
  }
  const setpriv = SETPRIV_PATHS.find((p) => existsSync(p));
  if ((user.groups.length > 0 || inArgv) && setpriv !== undefined) {
    return {
      file: setpriv,
      args: [
        `--reuid=${user.uid}`,
        `--regid=${user.gid}`,
        ...(user.groups.length > 0 ? [`--groups=${user.groups.join(",")}`] : ["--clear-groups"]),
        "--",
        program.file,
        ...program.args,
      ],
    };
  }
  return { file: program.file, args: [...program.args], uid: user.uid, gid: user.gid };
}

/**
 * Hands the sandbox to the user: the directory and everything in it (the
 * fetched files, stdout, stderr), without following symbolic links.
 */
export function chownSandbox(sandbox: string, user: TaskUser): void {
  const walk = (p: string): void => {
    const info = lstatSync(p);
    if (info.isSymbolicLink()) return;
    chownSync(p, user.uid, user.gid);
    if (info.isDirectory()) {
      for (const name of readdirSync(p)) walk(path.join(p, name));
    }
  };
  walk(sandbox);
}

/** Variables of the executor's environment a task never inherits (agora's and NATS credentials). */
export function isPrivateVariable(name: string): boolean {
  return /^(AGORA_|NATS_)/i.test(name);
}

/**
 * The task's environment: the executor's minus every {@link isPrivateVariable},
 * Mesos's `MESOS_SANDBOX`, `MESOS_TASK_ID`, `MESOS_EXECUTOR_ID`,
 * `MESOS_FRAMEWORK_ID` and `MESOS_AGENT_ID` (ids only: without a credential they reach nothing),
 * `HOME`/`USER`/`LOGNAME` of
 * the user it runs as, then the command's own `environment` (which wins).
 */
export function taskEnvironment(
  base: NodeJS.ProcessEnv,
  options: {
    sandbox: string;
    taskId: string;
    executorId?: string;
    frameworkId?: string;
    agentId?: string;
    user: TaskUser | undefined;
    environment: Record<string, string> | undefined;
  },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && !isPrivateVariable(name)) env[name] = value;
  }
  env.MESOS_SANDBOX = options.sandbox;
  env.MESOS_TASK_ID = options.taskId;
  if (options.executorId !== undefined) env.MESOS_EXECUTOR_ID = options.executorId;
  if (options.frameworkId !== undefined) env.MESOS_FRAMEWORK_ID = options.frameworkId;
  if (options.agentId !== undefined) env.MESOS_AGENT_ID = options.agentId;
  if (options.user !== undefined) {
    env.HOME = options.user.home;
    env.USER = options.user.name;
    env.LOGNAME = options.user.name;
  }
  return Object.assign(env, options.environment ?? {});
}

/**
 * The user a task runs as on this agent: its command's (a custom executor's
 * for an executor task), else the framework's; undefined when none is named
 * or `switchUser` is off (the task then runs as the agent's user).
 */
export function effectiveUser(
  frameworkUser: string | undefined,
  task: { command?: { user?: string }; executor?: { command?: { user?: string } } },
  switchUser: boolean,
): string | undefined {
  if (!switchUser) return undefined;
  const user = task.command?.user ?? task.executor?.command?.user ?? frameworkUser;
  return user === "" ? undefined : user;
}

/** The task with its effective user written into the command that runs it (or removed). */
export function withUser<
  T extends { command?: { user?: string }; executor?: { command?: { user?: string } } },
>(task: T, user: string | undefined): T {
  const set = <C extends { user?: string }>(command: C): C => {
    const { user: _, ...rest } = command;
    return (user === undefined ? rest : { ...rest, user }) as C;
  };
  if (task.command !== undefined) return { ...task, command: set(task.command) };
  if (task.executor?.command !== undefined) {
    return { ...task, executor: { ...task.executor, command: set(task.executor.command) } };
  }
  return task;
}

/**
 * What the agent keeps per task and per executor, and the start of an
 * executor process: a fresh sandbox, the `AGORA_*` environment, a detached
 * spawn whose `error` and `exit` are reported back.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { Timer } from "../../infra/clock.ts";
import type { FrameworkRef } from "../../protocol/agents.ts";
import type {
  TaskGroupFailurePolicy,
  TaskInfo,
  TaskReason,
  TaskState,
  TaskStatus,
} from "../../protocol/common.ts";
import type { ExecutorEnvironment } from "../shared/executor-env.ts";
import { processStartTime } from "../shared/process-tree.ts";
import { createSandbox } from "../shared/sandbox.ts";
import { chownSandbox, lookupUser, needsSwitch, spawnAsUser } from "../shared/task-user.ts";
import type { ExecutorContainer } from "./containers.ts";
import type { ExecutorKind } from "./executor-kind.ts";
import type { Container } from "./isolation/types.ts";
import {
  executorEnvironment,
  type ProgramSource,
  resolveProgram,
  spawnDetached,
} from "./launcher.ts";

/** A task the agent knows, from `runTask` until its terminal update is acknowledged. */
export interface TaskRecord {
  readonly task: TaskInfo;
  readonly frameworkId: string;
  readonly executorId: string;
  readonly role: string;
  /** The latest status (STAGING until the executor reports). */
  status: TaskStatus;
  /** Sent to the executor with `executor.launch`. */
  launched: boolean;
  /** A kill was requested. */
  killed: boolean;
  /** Uuids acknowledged lately, newest last (checkpointed; an executor may resend one). */
  acked: string[];
  /** The latest acknowledged status (undefined: none yet). */
  acknowledged: TaskStatus | undefined;
}

/**
 * Executor phases: spawned → subscribed → terminating → terminated; after an
 * agent restart a live checkpointed executor is `recovering` until it
 * resubscribes (then `running`) or its reregistration timeout passes.
 */
export type ExecutorPhase = "launching" | "recovering" | "running" | "terminating" | "terminated";

export type { ExecutorKind } from "./executor-kind.ts";

/** A task group waiting for its default executor to subscribe. */
export interface QueuedGroup {
  readonly taskIds: readonly string[];
  readonly failurePolicy: TaskGroupFailurePolicy | undefined;
}

/** An executor process of a framework. */
export interface ExecutorRecord {
  readonly frameworkId: string;
  readonly executorId: string;
  readonly framework: FrameworkRef;
  readonly kind: ExecutorKind;
  readonly program: ProgramSource;
  readonly extraEnv: Record<string, string>;
  phase: ExecutorPhase;
  /** Task groups waiting for a default executor to subscribe, in order. */
  readonly queuedGroups: QueuedGroup[];
  /** A default executor with no task left: shut down when this fires. */
  idleTimer?: Timer | undefined;
  /** The nested containers of a default executor's tasks (by task id), with isolation. */
  readonly taskContainers: Map<string, Container>;
  sandbox: string | undefined;
  pid: number | undefined;
  /** The process's start time (`/proc`), to tell it from a later process with the same pid. */
  startTime: number | undefined;
  /** The executor's session id (it leads its session, so it is its pid). */
  session: number | undefined;
  /** The process, when this agent process spawned it (not for recovered executors). */
  child: ChildProcess | undefined;
  /** Ids of the tasks given to this executor. */
  readonly taskIds: Set<string>;
  /** Tasks waiting for the executor to subscribe, in order. */
  readonly queued: string[];
  /** Set when the agent made the executor end: the state and reason of its unfinished tasks. */
  failure: { state: TaskState; reason: TaskReason; message: string } | undefined;
  timer: Timer | undefined;
  /** The executor's container, when the agent isolates (cgroups). */
  container?: ExecutorContainer;
  /** Updates of the executor waiting for the container's limitation check (and those after them), in order. */
  updates?: Promise<void>;
  /** How many updates {@link updates} holds: with none, an update that needs no check is applied at once. */
  updatesWaiting?: number;
  /** Called when a recovering executor subscribed again. */
  recovered?: () => void;
  /**
   * The secret the agent gave this executor alone (`AGORA_EXECUTOR_TOKEN`):
   * every message on its subject must carry it (header `Agora-Executor-Token`),
   * so that another executor of the same agent principal cannot speak for it.
   * Undefined only for an executor recovered from a checkpoint of before tokens.
   */
  token: string | undefined;
  readonly exited: Promise<void>;
  markExited(): void;
}

/** What a new executor record is made of. */
export interface ExecutorSpec {
  framework: FrameworkRef;
  executorId: string;
  kind: ExecutorKind;
  program: ProgramSource;
  extraEnv: Record<string, string>;
}

/** A record for an executor about to be launched. */
export function newExecutorRecord(spec: ExecutorSpec): ExecutorRecord {
  let markExited = () => {};
  const exited = new Promise<void>((resolve) => {
    markExited = resolve;
  });
  return {
    ...spec,
    frameworkId: spec.framework.frameworkId,
    phase: "launching",
    sandbox: undefined,
    pid: undefined,
    startTime: undefined,
    session: undefined,
    child: undefined,
    taskIds: new Set(),
    queued: [],
    queuedGroups: [],
    taskContainers: new Map(),
    failure: undefined,
    timer: undefined,
    token: randomBytes(24).toString("base64url"),
    exited,
    markExited,
  };
}

/** Options of {@link startExecutorProcess}. */
export interface StartOptions {
  workDir: string;
  /** The executor's environment; `sandbox` is filled in here. */
  env: ExecutorEnvironment;
  /** The process could not be spawned. */
  onError(err: Error): void;
  /** The process ended: "exited with status N" or "terminated with signal S". */
  onExit(how: string, code: number | null): void;
  /** Fetches the executor's URIs into the new sandbox before the spawn (fetch-step.ts). */
  fetch?(sandbox: string): Promise<void>;
  /** Turns the program's argv into the one to spawn (the container's `wrap`). */
  wrap?(argv: readonly string[]): string[];
  /**
   * The user a custom executor runs as (its command's `user`, checked by the agent): it gets
   * the sandbox and is started as that user. The command executor runs as the agent's user
   * and starts its task as the task's user itself.
   */
  user?: string;
}

/**
 * Creates the executor's sandbox and spawns it there, unless the executor
 * left the `launching` phase meanwhile (then false is returned and nothing
 * is spawned).
 */
export async function startExecutorProcess(
  executor: ExecutorRecord,
  options: StartOptions,
): Promise<boolean> {
  const { env } = options;
  const program = await resolveProgram(executor.program);
  const sandbox = await createSandbox(
    options.workDir,
    env.agentId,
    env.frameworkId,
    env.executorId,
  );
  executor.sandbox = sandbox;
  if (executor.phase !== "launching") return false;
  await options.fetch?.(sandbox);
  if (executor.phase !== "launching") return false;
  const user = options.user === undefined ? undefined : lookupUser(options.user);
  if (options.user !== undefined && user === undefined) {
    throw new Error(`no such user '${options.user}' on this agent`);
  }
  const argv = options.wrap?.([program.file, ...program.args]);
  const as = spawnAsUser(
    user,
    argv === undefined ? program : { file: argv[0]!, args: argv.slice(1) },
  );
  if (user !== undefined && needsSwitch(user)) chownSandbox(sandbox, user);
  const child = spawnDetached(
    as,
    sandbox,
    executorEnvironment({ ...env, sandbox }, executor.extraEnv),
    as.uid === undefined ? undefined : { uid: as.uid, gid: as.gid ?? as.uid },
  );
  executor.child = child;
  executor.pid = child.pid;
  if (child.pid !== undefined) {
    // Spawned detached: the executor leads a new session whose id is its pid.
    executor.session = child.pid;
    executor.startTime = processStartTime(child.pid);
  }
  child.once("error", options.onError);
  child.once("exit", (code, signal) =>
    options.onExit(
      signal !== null ? `terminated with signal ${signal}` : `exited with status ${code}`,
      code,
    ),
  );
  return true;
}

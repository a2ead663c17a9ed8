/**
 * `files.read` on `<p>.agent.<agentId>.files`: the agent serves the `stdout`
 * and `stderr` of its sandboxes, as Mesos's `/files/read` (`offset`, `length`
 * → `{data, offset}`; offset -1 reads the last `length` bytes). The caller
 * names a task or an executor, never a path, so nothing outside a sandbox is
 * readable. A task the agent has forgotten (its terminal update was
 * acknowledged) is still found while its sandbox is on disk: through the
 * sandbox path remembered when it was last read, or, for a command task or a
 * given executor id, through the executor's `runs/latest`. A task of a
 * default executor is read from its own sandbox, `<run>/tasks/<taskId>`. The
 * task owns its sandbox, so the file is opened without following a symbolic
 * link (a task that replaced its `stdout` by a link to a file of the agent's
 * gets an error, not that file), and only a sandbox inside the work directory
 * is read.
 */
import { constants } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import path from "node:path";
import type { Handler } from "../../infra/dispatch.ts";
import { isTerminalState } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import { within } from "../shared/path-safety.ts";
import { executorDir, taskSandboxDir } from "../shared/sandbox.ts";
import type { ExecutorManager } from "./executors.ts";

const isDirectory = (dir: string) =>
  stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );

/** How many sandboxes of forgotten tasks are remembered (oldest dropped first). */
const REMEMBERED_SANDBOXES = 1024;

/** What the files handler needs from the agent. */
export interface FilesContext {
  executors: ExecutorManager;
  workDir: string;
  agentId(): string;
  /**
   * Requests come on `agent.<p>.<agentId>.files.<requester>` from framework
   * principal `<requester>`: served only for tasks of frameworks of that
   * principal the agent knows (else FORBIDDEN). Without: the operators' subject.
   */
  requester?: boolean;
}

interface Located {
  sandbox: string;
  /** The task is terminal or gone: its files will not grow. */
  done: boolean;
}

/** The handler of `files.read`. */
export function filesReadHandler(ctx: FilesContext): Handler<"files.read"> {
  const remembered = new Map<string, string>();
  const remember = (k: string, sandbox: string) => {
    remembered.delete(k);
    remembered.set(k, sandbox);
    if (remembered.size > REMEMBERED_SANDBOXES) {
      const oldest = remembered.keys().next().value;
      if (oldest !== undefined) remembered.delete(oldest);
    }
  };

  const latestRun = async (frameworkId: string, executorId: string) => {
    const dir = path.join(
      executorDir(ctx.workDir, ctx.agentId(), frameworkId, executorId),
      "runs",
      "latest",
    );
    try {
      return await realpath(dir);
    } catch {
      return undefined;
    }
  };

  const locate = async (msg: MessageOf<"files.read">): Promise<Located | undefined> => {
    const { frameworkId, taskId } = msg;
    const k = `${frameworkId} ${taskId ?? ""} ${msg.executorId ?? ""}`;
    const record = taskId === undefined ? undefined : ctx.executors.task(frameworkId, taskId);
    if (record !== undefined && (msg.executorId ?? record.executorId) === record.executorId) {
      const executor = ctx.executors.executor(frameworkId, record.executorId);
      const run = executor?.sandbox ?? (await latestRun(frameworkId, record.executorId));
      if (run === undefined) return undefined;
      // A task of a default executor has a sandbox of its own inside the executor's.
      const own = taskSandboxDir(run, record.task.taskId);
      const sandbox = executor?.kind === "default" || (await isDirectory(own)) ? own : run;
      remember(k, sandbox);
      return { sandbox, done: isTerminalState(record.status.state) };
    }
    if (taskId !== undefined && record === undefined && remembered.has(k)) {
      return { sandbox: remembered.get(k) as string, done: true };
    }
    const executorId = msg.executorId ?? taskId;
    if (executorId === undefined) return undefined;
    const executor = ctx.executors.executor(frameworkId, executorId);
    // a custom executor must have run the task; a command task's executor bears its id
    // (and may outlive the task's record while it terminates)
    if (
      taskId !== undefined &&
      executor !== undefined &&
      executorId !== taskId &&
      !executor.taskIds.has(taskId)
    ) {
      return undefined;
    }
    if (executor?.sandbox !== undefined) {
      // here the task has no record on this agent any more: it is over, whatever its executor does
      const done = executor.phase === "terminated" || taskId !== undefined;
      return { sandbox: executor.sandbox, done };
    }
    // Only a command task's executor bears the task's id; a custom executor must be named.
    const sandbox = await latestRun(frameworkId, executorId);
    return sandbox === undefined ? undefined : { sandbox, done: true };
  };

  /** The principal of each framework the agent ran tasks of (kept after its tasks are forgotten). */
  const owners = new Map<string, string>();
  const ownerOf = (frameworkId: string): string | undefined => {
    for (const e of ctx.executors.executors()) {
      if (e.frameworkId === frameworkId && e.framework.principal !== undefined) {
        owners.delete(frameworkId);
        owners.set(frameworkId, e.framework.principal);
        if (owners.size > REMEMBERED_SANDBOXES) {
          const oldest = owners.keys().next().value;
          if (oldest !== undefined) owners.delete(oldest);
        }
        break;
      }
    }
    return owners.get(frameworkId);
  };

  return async (msg, { subject }) => {
    if (msg.taskId === undefined && msg.executorId === undefined) {
      throw new AgoraError(ErrorCode.InvalidMessage, "files.read needs a taskId or an executorId");
    }
    const what = msg.taskId !== undefined ? `task ${msg.taskId}` : `executor ${msg.executorId}`;
    if (ctx.requester === true) {
      const requester = subject.slice(subject.lastIndexOf(".") + 1);
      const owner = ownerOf(msg.frameworkId);
      if (owner !== requester) {
        throw new AgoraError(
          ErrorCode.Forbidden,
          `principal ${requester} may not read the files of ${what}: framework ${msg.frameworkId} is not one of its frameworks on this agent`,
        );
      }
    }
    const located = await locate(msg);
    if (located === undefined) {
      throw new AgoraError(
        ErrorCode.NotFound,
        `no sandbox of ${what} of framework ${msg.frameworkId} on this agent`,
      );
    }
    if (!(await insideWorkDir(ctx.workDir, located.sandbox))) {
      throw new AgoraError(
        ErrorCode.Forbidden,
        `the sandbox of ${what} is not in the work directory`,
      );
    }
    const file = within(located.sandbox, msg.file);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ELOOP" || code === "EMLINK") {
        throw new AgoraError(
          ErrorCode.Forbidden,
          `the ${msg.file} of ${what} is a symbolic link; it is not followed out of the sandbox`,
        );
      }
      if (code !== "ENOENT") throw err;
      // The sandbox exists but the executor has not started writing yet.
      try {
        await stat(located.sandbox);
      } catch {
        throw new AgoraError(ErrorCode.NotFound, `the sandbox of ${what} is gone`);
      }
      return {
        type: "files.data",
        data: new Uint8Array(0),
        offset: Math.max(0, msg.offset),
        size: 0,
        eof: true,
        done: located.done,
        sandbox: located.sandbox,
      };
    }
    try {
      const size = (await handle.stat()).size;
      const offset = msg.offset === -1 ? Math.max(0, size - msg.length) : msg.offset;
      const length = Math.max(0, Math.min(msg.length, size - offset));
      const data = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(data, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return {
        type: "files.data",
        data: got === length ? data : data.subarray(0, got),
        offset,
        size,
        eof: offset + got >= size,
        done: located.done,
        sandbox: located.sandbox,
      };
    } finally {
      await handle.close();
    }
  };
}

/** Whether `dir` lies inside `workDir`, as given or with symbolic links resolved. */
async function insideWorkDir(workDir: string, dir: string): Promise<boolean> {
  const inside = (root: string, p: string) => {
    const rel = path.relative(root, p);
    return !rel.startsWith("..") && !path.isAbsolute(rel);
  };
  if (inside(path.resolve(workDir), path.resolve(dir))) return true;
  try {
    return inside(await realpath(workDir), await realpath(dir));
  } catch {
    return false;
  }
}

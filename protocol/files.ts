/**
 * Reading a task's sandbox files from its agent, as Mesos's `/files/read`
 * endpoint (`path`, `offset`, `length` → `{data, offset}`), on
 * `<p>.agent.<agentId>.files`. Only the sandbox's `stdout` and `stderr` can be
 * read: the caller names a task (or an executor), never a path, so nothing
 * outside a sandbox is reachable.
 */
import { Type } from "@sinclair/typebox";
import { Id, message } from "./common.ts";

/** The most bytes one `files.read` returns (512 KiB). */
export const FILES_READ_MAX_LENGTH = 512 * 1024;

/** The files of a sandbox that can be read. */
export const SandboxFile = Type.Union([Type.Literal("stdout"), Type.Literal("stderr")]);

/**
 * Anyone → agent, request: read `length` bytes of a sandbox file from `offset`
 * (`-1`: the last `length` bytes, as Mesos). The reply is `files.data`.
 */
export const FilesRead = message("files.read", {
  frameworkId: Id,
  /** The task whose executor's sandbox holds the file. One of taskId / executorId is needed. */
  taskId: Type.Optional(Id),
  /** The executor whose sandbox holds the file (for a command task, its task id). */
  executorId: Type.Optional(Id),
  file: SandboxFile,
  /** Byte offset; `-1` reads the last `length` bytes. */
  offset: Type.Integer({ minimum: -1 }),
  /** At most this many bytes (≤ 512 KiB). */
  length: Type.Integer({ minimum: 0, maximum: FILES_READ_MAX_LENGTH }),
});

/** Agent → reader: the bytes read (reply to `files.read`). */
export const FilesData = message("files.data", {
  /** The bytes from `offset` (empty at or beyond the end). */
  data: Type.Uint8Array({ maxByteLength: FILES_READ_MAX_LENGTH }),
  /** Where `data` starts in the file. */
  offset: Type.Integer({ minimum: 0 }),
  /** The file's size when it was read. */
  size: Type.Integer({ minimum: 0 }),
  /** `offset + data.length` reached `size`. */
  eof: Type.Optional(Type.Boolean()),
  /** The task is terminal (or gone from the agent): the file will not grow. */
  done: Type.Optional(Type.Boolean()),
  /** The sandbox directory on the agent's host. */
  sandbox: Type.Optional(Type.String({ maxLength: 4096 })),
});

/**
 * Writing inside a sandbox without ever leaving it: directories are created
 * one component at a time and a symbolic link on the way is refused (a
 * fetched archive or an earlier URI may have left one), files are created
 * exclusively (`O_EXCL` never follows a link) after removing what was there,
 * and downloads land in a temporary file renamed into place, so no half file
 * is ever seen under the final name.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { lstat, mkdir, rename, rm, unlink } from "node:fs/promises";
import path from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

/** A failure inside the sandbox, with a message fit to follow "fetch <uri>: ". */
export class SandboxPathError extends Error {
  override readonly name = "SandboxPathError";
}

/**
 * Creates the directories of `relDir` (a checked relative path, "" for the
 * root itself) under `root`. `known` remembers directories already checked.
 */
export async function mkdirInside(
  root: string,
  relDir: string,
  known: Set<string> = new Set(),
  mode = 0o755,
): Promise<string> {
  let at = root;
  let rel = "";
  for (const segment of relDir.split("/").filter((s) => s !== "")) {
    at = path.join(at, segment);
    rel = rel === "" ? segment : `${rel}/${segment}`;
    if (known.has(at)) continue;
    for (;;) {
      let st: Awaited<ReturnType<typeof lstat>> | undefined;
      try {
        st = await lstat(at);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
      if (st === undefined) {
        try {
          await mkdir(at, { mode });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "EEXIST") continue; // raced: look again
          throw err;
        }
        break;
      }
      if (st.isSymbolicLink()) throw new SandboxPathError(`'${rel}' is a symbolic link`);
      if (!st.isDirectory()) throw new SandboxPathError(`'${rel}' is not a directory`);
      break;
    }
    known.add(at);
  }
  return at;
}

/** Removes a file or symbolic link at `abs` so that a new one can be created; refuses a directory. */
export async function clearTarget(abs: string, rel: string): Promise<void> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (st.isDirectory()) throw new SandboxPathError(`'${rel}' is a directory`);
  await unlink(abs);
}

/** Counts bytes through a stream and fails once more than `max` passed. */
function byteLimit(max: number, what: () => string): Transform & { bytes: () => number } {
  let bytes = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > max) done(new SandboxPathError(`${what()} is larger than ${max} bytes`));
      else done(null, chunk);
    },
  });
  return Object.assign(t, { bytes: () => bytes });
}

/** A temporary name beside `dest`, hidden and unique. */
export function tempBeside(dest: string): string {
  return path.join(
    path.dirname(dest),
    `.${path.basename(dest)}.agora-fetch-${randomBytes(6).toString("hex")}`,
  );
}

/**
 * Writes `source` to `dest` through a temporary file and a rename; on any
 * failure the temporary file is removed and `dest` is untouched. Returns the
 * bytes written.
 */
export async function writeAtomically(
  source: Readable,
  dest: string,
  options: { maxBytes: number; what: () => string; signal?: AbortSignal; mode?: number },
): Promise<number> {
  const temp = tempBeside(dest);
  const limit = byteLimit(options.maxBytes, options.what);
  try {
    await pipeline(
      source,
      limit,
      createWriteStream(temp, { flags: "wx", mode: options.mode ?? 0o644 }),
      options.signal === undefined ? {} : { signal: options.signal },
    );
    await rename(temp, dest);
  } catch (err) {
    source.destroy();
    await rm(temp, { force: true });
    throw err;
  }
  return limit.bytes();
}

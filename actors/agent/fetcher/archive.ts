/**
 * Which fetched files are archives and how they are unpacked, by the name's
 * extension as Mesos's fetcher does: `.tar`, `.tar.gz`/`.tgz`, `.tar.bz2`/`.tbz2`,
 * `.tar.xz`/`.txz` and `.zip` are extracted into the sandbox; a bare `.gz` is
 * decompressed beside it without the extension. gzip is node:zlib; bzip2 and
 * xz streams go through the system's `bzip2 -dc` / `xz -dc` (Node has no
 * decoder for them), whose absence is a clear failure.
 */
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { type ExtractLimits, Extractor } from "./extractor.ts";
import { mkdirInside, SandboxPathError, writeAtomically } from "./paths.ts";
import { extractTar } from "./tar.ts";
import { extractZip } from "./zip.ts";

/** Archive kinds the fetcher unpacks. */
export type ArchiveKind = "tar" | "tar.gz" | "tar.bz2" | "tar.xz" | "zip" | "gz";

const SUFFIXES: readonly [string, ArchiveKind][] = [
  [".tar.gz", "tar.gz"],
  [".tgz", "tar.gz"],
  [".tar.bz2", "tar.bz2"],
  [".tbz2", "tar.bz2"],
  [".tar.xz", "tar.xz"],
  [".txz", "tar.xz"],
  [".tar", "tar"],
  [".zip", "zip"],
  [".gz", "gz"],
];

/** The archive kind a file name announces, or undefined for a plain file. */
export function archiveKind(name: string): ArchiveKind | undefined {
  const lower = name.toLowerCase();
  for (const [suffix, kind] of SUFFIXES) if (lower.endsWith(suffix)) return kind;
  return undefined;
}

/** Decompresses `file` with a system program, failing clearly when it is missing or fails. */
function systemDecoder(program: string, file: string): { stream: Readable; done: Promise<void> } {
  const child = spawn(program, ["-dc", file], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", (err) => {
      const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
      const why = missing ? `${program} is not installed on this agent` : err.message;
      child.stdout.destroy(new SandboxPathError(why));
      reject(new SandboxPathError(why));
    });
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else if (signal === "SIGKILL" || signal === "SIGPIPE")
        resolve(); // stopped by us
      else reject(new SandboxPathError(`${program} failed: ${stderr.trim() || `exit ${code}`}`));
    });
  });
  // Reading may stop early (a refused entry): stop the decoder with it.
  child.stdout.on("close", () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  return { stream: child.stdout, done };
}

/**
 * Unpacks the archive `file` of kind `kind` into `destDir` (an existing
 * directory the sandbox contains), bounded by `limits`. For `gz` the
 * decompressed file is `destDir/<outName without .gz>`.
 */
export async function extractArchive(
  file: string,
  kind: ArchiveKind,
  destDir: string,
  outName: string,
  limits: ExtractLimits,
  signal?: AbortSignal,
): Promise<void> {
  if (kind === "zip") {
    await extractZip(file, new Extractor(destDir, limits, signal), limits.maxEntries);
    return;
  }
  if (kind === "gz") {
    const base = path.posix.basename(outName).slice(0, -".gz".length);
    if (base === "" || base === "." || base === "..") {
      throw new SandboxPathError(`'${outName}' has no name without .gz`);
    }
    await mkdirInside(destDir, "");
    await writeAtomically(createReadStream(file).pipe(createGunzip()), path.join(destDir, base), {
      maxBytes: limits.maxBytes,
      what: () => `'${outName}' decompressed`,
      ...(signal === undefined ? {} : { signal }),
    });
    return;
  }
  const into = new Extractor(destDir, limits, signal);
  if (kind === "tar") {
    await extractTar(createReadStream(file), into);
    return;
  }
  if (kind === "tar.gz") {
    const raw = createReadStream(file);
    const gunzip = createGunzip();
    raw.on("error", (err) => gunzip.destroy(err));
    try {
      await extractTar(raw.pipe(gunzip), into);
    } finally {
      raw.destroy();
      gunzip.destroy();
    }
    return;
  }
  const decoder = systemDecoder(kind === "tar.bz2" ? "bzip2" : "xz", file);
  try {
    await Promise.all([extractTar(decoder.stream, into), decoder.done]);
  } finally {
    decoder.stream.destroy();
  }
}

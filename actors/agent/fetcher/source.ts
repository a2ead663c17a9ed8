/**
 * Opening what a URI names: an HTTP(S) body or a local regular file, with its
 * size when known up front (Content-Length; `stat`, following links, for a
 * local file), which the fetcher cache needs before it reserves space.
 */
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { fetchFailed, reason } from "./errors.ts";
import { type HttpOptions, openHttp } from "./http.ts";
import type { ParsedUri } from "./uri.ts";

/** An open source. */
export interface Source {
  size: number | undefined;
  stream: Readable;
  /** How failures of this source begin ("GET <url>" or "read <path>"). */
  what: string;
}

/** Options of {@link openSource}. */
export interface SourceOptions extends HttpOptions {
  /** When set, local files must lie (after resolving links) under one of these directories. */
  localRoots?: readonly string[];
}

async function openFile(uri: Extract<ParsedUri, { kind: "file" }>, options: SourceOptions) {
  const what = `read ${uri.display}`;
  let real: string;
  try {
    real = await realpath(uri.path);
  } catch (err) {
    throw fetchFailed(`${what}: ${reason(err)}`, { cause: err });
  }
  if (options.localRoots !== undefined) {
    const roots = await Promise.all(
      options.localRoots.map((r) => realpath(r).catch(() => path.resolve(r))),
    );
    if (!roots.some((r) => real === r || real.startsWith(r.endsWith("/") ? r : `${r}/`))) {
      throw fetchFailed(`${what}: not under a directory this agent serves local files from`);
    }
  }
  const st = await stat(real).catch((err: unknown) => {
    throw fetchFailed(`${what}: ${reason(err)}`, { cause: err });
  });
  if (!st.isFile()) throw fetchFailed(`${what}: not a regular file`);
  const stream = createReadStream(real);
  // Fail early on an unreadable file instead of when the stream is first read.
  await new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", (err) => reject(fetchFailed(`${what}: ${reason(err)}`, { cause: err })));
  });
  return { size: st.size, stream, what };
}

/** Opens the source of a URI. */
export async function openSource(uri: ParsedUri, options: SourceOptions): Promise<Source> {
  if (uri.kind === "file") return openFile(uri, options);
  const body = await openHttp(uri.url, options);
  return { size: body.size, stream: body.stream, what: `GET ${body.url}` };
}

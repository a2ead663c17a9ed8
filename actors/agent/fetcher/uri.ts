/**
 * What a URI is and where its copy goes: `http(s)://` URLs, `file://` URLs and
 * absolute paths (Mesos's `Fetcher::validateUri`/`basename`, stricter): the
 * sandbox name is the URI's last path segment (percent-decoded, query left
 * out) or `outputFile`, a relative path that can never leave the sandbox.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fetchFailed } from "./errors.ts";

/** A URI the fetcher can fetch. */
export type ParsedUri =
  | { kind: "http"; value: string; display: string; url: URL; name: string | undefined }
  | { kind: "file"; value: string; display: string; path: string; name: string | undefined };

/** A URL for messages and logs: the user:password part replaced by `***`. */
export function redactUri(value: string): string {
  try {
    const url = new URL(value);
    if (url.username === "" && url.password === "") return value;
    url.username = "***";
    url.password = "";
    return url.href;
  } catch {
    return value;
  }
}

/** A single path segment fit to be a file name, or undefined. */
function fileName(segment: string): string | undefined {
  let name = segment;
  try {
    name = decodeURIComponent(segment);
  } catch {
    // malformed percent-encoding: keep the raw segment
  }
  if (name === "" || name === "." || name === "..") return undefined;
  if (name.includes("/") || name.includes("\0")) return undefined;
  return name;
}

/** Parses and validates a URI's value. Throws FETCH_FAILED with a clear message. */
export function parseUri(raw: string): ParsedUri {
  const value = raw.trimStart();
  const display = redactUri(value);
  if (value.includes("\0")) throw fetchFailed(`fetch ${JSON.stringify(display)}: NUL in URI`);
  if (value.startsWith("/")) {
    const p = path.posix.normalize(value);
    return { kind: "file", value, display, path: p, name: fileName(path.posix.basename(p)) };
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw fetchFailed(
      `fetch ${display}: a relative path cannot be fetched (give an absolute path or a file:// URI)`,
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fetchFailed(`fetch ${display}: malformed URI`);
  }
  if (scheme === "http" || scheme === "https") {
    const last = url.pathname.split("/").pop() ?? "";
    return { kind: "http", value, display, url, name: fileName(last) };
  }
  if (scheme === "file") {
    if (url.hostname !== "" && url.hostname !== "localhost") {
      throw fetchFailed(`fetch ${display}: file:// URIs must name a local file (no host)`);
    }
    const p = fileURLToPath(url);
    return { kind: "file", value, display, path: p, name: fileName(path.posix.basename(p)) };
  }
  throw fetchFailed(
    `fetch ${display}: unsupported scheme '${scheme}:' (http, https, file and absolute paths are)`,
  );
}

/**
 * A relative path inside the sandbox, normalized ("a/./b" → "a/b"), or an
 * error message when it is absolute, empty, holds `..` or a NUL.
 */
export function checkRelativePath(
  p: string,
): { ok: true; path: string } | { ok: false; why: string } {
  if (p.includes("\0")) return { ok: false, why: "holds a NUL" };
  if (p.startsWith("/")) return { ok: false, why: "is an absolute path" };
  const parts = p.split("/").filter((s) => s !== "" && s !== ".");
  if (parts.includes("..")) return { ok: false, why: "escapes the sandbox" };
  if (parts.length === 0) return { ok: false, why: "names no file" };
  return { ok: true, path: parts.join("/") };
}

/** The sandbox-relative name of a URI's copy: `outputFile`, else the URI's last segment. */
export function outputName(uri: ParsedUri, outputFile: string | undefined): string {
  if (outputFile !== undefined) {
    if (outputFile.endsWith("/")) {
      throw fetchFailed(`fetch ${uri.display}: outputFile '${outputFile}' names a directory`);
    }
    const checked = checkRelativePath(outputFile);
    if (!checked.ok) {
      throw fetchFailed(`fetch ${uri.display}: outputFile '${outputFile}' ${checked.why}`);
    }
    return checked.path;
  }
  if (uri.name === undefined) {
    throw fetchFailed(
      `fetch ${uri.display}: the URI has no file name in its last path segment; set outputFile`,
    );
  }
  return uri.name;
}

/**
 * A tar reader (POSIX ustar, pax extended headers, GNU long names; numbers in
 * octal or base-256) over a byte stream, extracting through an
 * {@link Extractor}. Written here rather than run as `tar -x` so that every
 * entry is checked before it touches the disk.
 */
import type { Extractor } from "./extractor.ts";
import { SandboxPathError } from "./paths.ts";

const BLOCK = 512;
/** Largest pax or GNU long-name record read into memory. */
const MAX_META = 1024 * 1024;

/** Reads exact byte counts from an async stream of chunks. */
class ByteReader {
  readonly #it: AsyncIterator<Buffer>;
  #buf: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    const next = await this.#it.next();
    if (next.done) {
      this.#ended = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    return true;
  }

  /** Exactly `n` bytes, or undefined at a clean end (nothing left). */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.#buf.length < n) {
      if (!(await this.#fill())) {
        if (this.#buf.length === 0) return undefined;
        throw new SandboxPathError("the archive is truncated");
      }
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** Yields `n` bytes in chunks as they come. */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length === 0 && !(await this.#fill())) {
        throw new SandboxPathError("the archive is truncated");
      }
      const part = this.#buf.subarray(0, Math.min(left, this.#buf.length));
      this.#buf = this.#buf.subarray(part.length);
      left -= part.length;
      yield part;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.take(n)) {
      // discarded
    }
  }

  async close(): Promise<void> {
    await this.#it.return?.();
  }
}

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? field.length : nul).toString("utf8");
}

function number(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  if ((field[0]! & 0x80) !== 0) {
    // base-256, big-endian, first byte's high bit is the marker
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    if (!Number.isSafeInteger(value)) throw new SandboxPathError("a tar number is too large");
    return value;
  }
  const s = text(block, start, length).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new SandboxPathError("not a tar archive (bad number field)");
  return Number.parseInt(s, 8);
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === number(block, 148, 8);
}

/** Parses pax records `"<len> <key>=<value>\n"`. */
function pax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const len = Number.parseInt(data.subarray(at, space).toString("ascii"), 10);
    if (!Number.isFinite(len) || len <= 0 || at + len > data.length) {
      throw new SandboxPathError("bad pax header");
    }
    const record = data.subarray(space + 1, at + len - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Extracts a tar stream through `into`. Resolves when the end-of-archive is reached. */
export async function extractTar(source: AsyncIterable<Buffer>, into: Extractor): Promise<void> {
  const reader = new ByteReader(source);
  let next: { path?: string; linkpath?: string; size?: number } = {};
  let global: { path?: string; linkpath?: string } = {};
  let sawHeader = false;
  try {
    for (;;) {
      const header = await reader.read(BLOCK);
      if (header === undefined || header.every((b) => b === 0)) break;
      if (!checksumOk(header)) {
        throw new SandboxPathError(
          sawHeader ? "bad tar header checksum" : "not a tar archive (bad header checksum)",
        );
      }
      sawHeader = true;
      const type = String.fromCharCode(header[156]!);
      const size = next.size ?? number(header, 124, 12);
      const magic = header.subarray(257, 263).toString("latin1");
      let name = text(header, 0, 100);
      if (magic === "ustar\0") {
        const prefix = text(header, 345, 155);
        if (prefix !== "") name = `${prefix}/${name}`;
      }
      name = next.path ?? global.path ?? name;
      const linkname = next.linkpath ?? global.linkpath ?? text(header, 157, 100);
      const mode = number(header, 100, 8);
      if (type === "x" || type === "g" || type === "L" || type === "K") {
        if (size > MAX_META) throw new SandboxPathError("a tar extended header is too large");
        const data = (await reader.read(size + padding(size))) ?? Buffer.alloc(0);
        const body = data.subarray(0, size);
        if (type === "x" || type === "g") {
          const records = pax(body);
          const fields: { path?: string; linkpath?: string; size?: number } = {};
          const p = records.get("path");
          const l = records.get("linkpath");
          const s = records.get("size");
          if (p !== undefined) fields.path = p;
          if (l !== undefined) fields.linkpath = l;
          if (s !== undefined && type === "x") fields.size = Number.parseInt(s, 10);
          if (type === "x") next = { ...next, ...fields };
          else global = { ...global, ...fields };
        } else {
          const value = text(body, 0, body.length);
          next = type === "L" ? { ...next, path: value } : { ...next, linkpath: value };
        }
        continue;
      }
      next = {};
      switch (type) {
        case "0":
        case "\0":
        case "7":
          await into.file(name, mode, reader.take(size));
          break;
        case "5":
          await into.directory(name, mode);
          break;
        case "2":
          into.symlink(name, linkname);
          break;
        case "1":
          await into.hardlink(name, linkname);
          break;
        case "3":
        case "4":
          into.refuse(name, "device");
          break;
        case "6":
          into.refuse(name, "FIFO");
          break;
        case "V":
          break; // a volume label
        default:
          throw new SandboxPathError(`entry '${name}' has an unsupported tar type '${type}'`);
      }
      const isFile = type === "0" || type === "\0" || type === "7";
      await reader.skip(isFile ? padding(size) : size + padding(size));
    }
    if (!sawHeader) throw new SandboxPathError("not a tar archive (empty)");
    await into.finish();
  } finally {
    await reader.close();
  }
}

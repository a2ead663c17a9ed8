/**
 * A zip reader over the central directory (PKWARE APPNOTE: end of central
 * directory, zip64 locator and record, central headers, local headers), with
 * stored and deflated entries inflated by node:zlib `inflateRaw`, each
 * entry's CRC-32 and size checked. Written here so that no `unzip` binary is
 * needed on the agent; entries are written through an {@link Extractor}.
 */
import { createReadStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { createInflateRaw } from "node:zlib";
import { crc32 } from "./crc32.ts";
import type { Extractor } from "./extractor.ts";
import { SandboxPathError } from "./paths.ts";

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** One entry of the central directory. */
export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  /** Unix mode when the archive was made on Unix. */
  mode: number | undefined;
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  if (bytesRead !== length) throw new SandboxPathError("the zip archive is truncated");
  return buf;
}

function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new SandboxPathError("a zip64 number is too large");
  return Number(v);
}

/** Reads the central directory of the zip file open as `fh`. */
async function readCentralDirectory(
  fh: FileHandle,
  fileSize: number,
  maxEntries: number,
): Promise<ZipEntry[]> {
  const tailLength = Math.min(fileSize, 22 + 0xffff);
  const tail = await readAt(fh, fileSize - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd === -1) throw new SandboxPathError("not a zip archive (no end of central directory)");
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locatorAt = fileSize - tailLength + eocd - 20;
    if (locatorAt < 0) throw new SandboxPathError("bad zip64 archive");
    const locator = await readAt(fh, locatorAt, 20);
    if (locator.readUInt32LE(0) !== ZIP64_LOCATOR) throw new SandboxPathError("bad zip64 locator");
    const record = await readAt(fh, u64(locator, 8), 56);
    if (record.readUInt32LE(0) !== ZIP64_EOCD) throw new SandboxPathError("bad zip64 record");
    count = u64(record, 32);
    cdSize = u64(record, 40);
    cdOffset = u64(record, 48);
  }
  if (count > maxEntries) throw new SandboxPathError(`more than ${maxEntries} entries`);
  if (cdOffset + cdSize > fileSize) throw new SandboxPathError("the zip archive is truncated");
  const cd = await readAt(fh, cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL) {
      throw new SandboxPathError("bad zip central directory");
    }
    const madeBy = cd.readUInt16LE(at + 4);
    const flags = cd.readUInt16LE(at + 8);
    const method = cd.readUInt16LE(at + 10);
    const crc = cd.readUInt32LE(at + 16);
    let compressedSize = cd.readUInt32LE(at + 20);
    let size = cd.readUInt32LE(at + 24);
    const nameLength = cd.readUInt16LE(at + 28);
    const extraLength = cd.readUInt16LE(at + 30);
    const commentLength = cd.readUInt16LE(at + 32);
    const external = cd.readUInt32LE(at + 38);
    let localOffset = cd.readUInt32LE(at + 42);
    const nameBytes = cd.subarray(at + 46, at + 46 + nameLength);
    const name = (flags & 0x800) !== 0 ? nameBytes.toString("utf8") : nameBytes.toString("latin1");
    const extra = cd.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    for (let e = 0; e + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(e);
      const len = extra.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let f = e + 4;
        if (size === 0xffffffff && f + 8 <= e + 4 + len) {
          size = u64(extra, f);
          f += 8;
        }
        if (compressedSize === 0xffffffff && f + 8 <= e + 4 + len) {
          compressedSize = u64(extra, f);
          f += 8;
        }
        if (localOffset === 0xffffffff && f + 8 <= e + 4 + len) localOffset = u64(extra, f);
      }
      e += 4 + len;
    }
    const mode = madeBy >> 8 === 3 ? external >>> 16 : undefined;
    entries.push({ name, method, flags, crc, compressedSize, size, localOffset, mode });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Checks an entry's bytes against its declared size and CRC-32 as they pass. */
function verify(entry: ZipEntry): Transform {
  let crc = 0;
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > entry.size) {
        done(new SandboxPathError(`entry '${entry.name}' is larger than its declared size`));
        return;
      }
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
    flush(done) {
      if (bytes !== entry.size) done(new SandboxPathError(`entry '${entry.name}' is truncated`));
      else if (crc !== entry.crc) done(new SandboxPathError(`entry '${entry.name}' fails its CRC`));
      else done();
    },
  });
}

/** Extracts the zip file at `file` through `into`. */
export async function extractZip(file: string, into: Extractor, maxEntries: number): Promise<void> {
  const fh = await open(file, "r");
  try {
    const { size: fileSize } = await fh.stat();
    const entries = await readCentralDirectory(fh, fileSize, maxEntries);
    for (const entry of entries) {
      if ((entry.flags & 0x1) !== 0) {
        throw new SandboxPathError(`entry '${entry.name}' is encrypted`);
      }
      if (entry.method !== 0 && entry.method !== 8) {
        throw new SandboxPathError(
          `entry '${entry.name}' uses compression method ${entry.method} (stored and deflate are supported)`,
        );
      }
      const local = await readAt(fh, entry.localOffset, 30);
      if (local.readUInt32LE(0) !== LOCAL) throw new SandboxPathError("bad zip local header");
      const start = entry.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      if (start + entry.compressedSize > fileSize) {
        throw new SandboxPathError("the zip archive is truncated");
      }
      const type = entry.mode === undefined ? 0 : entry.mode & S_IFMT;
      const isDir = entry.name.endsWith("/") || type === S_IFDIR;
      const data = (): Readable => {
        const raw =
          entry.compressedSize === 0
            ? Readable.from([])
            : createReadStream(file, { start, end: start + entry.compressedSize - 1 });
        const inflated = entry.method === 8 ? raw.pipe(createInflateRaw()) : raw;
        if (entry.method === 8) raw.on("error", (err: Error) => inflated.destroy(err));
        const checked = inflated.pipe(verify(entry));
        inflated.on("error", (err: Error) => checked.destroy(err));
        return checked;
      };
      if (isDir) {
        await into.directory(entry.name, entry.mode ?? 0o755);
      } else if (type === S_IFLNK) {
        if (entry.size > 4096) throw new SandboxPathError(`entry '${entry.name}' has a long link`);
        const chunks: Buffer[] = [];
        for await (const chunk of data()) chunks.push(chunk as Buffer);
        into.symlink(entry.name, Buffer.concat(chunks).toString("utf8"));
      } else if (type === 0 || type === S_IFREG) {
        await into.file(entry.name, entry.mode ?? 0o644, data());
      } else {
        into.refuse(entry.name, "special file");
      }
    }
    await into.finish();
  } finally {
    await fh.close();
  }
}

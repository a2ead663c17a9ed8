/**
 * Writes tar and zip bytes for tests, including hostile ones (`../evil`,
 * absolute names, links out) that no archiver would make on purpose.
 */
import { deflateRawSync } from "node:zlib";
import { crc32 } from "../../../actors/agent/fetcher/crc32.ts";

/** One tar entry. */
export interface TarEntry {
  name: string;
  type?: "file" | "dir" | "symlink" | "hardlink" | "fifo";
  data?: string | Buffer;
  mode?: number;
  linkname?: string;
}

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, "0") + "\0";
}

function header(name: string, type: string, size: number, mode: number, linkname = ""): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, "utf8");
  h.write(octal(mode, 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii");
  h.write(octal(0, 8), 116, "ascii");
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(0, 12), 136, "ascii");
  h.write("        ", 148, "ascii");
  h.write(type, 156, "ascii");
  h.write(linkname, 157, "utf8");
  h.write("ustar\0", 257, "latin1");
  h.write("00", 263, "ascii");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + " ", 148, "ascii");
  return h;
}

function padded(data: Buffer): Buffer[] {
  const pad = (512 - (data.length % 512)) % 512;
  return [data, Buffer.alloc(pad)];
}

/** A tar archive of `entries` (pax headers for names over 100 bytes). */
export function tarBytes(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? "");
    const type = { file: "0", dir: "5", symlink: "2", hardlink: "1", fifo: "6" }[e.type ?? "file"];
    if (Buffer.byteLength(e.name) > 100) {
      const body = (n: number) => `${n} path=${e.name}\n`;
      let len = body(0).length;
      while (body(len).length !== len) len = body(len).length;
      const rec = Buffer.from(body(len));
      parts.push(header("PaxHeader", "x", rec.length, 0o644), ...padded(rec));
    }
    const size = type === "0" ? data.length : 0;
    parts.push(header(e.name, type, size, e.mode ?? (type === "5" ? 0o755 : 0o644), e.linkname));
    if (size > 0) parts.push(...padded(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** One zip entry. */
export interface ZipEntry {
  name: string;
  data?: string | Buffer;
  /** Unix mode with its type bits (0o100644 file, 0o120777 link, 0o040755 dir). */
  mode?: number;
  /** 8 deflate (default), 0 stored. */
  method?: 0 | 8;
  /** Lie about the uncompressed size (a bomb that understates it). */
  declaredSize?: number;
}

/** A zip archive of `entries`, made on "Unix" so that modes are kept. */
export function zipBytes(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = Buffer.from(e.data ?? "");
    const method = e.method ?? 8;
    const body = method === 8 ? deflateRawSync(data) : data;
    const name = Buffer.from(e.name, "utf8");
    const crc = crc32(data);
    const size = e.declaredSize ?? data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, body);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    const mode = e.mode ?? (e.name.endsWith("/") ? 0o040755 : 0o100644);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

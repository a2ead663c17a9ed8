/**
 * The safe writer behind every archive format: an entry's name must be a
 * relative path without `..` (absolute names and `..` are refused, not
 * rewritten), no entry is written through a symbolic link, symbolic links are
 * created last and only when they point inside the destination, hard links
 * only to files this archive already wrote, no devices or FIFOs, and the
 * entries and bytes written are bounded (archive bombs). Modes keep the
 * permission bits only (no setuid, setgid or sticky); nothing is chowned.
 */
import { createWriteStream } from "node:fs";
import { chmod, link, realpath, rm, symlink } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { clearTarget, mkdirInside, SandboxPathError } from "./paths.ts";
import { checkRelativePath } from "./uri.ts";

/** Bounds of one extraction. */
export interface ExtractLimits {
  /** Bytes all entries together may hold once extracted. */
  maxBytes: number;
  /** Entries the archive may hold. */
  maxEntries: number;
}

/** Longest symbolic link target accepted. */
const MAX_LINK_TARGET = 4096;

/** Writes the entries of one archive under `root`. */
export class Extractor {
  readonly #root: string;
  readonly #limits: ExtractLimits;
  readonly #dirs = new Set<string>();
  readonly #files = new Set<string>();
  readonly #links: { name: string; target: string }[] = [];
  readonly #signal: AbortSignal | undefined;
  #entries = 0;
  #bytes = 0;

  constructor(root: string, limits: ExtractLimits, signal?: AbortSignal) {
    this.#root = root;
    this.#limits = limits;
    this.#signal = signal;
  }

  /** Entries seen so far. */
  get entries(): number {
    return this.#entries;
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Checks an entry's name; undefined for the archive's root ("./"). */
  #name(raw: string): string | undefined {
    if (this.#signal?.aborted === true) throw new SandboxPathError("aborted");
    this.#entries += 1;
    if (this.#entries > this.#limits.maxEntries) {
      throw new SandboxPathError(`more than ${this.#limits.maxEntries} entries`);
    }
    if (raw.split("/").every((s) => s === "" || s === ".") && !raw.startsWith("/")) {
      return undefined;
    }
    const checked = checkRelativePath(raw);
    if (!checked.ok) throw new SandboxPathError(`entry '${raw}' ${checked.why}`);
    return checked.path;
  }

  async #parent(name: string): Promise<void> {
    const dir = path.posix.dirname(name);
    await mkdirInside(this.#root, dir === "." ? "" : dir, this.#dirs);
  }

  /** A directory entry. */
  async directory(raw: string, mode: number): Promise<void> {
    const name = this.#name(raw);
    if (name === undefined) return;
    const abs = await mkdirInside(this.#root, name, this.#dirs);
    await chmod(abs, (mode & 0o777) | 0o700);
  }

  /** A regular file entry whose content is `data`. */
  async file(raw: string, mode: number, data: Readable | AsyncIterable<Buffer>): Promise<void> {
    const name = this.#name(raw);
    if (name === undefined) throw new SandboxPathError(`entry '${raw}' is a file without a name`);
    await this.#parent(name);
    const abs = path.join(this.#root, name);
    await clearTarget(abs, name);
    const max = this.#limits.maxBytes;
    const count = new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        this.#bytes += chunk.length;
        if (this.#bytes > max) {
          done(new SandboxPathError(`the archive extracts to more than ${max} bytes`));
        } else done(null, chunk);
      },
    });
    const source = data instanceof Readable ? data : Readable.from(data);
    try {
      await pipeline(source, count, createWriteStream(abs, { flags: "wx", mode: 0o600 }));
    } catch (err) {
      await rm(abs, { force: true });
      throw err;
    }
    await chmod(abs, mode & 0o777);
    this.#files.add(name);
  }

  /** A symbolic link entry; created by {@link finish}. */
  symlink(raw: string, target: string): void {
    const name = this.#name(raw);
    if (name === undefined) throw new SandboxPathError(`entry '${raw}' is a link without a name`);
    if (target === "" || target.length > MAX_LINK_TARGET || target.includes("\0")) {
      throw new SandboxPathError(`symbolic link '${name}' has an invalid target`);
    }
    if (target.startsWith("/")) {
      throw new SandboxPathError(`symbolic link '${name}' points to an absolute path '${target}'`);
    }
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(name), target));
    if (resolved === ".." || resolved.startsWith("../")) {
      throw new SandboxPathError(`symbolic link '${name}' points out of the sandbox ('${target}')`);
    }
    this.#links.push({ name, target });
  }

  /** A hard link entry to a file of the same archive. */
  async hardlink(raw: string, targetRaw: string): Promise<void> {
    const name = this.#name(raw);
    const checked = checkRelativePath(targetRaw);
    if (name === undefined || !checked.ok || !this.#files.has(checked.path)) {
      throw new SandboxPathError(
        `hard link '${raw}' must point to a file extracted before it ('${targetRaw}')`,
      );
    }
    await this.#parent(name);
    const abs = path.join(this.#root, name);
    await clearTarget(abs, name);
    await link(path.join(this.#root, checked.path), abs);
    this.#files.add(name);
  }

  /** An entry of a kind that is never extracted (device, FIFO, socket). */
  refuse(raw: string, kind: string): never {
    throw new SandboxPathError(`entry '${raw}' is a ${kind}, which is not extracted`);
  }

  /**
   * Creates the symbolic links, then checks that every one that resolves
   * stays inside the destination (chains of links are resolved by the kernel).
   */
  async finish(): Promise<void> {
    for (const { name, target } of this.#links) {
      await this.#parent(name);
      const abs = path.join(this.#root, name);
      await clearTarget(abs, name);
      await symlink(target, abs);
      this.#files.delete(name);
    }
    const root = await realpath(this.#root);
    for (const { name, target } of this.#links) {
      const abs = path.join(this.#root, name);
      let real: string;
      try {
        real = await realpath(abs);
      } catch {
        continue; // dangling: points at nothing yet
      }
      if (real !== root && !real.startsWith(`${root}/`)) {
        await rm(abs, { force: true });
        throw new SandboxPathError(
          `symbolic link '${name}' points out of the sandbox ('${target}')`,
        );
      }
    }
  }
}

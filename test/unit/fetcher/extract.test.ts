import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import test from "ava";
import { extractArchive } from "../../../actors/agent/fetcher/archive.ts";
import type { ExtractLimits } from "../../../actors/agent/fetcher/extractor.ts";
import { type TarEntry, tarBytes, type ZipEntry, zipBytes } from "./archive-bytes.ts";

const LIMITS: ExtractLimits = { maxBytes: 1024 * 1024, maxEntries: 100 };

/** A work dir holding `sandbox/` and the archive beside it (outside the sandbox). */
async function place(t: { teardown(fn: () => Promise<void>): void }, name: string, bytes: Buffer) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-extract-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const sandbox = path.join(dir, "sandbox");
  await mkdir(sandbox);
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return { dir, sandbox, file };
}

function tar(t: Parameters<typeof place>[0], entries: TarEntry[], gz = false) {
  const raw = tarBytes(entries);
  return place(t, gz ? "a.tar.gz" : "a.tar", gz ? gzipSync(raw) : raw);
}

test("fetcher extract - a tar's files, directories, modes and inner links are written", async (t) => {
  const long = `${"d".repeat(60)}/${"f".repeat(60)}.txt`;
  const { sandbox, file } = await tar(
    t,
    [
      { name: "./", type: "dir" },
      { name: "app/", type: "dir" },
      { name: "app/run.sh", data: "#!/bin/sh\necho hi\n", mode: 0o755 },
      { name: "app/data.txt", data: "data", mode: 0o4644 },
      { name: "app/again.txt", type: "hardlink", linkname: "app/data.txt" },
      { name: "app/current", type: "symlink", linkname: "data.txt" },
      { name: long, data: "long" },
    ],
    true,
  );
  await extractArchive(file, "tar.gz", sandbox, "a.tar.gz", LIMITS);
  t.is(await readFile(path.join(sandbox, "app/run.sh"), "utf8"), "#!/bin/sh\necho hi\n");
  t.is((await stat(path.join(sandbox, "app/run.sh"))).mode & 0o777, 0o755);
  t.is((await stat(path.join(sandbox, "app/data.txt"))).mode & 0o7777, 0o644, "no setuid");
  t.is((await stat(path.join(sandbox, "app/again.txt"))).nlink, 2);
  t.is(await readlink(path.join(sandbox, "app/current")), "data.txt");
  t.is(await readFile(path.join(sandbox, "app/current"), "utf8"), "data");
  t.is(await readFile(path.join(sandbox, long), "utf8"), "long");
});

test("fetcher extract - tar entries with .. or absolute names are refused and nothing lands outside", async (t) => {
  for (const name of ["../evil", "a/../../evil", "/tmp/evil"]) {
    const { dir, sandbox, file } = await tar(t, [{ name, data: "x" }]);
    const err = await t.throwsAsync(extractArchive(file, "tar", sandbox, "a.tar", LIMITS));
    t.regex(err?.message ?? "", /escapes the sandbox|absolute path/, name);
    t.deepEqual((await readdir(dir)).sort(), ["a.tar", "sandbox"]);
    t.deepEqual(await readdir(sandbox), []);
  }
});

test("fetcher extract - symbolic links out of the sandbox are refused, even through a chain", async (t) => {
  const cases: TarEntry[][] = [
    [{ name: "up", type: "symlink", linkname: "../../etc" }],
    [{ name: "abs", type: "symlink", linkname: "/etc/passwd" }],
    [
      { name: "p/", type: "dir" },
      { name: "p/q", type: "symlink", linkname: ".." },
      { name: "r", type: "symlink", linkname: "p/q/.." },
    ],
  ];
  for (const entries of cases) {
    const { sandbox, file } = await tar(t, entries);
    const err = await t.throwsAsync(extractArchive(file, "tar", sandbox, "a.tar", LIMITS));
    t.regex(err?.message ?? "", /points (out of the sandbox|to an absolute path)/);
  }
});

test("fetcher extract - no entry is written through a symbolic link already in the sandbox", async (t) => {
  const { dir, sandbox, file } = await tar(t, [{ name: "out/evil", data: "x" }]);
  const outside = path.join(dir, "outside");
  await mkdir(outside);
  await symlink(outside, path.join(sandbox, "out"));
  const err = await t.throwsAsync(extractArchive(file, "tar", sandbox, "a.tar", LIMITS));
  t.regex(err?.message ?? "", /'out' is a symbolic link/);
  t.deepEqual(await readdir(outside), []);
});

test("fetcher extract - an existing link at an entry's name is replaced, not written through", async (t) => {
  const { dir, sandbox, file } = await tar(t, [{ name: "f", data: "new" }]);
  const target = path.join(dir, "target");
  await writeFile(target, "keep");
  await symlink(target, path.join(sandbox, "f"));
  await extractArchive(file, "tar", sandbox, "a.tar", LIMITS);
  t.is(await readFile(target, "utf8"), "keep");
  t.false((await lstat(path.join(sandbox, "f"))).isSymbolicLink());
  t.is(await readFile(path.join(sandbox, "f"), "utf8"), "new");
});

test("fetcher extract - hard links to files outside the archive, FIFOs and devices are refused", async (t) => {
  const hard = await tar(t, [{ name: "h", type: "hardlink", linkname: "../../etc/passwd" }]);
  await t.throwsAsync(extractArchive(hard.file, "tar", hard.sandbox, "a.tar", LIMITS), {
    message: /hard link 'h'/,
  });
  const fifo = await tar(t, [{ name: "p", type: "fifo" }]);
  await t.throwsAsync(extractArchive(fifo.file, "tar", fifo.sandbox, "a.tar", LIMITS), {
    message: /'p' is a FIFO/,
  });
});

test("fetcher extract - bytes and entries are bounded", async (t) => {
  const big = await tar(t, [{ name: "big", data: Buffer.alloc(4096, 1) }], true);
  await t.throwsAsync(
    extractArchive(big.file, "tar.gz", big.sandbox, "a.tar.gz", { maxBytes: 1000, maxEntries: 10 }),
    { message: /more than 1000 bytes/ },
  );
  t.deepEqual(await readdir(big.sandbox), [], "the cut file is removed");
  const many = await tar(
    t,
    Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: "x" })),
  );
  await t.throwsAsync(
    extractArchive(many.file, "tar", many.sandbox, "a.tar", { maxBytes: 1000, maxEntries: 3 }),
    { message: /more than 3 entries/ },
  );
});

test("fetcher extract - a file that is not a tar says so", async (t) => {
  const { sandbox, file } = await place(t, "a.tar", Buffer.from("hello, not a tar".repeat(64)));
  await t.throwsAsync(extractArchive(file, "tar", sandbox, "a.tar", LIMITS), {
    message: /not a tar archive/,
  });
});

function zip(t: Parameters<typeof place>[0], entries: ZipEntry[]) {
  return place(t, "a.zip", zipBytes(entries));
}

test("fetcher extract - a zip's deflated and stored files, directories, modes and links", async (t) => {
  const { sandbox, file } = await zip(t, [
    { name: "bin/", mode: 0o040755 },
    { name: "bin/tool", data: "#!/bin/sh\necho zip\n", mode: 0o100755 },
    { name: "README", data: "read me ".repeat(100), method: 0 },
    { name: "bin/link", data: "tool", mode: 0o120777 },
  ]);
  await extractArchive(file, "zip", sandbox, "a.zip", LIMITS);
  t.is(await readFile(path.join(sandbox, "bin/tool"), "utf8"), "#!/bin/sh\necho zip\n");
  t.is((await stat(path.join(sandbox, "bin/tool"))).mode & 0o777, 0o755);
  t.is(await readFile(path.join(sandbox, "README"), "utf8"), "read me ".repeat(100));
  t.is(await readlink(path.join(sandbox, "bin/link")), "tool");
});

test("fetcher extract - zip entries escaping the sandbox, lying sizes and bad CRCs are refused", async (t) => {
  const evil = await zip(t, [{ name: "../evil", data: "x" }]);
  await t.throwsAsync(extractArchive(evil.file, "zip", evil.sandbox, "a.zip", LIMITS), {
    message: /'\.\.\/evil' escapes the sandbox/,
  });
  t.deepEqual((await readdir(evil.dir)).sort(), ["a.zip", "sandbox"]);
  const out = await zip(t, [{ name: "l", data: "../../x", mode: 0o120777 }]);
  await t.throwsAsync(extractArchive(out.file, "zip", out.sandbox, "a.zip", LIMITS), {
    message: /points out of the sandbox/,
  });
  const bomb = await zip(t, [{ name: "b", data: Buffer.alloc(100_000), declaredSize: 10 }]);
  await t.throwsAsync(extractArchive(bomb.file, "zip", bomb.sandbox, "a.zip", LIMITS), {
    message: /larger than its declared size/,
  });
  const bytes = zipBytes([{ name: "c", data: "payload", method: 0 }]);
  bytes[31] = (bytes[31] ?? 0) ^ 0xff; // flip a byte of the stored data
  const crc = await place(t, "a.zip", bytes);
  await t.throwsAsync(extractArchive(crc.file, "zip", crc.sandbox, "a.zip", LIMITS), {
    message: /fails its CRC/,
  });
  const junk = await place(t, "a.zip", Buffer.from("not a zip at all"));
  await t.throwsAsync(extractArchive(junk.file, "zip", junk.sandbox, "a.zip", LIMITS), {
    message: /not a zip archive/,
  });
});

test("fetcher extract - a bare .gz is decompressed beside it without the extension", async (t) => {
  const { sandbox, file } = await place(t, "notes.txt.gz", gzipSync("hello gz"));
  await extractArchive(file, "gz", sandbox, "notes.txt.gz", LIMITS);
  t.is(await readFile(path.join(sandbox, "notes.txt"), "utf8"), "hello gz");
});

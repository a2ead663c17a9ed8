import test from "ava";
import { type ArchiveKind, archiveKind } from "../../../actors/agent/fetcher/archive.ts";
import { isFetchFailed } from "../../../actors/agent/fetcher/errors.ts";
import { outputName, parseUri, redactUri } from "../../../actors/agent/fetcher/uri.ts";
import { ErrorCode } from "../../../protocol/errors.ts";

test("fetcher uri - http, https, file:// and absolute paths are named by their last segment", (t) => {
  const h = parseUri("http://example.com/a/b/app.tar.gz?token=1");
  t.is(h.kind, "http");
  t.is(outputName(h, undefined), "app.tar.gz");
  t.is(outputName(parseUri("https://example.com/x/my%20tool"), undefined), "my tool");
  const f = parseUri("file:///opt/pkgs/tool.zip");
  t.is(f.kind, "file");
  t.is(f.kind === "file" ? f.path : "", "/opt/pkgs/tool.zip");
  t.is(outputName(f, undefined), "tool.zip");
  const p = parseUri("  /opt/./pkgs/run.sh");
  t.is(p.kind === "file" ? p.path : "", "/opt/pkgs/run.sh");
  t.is(outputName(p, undefined), "run.sh");
});

test("fetcher uri - unsupported schemes, relative paths and remote file hosts are refused", (t) => {
  for (const [value, says] of [
    ["ftp://example.com/x", "unsupported scheme 'ftp:'"],
    ["hdfs://nn/x", "unsupported scheme 'hdfs:'"],
    ["relative/path.tar", "relative path"],
    ["file://otherhost/etc/passwd", "no host"],
  ] as const) {
    const err = t.throws(() => parseUri(value));
    t.true(isFetchFailed(err), value);
    t.is((err as { code?: string }).code, ErrorCode.FetchFailed);
    t.true(err?.message.includes(says), `${value}: ${err?.message}`);
  }
});

test("fetcher uri - a URI without a file name needs outputFile", (t) => {
  const u = parseUri("http://example.com/dir/");
  const err = t.throws(() => outputName(u, undefined));
  t.regex(err?.message ?? "", /http:\/\/example\.com\/dir\/.*set outputFile/);
  t.is(outputName(u, "dir.tar"), "dir.tar");
});

test("fetcher uri - outputFile stays inside the sandbox", (t) => {
  const u = parseUri("http://example.com/x.tar.gz");
  t.is(outputName(u, "lib/./x.tgz"), "lib/x.tgz");
  for (const bad of ["../x", "a/../../x", "/etc/passwd", "a/..", ".", "dir/"]) {
    const err = t.throws(() => outputName(u, bad), undefined, bad);
    t.true(isFetchFailed(err), bad);
    t.true(err?.message.startsWith("fetch http://example.com/x.tar.gz: outputFile"), err?.message);
  }
  t.regex(t.throws(() => outputName(u, "../x"))?.message ?? "", /'\.\.\/x' escapes the sandbox/);
});

test("fetcher uri - credentials never appear in messages", (t) => {
  t.is(redactUri("https://me:secret@example.com/a"), "https://***@example.com/a");
  const err = t.throws(() => outputName(parseUri("https://me:secret@example.com/"), undefined));
  t.false(err?.message.includes("secret"));
});

test("fetcher uri - archives are recognized by Mesos's extensions", (t) => {
  const cases: [string, ArchiveKind | undefined][] = [
    ["a.tar", "tar"],
    ["a.tar.gz", "tar.gz"],
    ["a.tgz", "tar.gz"],
    ["a.tar.bz2", "tar.bz2"],
    ["a.tbz2", "tar.bz2"],
    ["a.tar.xz", "tar.xz"],
    ["a.txz", "tar.xz"],
    ["a.ZIP", "zip"],
    ["a.gz", "gz"],
    ["a.txt", undefined],
    ["a.tar.zst", undefined],
  ];
  for (const [name, kind] of cases) t.is(archiveKind(name), kind, name);
});

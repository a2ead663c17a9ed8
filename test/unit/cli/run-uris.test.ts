import test from "ava";
import { type RUN_URI_OPTIONS, runUris } from "../../../cli/commands/run-uris.ts";
import type { Resolved } from "../../../infra/config.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

const none: Resolved<typeof RUN_URI_OPTIONS> = {
  uri: undefined,
  uriExecutable: undefined,
  uriCache: false,
};

test("run uris - --uri extracts by default, --uri-executable is executable, --uri-cache caches all", (t) => {
  t.is(runUris(none), undefined);
  t.deepEqual(runUris({ ...none, uri: ["http://h/a.tar.gz", "/opt/b.zip"] }), [
    { value: "http://h/a.tar.gz" },
    { value: "/opt/b.zip" },
  ]);
  t.deepEqual(
    runUris({
      ...none,
      uri: ["file:///x/a.tgz"],
      uriExecutable: ["https://h/tool"],
      uriCache: true,
    }),
    [
      { value: "file:///x/a.tgz", cache: true },
      { value: "https://h/tool", executable: true, cache: true },
    ],
  );
});

test("run uris - a URI the agent cannot fetch is a usage error naming the flag", (t) => {
  const usage = (values: Partial<typeof none>) => {
    const err = t.throws(() => runUris({ ...none, ...values }));
    t.true(err instanceof AgoraError);
    t.is((err as AgoraError).code, ErrorCode.InvalidConfig);
    return err!.message;
  };
  t.regex(usage({ uri: ["./x.tar.gz"] }), /^--uri: .*relative path/);
  t.regex(usage({ uriExecutable: ["ftp://h/x"] }), /^--uri-executable: .*unsupported scheme/);
  t.regex(usage({ uri: ["http://h/"] }), /^--uri: .*no file name/);
  t.regex(usage({ uriCache: true }), /--uri-cache needs --uri/);
});

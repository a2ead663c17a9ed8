/** Ids that become path components never leave their directory. */
import path from "node:path";
import test from "ava";
import { pathSegmentProblem, unsafeIds, within } from "../../../actors/shared/path-safety.ts";
import { executorDir } from "../../../actors/shared/sandbox.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

test("path safety - an id with a separator, NUL, '.', '..' or nothing cannot be a path component", (t) => {
  for (const id of ["a/b", "/etc", "..\\x", "a\0b", ".", "..", ""]) {
    t.not(pathSegmentProblem(id), undefined, JSON.stringify(id));
  }
  for (const id of ["task-1", "web_2", "a:b@c", "%2F"]) t.is(pathSegmentProblem(id), undefined, id);
  t.is(
    unsafeIds({ "task id": "ok", "executor id": "../x" }),
    "executor id \"../x\" holds a path separator ('/' or '\\'): it would name a path outside the sandbox",
  );
  t.is(unsafeIds({ "task id": "ok", "executor id": undefined }), undefined);
});

test("path safety - a path built from ids is checked to stay inside its root", (t) => {
  t.is(within("/srv/agora", "a", "b"), path.resolve("/srv/agora/a/b"));
  for (const outside of [["..", "etc"], ["/etc"], ["a", "..", "..", "x"]]) {
    const err = t.throws(() => within("/srv/agora", ...outside), { instanceOf: AgoraError });
    t.is(err?.code, ErrorCode.InvalidId);
  }
  t.is(
    executorDir("/srv/agora", "a/../../x", "f", "e"),
    path.resolve("/srv/agora/slaves/a%2F..%2F..%2Fx/frameworks/f/executors/e"),
    "the sandbox layout percent-encodes its segments",
  );
});

import test from "ava";
import {
  checkContainerId,
  containerIdFor,
  parseKeyed,
} from "../../../actors/agent/isolation/cgroup-fs.ts";
import { isAgoraError } from "../../../protocol/errors.ts";

test("cgroup fs - an executor's container id is a valid cgroup name, stable and unique", (t) => {
  const id = containerIdFor("fw-1", "web/server 1");
  t.regex(id, /^web_server_1-[0-9a-f]{12}$/);
  t.notThrows(() => checkContainerId(id));
  t.is(containerIdFor("fw-1", "web/server 1"), id);
  t.not(containerIdFor("fw-2", "web/server 1"), id);
  t.not(containerIdFor("fw-1", "web_server 1"), id);
  t.true(containerIdFor("f", "x".repeat(500)).length <= 77);
});

test("cgroup fs - names that would leave their cgroup or clash with the leaf are refused", (t) => {
  for (const bad of ["", "a/b", "..", ".hidden", "leaf", "a b"]) {
    const err = t.throws(() => checkContainerId(bad));
    t.true(isAgoraError(err, "INVALID_ID"), bad);
  }
});

test("cgroup fs - keyed files parse as the kernel writes them", (t) => {
  const m = parseKeyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n\ngarbage\n");
  t.deepEqual(
    [...m],
    [
      ["oom_kill_disable", 0],
      ["under_oom", 0],
      ["oom_kill", 3],
    ],
  );
  t.is(parseKeyed(undefined).size, 0);
});

/**
 * Running tasks as a user: users and groups read from passwd/group files,
 * the effective user, the spawn options, the refusals, and the task's
 * environment without any AGORA_* or NATS_* variable.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import {
  effectiveUser,
  lookupUser,
  spawnAsUser,
  taskEnvironment,
  type UserDatabase,
  userProblem,
  withUser,
} from "../../../actors/shared/task-user.ts";

async function database(): Promise<UserDatabase & { remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "agora-users-"));
  const passwd = path.join(dir, "passwd");
  const group = path.join(dir, "group");
  await writeFile(
    passwd,
    [
      "root:x:0:0:root:/root:/bin/bash",
      "# a comment",
      "alice:x:1001:1001:Alice:/home/alice:/bin/sh",
      "bob:x:1002:100::/home/bob:/bin/sh",
      "broken:x:notanumber:1:::",
    ].join("\n"),
  );
  await writeFile(
    group,
    [
      "root:x:0:",
      "users:x:100:alice",
      "alice:x:1001:",
      "docker:x:998:bob,alice",
      "ops:x:50:carol",
    ].join("\n"),
  );
  return { passwd, group, remove: () => rm(dir, { recursive: true, force: true }) };
}

test("task user - a user's uid, gid, home and supplementary groups come from passwd and group", async (t) => {
  const db = await database();
  t.teardown(db.remove);
  t.deepEqual(lookupUser("alice", db), {
    name: "alice",
    uid: 1001,
    gid: 1001,
    home: "/home/alice",
    groups: [100, 998],
  });
  t.deepEqual(lookupUser("bob", db)?.groups, [998], "the primary group is not a supplementary one");
  t.is(lookupUser("1002", db)?.name, "bob", "a numeric uid names its user");
  t.is(lookupUser("carol", db), undefined);
  t.is(lookupUser("broken", db), undefined);
});

test("task user - an unknown user, or a switch by a non-root agent, is refused naming the user", async (t) => {
  const db = await database();
  t.teardown(db.remove);
  t.is(
    userProblem("carol", db, 0),
    "Failed to run the task as user 'carol': no such user on this agent",
  );
  t.is(userProblem("alice", db, 0), undefined);
  t.is(userProblem("alice", db, 1001), undefined, "no switch needed to run as oneself");
  t.regex(
    userProblem("alice", db, 1002) ?? "",
    /^Failed to run the task as user 'alice': the agent does not run as root/,
  );
});

test("task user - the command's user, else the executor's, else the framework's; none with switching off", (t) => {
  t.is(effectiveUser("fw", { command: { user: "cmd" } }, true), "cmd");
  t.is(effectiveUser("fw", { executor: { command: { user: "ex" } } }, true), "ex");
  t.is(effectiveUser("fw", { command: {} }, true), "fw");
  t.is(effectiveUser("", { command: {} }, true), undefined);
  t.is(effectiveUser("fw", { command: { user: "cmd" } }, false), undefined);
  t.deepEqual(withUser({ command: { value: "x", user: "a" } }, "b"), {
    command: { value: "x", user: "b" },
  });
  t.deepEqual(withUser({ command: { value: "x", user: "a" } }, undefined), {
    command: { value: "x" },
  });
});

test("task user - spawning as another user sets uid/gid, or goes through setpriv for supplementary groups", (t) => {
  const program = { file: "/bin/id", args: ["-u"] };
  const plain = { name: "p", uid: 5, gid: 6, groups: [], home: "/" };
  t.deepEqual(spawnAsUser(plain, program, 0), { file: "/bin/id", args: ["-u"], uid: 5, gid: 6 });
  t.deepEqual(spawnAsUser(plain, program, 5), { file: "/bin/id", args: ["-u"] }, "no switch");
  t.deepEqual(spawnAsUser(undefined, program, 0), { file: "/bin/id", args: ["-u"] });
  const grouped = spawnAsUser({ ...plain, groups: [7, 8] }, program, 0);
  if (grouped.uid === undefined) {
    t.regex(grouped.file, /setpriv$/);
    t.deepEqual(grouped.args, ["--reuid=5", "--regid=6", "--groups=7,8", "--", "/bin/id", "-u"]);
  } else {
    t.deepEqual(grouped, { file: "/bin/id", args: ["-u"], uid: 5, gid: 6 }, "without setpriv");
  }
});

test("task env - no AGORA_* or NATS_* variable; sandbox and task id as MESOS_*; the command's own win", (t) => {
  const env = taskEnvironment(
    {
      PATH: "/bin",
      AGORA_NATS_URL: "nats://u:secret@h:4222",
      AGORA_FRAMEWORK_ID: "f",
      AGORA_CREDS: "/x.creds",
      NATS_CREDS: "/y.creds",
      HOME: "/root",
    },
    {
      sandbox: "/sb",
      taskId: "t1",
      user: { name: "nobody", uid: 65534, gid: 65534, groups: [], home: "/nonexistent" },
      environment: { MINE: "1", PATH: "/usr/bin" },
    },
  );
  t.deepEqual(env, {
    PATH: "/usr/bin",
    HOME: "/nonexistent",
    USER: "nobody",
    LOGNAME: "nobody",
    MESOS_SANDBOX: "/sb",
    MESOS_TASK_ID: "t1",
    MINE: "1",
  });
});

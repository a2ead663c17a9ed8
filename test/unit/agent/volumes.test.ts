import { access, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import {
  CheckpointedResources,
  checkpointedResourcesPath,
  volumePath,
} from "../../../actors/agent/volumes.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { Resources } from "../../../protocol/resources.ts";

async function workDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-volumes-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const statics = Resources.parse("cpus:4;mem:4096;disk:2048");
const volume = "disk(eng/db,ops)[pg:data]";

test("volumes - checkpointed resources are written, make the total, and survive a restart", async (t) => {
  const dir = await workDir(t);
  const store = new CheckpointedResources(dir, silentLogger());
  t.is(store.totalFor(statics), statics, "nothing checkpointed yet");
  const total = await store.update({ "cpus(web,ops)": 1, [volume]: 512 }, statics);
  t.is(total.toString(), `cpus:3;cpus(web,ops):1;mem:4096;disk:1536;${volume}:512`);
  const file = JSON.parse(await readFile(checkpointedResourcesPath(dir), "utf8"));
  t.deepEqual(file, { "cpus(web,ops)": 1, [volume]: 512 });
  // a role's "/" is percent-encoded in the volume's directory
  t.is(volumePath(dir, "eng/db", "pg"), path.join(dir, "volumes/roles/eng%2Fdb/pg"));
  await access(volumePath(dir, "eng/db", "pg"));

  const again = new CheckpointedResources(dir, silentLogger());
  await again.load();
  t.true(again.totalFor(statics).equals(total));
  // resources the agent's own cannot hold are refused
  const err = t.throws(() => again.totalFor(Resources.parse("cpus:4")), { instanceOf: AgoraError });
  t.is(err?.code, ErrorCode.InvalidConfig);
});

test("volumes - a task's volume is linked into its sandbox; a destroyed volume's directory goes", async (t) => {
  const dir = await workDir(t);
  const store = new CheckpointedResources(dir, silentLogger());
  await store.update({ [volume]: 512 }, statics);
  const sandbox = path.join(dir, "sandbox");
  await store.link({ cpus: 1, [volume]: 512 }, sandbox);
  t.is(await readlink(path.join(sandbox, "data")), volumePath(dir, "eng/db", "pg"));
  await writeFile(path.join(sandbox, "data", "note"), "kept");
  // linking again (a restarted task in the same sandbox) is fine
  await store.link({ [volume]: 512 }, sandbox);
  // a volume the agent does not have is refused
  await t.throwsAsync(store.link({ "disk(x)[nope:n]": 1 }, sandbox), {
    message: /not on this agent/,
  });
  await store.update({}, statics);
  await t.throwsAsync(access(volumePath(dir, "eng/db", "pg")));
});

test("volumes - a corrupt resources.info is a one-line configuration error", async (t) => {
  const dir = await workDir(t);
  const store = new CheckpointedResources(dir, silentLogger());
  await store.update({ "cpus(web,ops)": 1 }, statics);
  await writeFile(checkpointedResourcesPath(dir), "{not json");
  const err = await t.throwsAsync(new CheckpointedResources(dir, silentLogger()).load(), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.InvalidConfig);
  t.regex(err?.message ?? "", /resources\.info: not valid checkpointed resources/);
});

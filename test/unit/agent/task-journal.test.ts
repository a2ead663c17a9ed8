import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { journalLine, TaskJournals } from "../../../actors/agent/task-journal.ts";

test("close waits for the writes queued before it, including one queued while a batch runs", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-journal-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, "tasks.jsonl");
  let synced = 0;
  const journals = new TaskJournals((count) => {
    synced += count;
  });
  // not awaited: close alone must see them through
  void journals.write(file, "t1", () => {
    // queued while the first batch is being produced: it goes in a second batch
    void journals.write(file, "t2", () => '{"n":2}');
    return '{"n":1}';
  });
  await journals.close();
  // durable when close resolved, not some time after: two batches and the new file's directory
  t.is(synced, 3);
  t.is(await readFile(file, "utf8"), journalLine("t1", '{"n":1}') + journalLine("t2", '{"n":2}'));
});

/**
 * The single nats-server restarts without its store (the registry bucket is
 * gone): the master fences itself while it cannot renew, creates the bucket
 * again and leads; an agent registers with it.
 */
import test from "ava";
import { startNatsServer } from "../../../infra/nats-server.ts";
import { FakeAgent, freshSubjects } from "../master/helpers.ts";
import { startHaMaster, withTimeout } from "./helpers.ts";

test("ha nats restart - a server restarted without its store: the bucket is created again and the master leads", async (t) => {
  const first = await startNatsServer();
  t.teardown(() => first.stop());
  const subjects = freshSubjects();
  const m = await startHaMaster(first.url, subjects, "nr");
  t.teardown(() => m.stop());
  t.true(m.master.isLeading());
  await first.stop();
  const second = await startNatsServer({ port: first.port });
  t.teardown(() => second.stop());
  // it cannot have kept leading through the outage: it leads again with a fresh core
  await withTimeout(
    (async () => {
      while (m.master.metrics.get("leader_elected") < 2) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await m.master.whenLeading();
    })(),
    30_000,
    "the master leading again",
  );
  t.true(m.master.metrics.get("leader_fenced") >= 1);
  const agent = await FakeAgent.connect(second.url, subjects);
  t.teardown(() => agent.close());
  const registered = await agent.register({ cpus: 1 });
  t.is(registered.masterId, "nr");
});

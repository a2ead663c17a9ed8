/**
 * The master's NATS outbox: what was queued while leading is published at the
 * end of the task only if the master still leads then.
 */
import test from "ava";
import { natsOutbox } from "../../../actors/master/outbox.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { Subjects } from "../../../protocol/subjects.ts";

test("outbox - a batch queued while leading is not published once the lease is lost", async (t) => {
  const published: string[] = [];
  const metrics = new Metrics();
  let leading = true;
  const outbox = natsOutbox(
    { publish: (subject: string) => void published.push(subject) },
    new Subjects("t"),
    silentLogger(),
    metrics,
    () => leading,
  );
  outbox.toAgent("a1", { type: "agent.reregisterRequest" });
  leading = false; // e.g. paused (SIGSTOP) before the task ended, resumed past the fence
  await Promise.resolve();
  t.deepEqual(published, []);
  t.is(metrics.get("messages_dropped_not_leading"), 1);
  leading = true;
  outbox.toAgent("a1", { type: "agent.reregisterRequest" });
  outbox.flush?.();
  t.deepEqual(published, [new Subjects("t").agent("a1")]);
});

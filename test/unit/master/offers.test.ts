import test from "ava";
import { handleRegister } from "../../../actors/master/agent-handlers.ts";
import { handleSubscribe } from "../../../actors/master/framework-handlers.ts";
import { endOffer } from "../../../actors/master/offers.ts";
import { AgoraError } from "../../../protocol/errors.ts";
import { OfferEvent, OfferState } from "../../../protocol/lifecycles/offer.machine.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { Harness } from "./harness.ts";

test("offers - frameworks and agents are used once heard from after (re)registering, or after one interval", (t) => {
  const h = new Harness();
  const reply = handleSubscribe(
    h.ctx,
    { type: "scheduler.subscribe", framework: { name: "fw" } },
    true,
  ) as MessageOf<"event.subscribed">;
  const fid = reply.frameworkId;
  t.deepEqual(h.sentTo("framework", fid, "event.subscribed"), [reply], "also published once");
  const registered = handleRegister(
    h.ctx,
    { type: "agent.register", hostname: "h", resources: { cpus: 1, mem: 128 }, attributes: {} },
    true,
  ) as MessageOf<"agent.registered">;
  h.flush();
  h.core.allocator.run();
  t.deepEqual(h.offersTo(fid), [], "neither has shown that it listens yet");
  h.agent(registered.agentId, { type: "agent.heartbeat" });
  h.call(fid, { type: "scheduler.heartbeat" });
  h.flush();
  t.is(h.offersTo(fid).length, 1);

  const late = new Harness();
  const lateFw = (
    handleSubscribe(
      late.ctx,
      { type: "scheduler.subscribe", framework: { name: "quiet" } },
      true,
    ) as MessageOf<"event.subscribed">
  ).frameworkId;
  handleRegister(
    late.ctx,
    { type: "agent.register", hostname: "h", resources: { cpus: 1, mem: 128 }, attributes: {} },
    true,
  );
  late.clock.advance(999);
  late.flush();
  t.deepEqual(late.offersTo(lateFw), []);
  late.clock.advance(1);
  t.is(late.offersTo(lateFw).length, 1);
});

test("offers - revive clears filters and offers again at once", (t) => {
  const h = new Harness();
  const fid = h.addFramework();
  h.addAgent({ cpus: 1, mem: 128 });
  h.flush();
  const offer = h.offersTo(fid)[0]!;
  h.call(fid, {
    type: "scheduler.decline",
    offerIds: [offer.offerId],
    filters: { refuseSeconds: 3600 },
  });
  t.like(
    h.outbox.sent.find((s) => s.msg.type === "cluster.offerEnded")?.msg,
    { offerId: offer.offerId, frameworkId: fid, how: "declined" },
    "observers see the offer end",
  );
  const mark = h.mark();
  h.core.allocator.run();
  t.deepEqual(h.offersTo(fid, mark), []);
  h.call(fid, { type: "scheduler.revive" });
  h.flush();
  t.is(h.offersTo(fid, mark).length, 1);
});

test("offers - suppress stops offers for the roles until revive", (t) => {
  const h = new Harness();
  const fid = h.addFramework({ roles: ["a", "b"] });
  h.call(fid, { type: "scheduler.suppress" });
  h.addAgent({ cpus: 1, mem: 128 });
  h.flush();
  t.deepEqual(h.offersTo(fid), []);
  h.call(fid, { type: "scheduler.revive", roles: ["b"] });
  h.flush();
  t.deepEqual(
    h.offersTo(fid).map((o) => o.role),
    ["b"],
  );
  t.throws(() => h.call(fid, { type: "scheduler.suppress", roles: ["c"] }), {
    instanceOf: AgoraError,
  });
});

test("offers - a framework can subscribe with suppressed roles", (t) => {
  const h = new Harness();
  const fid = h.addFramework({ roles: ["a"] }, ["a"]);
  h.addAgent({ cpus: 1, mem: 128 });
  h.advance(3000);
  t.deepEqual(h.offersTo(fid), []);
  t.throws(() => h.addFramework({ roles: ["a"] }, ["b"]), { instanceOf: AgoraError });
});

test("offers - the offer timeout rescinds an offer and its resources are offered again", (t) => {
  const h = new Harness({ offerTimeout: 2000 });
  const fid = h.addFramework();
  h.addAgent({ cpus: 1, mem: 128 });
  h.flush();
  const offer = h.offersTo(fid)[0]!;
  const mark = h.mark();
  h.advance(2000);
  t.deepEqual(
    h.sentTo("framework", fid, "event.rescind", mark).map((m) => m.offerId),
    [offer.offerId],
  );
  t.true(h.outbox.sent.some((s) => s.msg.type === "cluster.offerRescinded"));
  t.false(
    h.outbox.sent.some((s) => s.msg.type === "cluster.offerEnded"),
    "an expired offer ends once, as a rescind",
  );
  t.is(h.metrics.get("offers_expired"), 1);
  h.advance(1000); // the next batch
  t.true(h.offersTo(fid, mark).length >= 1);
  t.not(h.offersTo(fid, mark)[0]?.offerId, offer.offerId);
  t.deepEqual(h.invariants(), []);
});

test("offers - an offer follows the offer machine: once ended, no event ends it again", (t) => {
  const h = new Harness({ offerTimeout: 2000 });
  const fid = h.addFramework();
  h.addAgent({ cpus: 1, mem: 128 });
  h.flush();
  const wire = h.offersTo(fid)[0]!;
  const offer = h.ctx.offers.get(wire.offerId)!;
  t.is(offer.state, OfferState.Outstanding);
  t.true(endOffer(h.ctx, offer, OfferEvent.Decline));
  t.is(offer.state, OfferState.Declined);
  for (const event of Object.values(OfferEvent)) t.false(endOffer(h.ctx, offer, event), event);
  t.is(offer.timer, undefined, "the offer timeout is cancelled with the offer");
  const mark = h.mark();
  h.advance(2000);
  t.deepEqual(
    h.sentTo("framework", fid, "event.rescind", mark),
    [],
    "a declined offer never expires",
  );
  t.is(h.metrics.get("offers_expired"), 0);
  t.deepEqual(h.invariants(), []);
});

test("offers - a leftover below --min-allocatable-resources is not offered", (t) => {
  const h = new Harness({ minAllocatableResources: "cpus:1;mem:256" });
  const fid = h.addFramework();
  h.addAgent({ cpus: 0.5, mem: 4096 }, "small");
  const big = h.addAgent({ cpus: 2, mem: 256 }, "big");
  h.flush();
  t.deepEqual(
    h.offersTo(fid).map((o) => o.agentId),
    [big],
  );
  t.deepEqual(h.invariants(), []);
});

test("offers - one event.offers per framework per cycle; cluster events for each offer", (t) => {
  const h = new Harness();
  const f1 = h.addFramework({ name: "one" });
  const f2 = h.addFramework({ name: "two" });
  for (let i = 0; i < 4; i++) h.addAgent({ cpus: 1, mem: 128 }, `h${i}`);
  h.flush();
  t.is(h.sentTo("framework", f1, "event.offers").length, 1);
  t.is(h.sentTo("framework", f2, "event.offers").length, 1);
  t.is(h.offersTo(f1).length, 2);
  t.is(h.offersTo(f2).length, 2);
  const sent = h.outbox.sent.flatMap((s) => (s.msg.type === "cluster.offersSent" ? [s.msg] : []));
  t.is(sent.length, 1, "one summary for the cycle");
  t.deepEqual(sent[0]?.offers.map((o) => o.frameworkId).sort(), [f1, f1, f2, f2].sort());
  const shares = h.outbox.sent.find((s) => s.msg.type === "cluster.allocation")?.msg;
  t.like(shares, { frameworks: { [f1]: { dominantShare: 0.5 }, [f2]: { dominantShare: 0.5 } } });
  t.is(h.state().frameworks[0]?.dominantShare, 0.5);
  t.like(h.state().roles["*"], { weight: 1, dominantShare: 1, allocated: { cpus: 4, mem: 512 } });
  t.deepEqual(h.invariants(), []);
});

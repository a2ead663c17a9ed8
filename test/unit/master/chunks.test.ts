/**
 * A batch cycle applies a large decision in chunks, one per event-loop turn,
 * so that the master serves calls in between; `allocate()` applies a
 * decision whole.
 */
import test from "ava";
import { Harness } from "./harness.ts";

/** 5 agents and a framework, every requested cycle run: the first cycle's chunks pending. */
function cluster(chunk: number) {
  const h = new Harness({}, { allocationChunk: chunk });
  const agents = Array.from({ length: 5 }, (_, i) => h.addAgent({ cpus: 1, mem: 128 }, `h${i}`));
  const fid = h.addFramework();
  return { h, agents, fid };
}

test("chunks - a batch cycle offers `chunk` agents per turn until its decision is applied", (t) => {
  const { h, fid } = cluster(2);
  const perTurn: number[] = [];
  let offered = 0;
  while (h.turn() > 0) {
    const now = h.offersTo(fid).length;
    perTurn.push(now - offered);
    offered = now;
  }
  t.deepEqual(
    perTurn.filter((n) => n > 0),
    [2, 2, 1],
  );
  t.is(new Set(h.offersTo(fid).map((o) => o.agentId)).size, 5, "every agent offered once");
  t.deepEqual(h.invariants(), []);
});

test("chunks - a cycle asked for while chunks are pending runs after the last one", (t) => {
  const { h, fid } = cluster(2);
  // the first turn runs the cycle the framework's subscription asked for: 2 offers
  h.turn();
  t.is(h.offersTo(fid).length, 2);
  // the batch timer fires meanwhile: deferred, no second decision over the same agents
  h.clock.advance(1000);
  h.flush();
  const offers = h.offersTo(fid);
  t.is(offers.length, 5);
  t.is(new Set(offers.map((o) => o.agentId)).size, 5);
  t.deepEqual(h.invariants(), []);
});

test("chunks - allocate() applies what is pending, then a cycle of its own, whole", (t) => {
  const { h, fid } = cluster(2);
  h.turn();
  t.is(h.offersTo(fid).length, 2);
  const made = h.core.allocator.run();
  t.is(made, 3, "the 3 pending offers; the new cycle has nothing left to offer");
  t.is(h.offersTo(fid).length, 5);
  t.deepEqual(h.invariants(), []);
});

test("chunks - a role suppressed between chunks gets no more offers of the cycle", (t) => {
  const { h, fid } = cluster(2);
  h.turn();
  t.is(h.offersTo(fid).length, 2);
  h.call(fid, { type: "scheduler.suppress" });
  h.flush();
  t.is(h.offersTo(fid).length, 2);
  t.true(h.metrics.get("allocations_skipped") >= 3);
  t.deepEqual(h.invariants(), []);
});

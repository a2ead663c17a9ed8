/**
 * The leadership machine and the lease driver on a virtual clock: election,
 * renewal, takeover after a whole lease without a new revision, and the
 * fencing rule (a leader that has gone lease × 0.8 without a successful
 * renewal stops, measured from when that renewal was sent).
 */
import test from "ava";
import { createActor } from "xstate";
import { leadershipMachine, leadershipState } from "../../../actors/master/leadership.machine.ts";
import { createLeadership } from "../../../actors/master/leadership.ts";
import type { LeaseEntry, LeaseStore } from "../../../actors/master/registry-kv.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { machineClock } from "../../../infra/machine-clock.ts";
import { Metrics } from "../../../infra/metrics.ts";
import type { LeaderRecord, MasterRecord } from "../../../protocol/store.ts";

const LEASE = 1000;

function machineWith(clock: VirtualClock) {
  const calls: string[] = [];
  const record = (name: string) => (): void => {
    calls.push(name);
  };
  const actor = createActor(
    leadershipMachine.provide({
      actions: {
        pollLease: record("pollLease"),
        tryAcquire: record("tryAcquire"),
        renew: record("renew"),
        startServing: record("startServing"),
        stopServing: record("stopServing"),
        resign: record("resign"),
      },
    }),
    { input: { leaseMs: LEASE }, clock: machineClock(clock) },
  );
  actor.start();
  const state = () => leadershipState(actor.getSnapshot().value);
  return { actor, calls, state };
}

test("leadership machine - a free lease is taken; acquired → leading → serving", (t) => {
  const clock = new VirtualClock(0);
  const { actor, calls, state } = machineWith(clock);
  t.is(state(), "standby");
  t.deepEqual(calls, ["pollLease"]);
  actor.send({ type: "LEASE_FREE" });
  t.is(state(), "electing");
  t.true(calls.includes("tryAcquire"));
  actor.send({ type: "ACQUIRED" });
  t.is(state(), "leading");
  t.is(calls.at(-1), "startServing");
});

test("leadership machine - a standby takes over only after the same revision for a whole lease", (t) => {
  const clock = new VirtualClock(0);
  const { actor, state } = machineWith(clock);
  actor.send({ type: "LEASE_CHANGED" });
  clock.advance(LEASE - 10);
  t.is(state(), "standby");
  actor.send({ type: "LEASE_CHANGED" }); // the leader renewed: the wait starts again
  clock.advance(LEASE - 10);
  t.is(state(), "standby");
  clock.advance(20);
  t.is(state(), "electing");
  actor.send({ type: "ACQUIRE_FAILED" });
  t.is(state(), "standby", "another standby won the compare-and-swap");
});

test("leadership machine - a leader renews every lease/5 and is fenced without a successful renewal", (t) => {
  const clock = new VirtualClock(0);
  const { actor, calls, state } = machineWith(clock);
  actor.send({ type: "LEASE_FREE" });
  actor.send({ type: "ACQUIRED" });
  clock.advance(LEASE / 5);
  t.is(calls.filter((c) => c === "renew").length, 1);
  actor.send({ type: "RENEWED" });
  clock.advance(LEASE * 0.8 - 1);
  t.is(state(), "leading");
  t.is(calls.filter((c) => c === "renew").length, 4, "renewals keep being tried");
  clock.advance(1);
  t.is(state(), "fenced");
  t.is(calls.at(-1), "stopServing");
  clock.advance(LEASE / 5);
  t.is(state(), "standby", "a fenced master stands by again");
});

test("leadership machine - a rejected renewal fences at once; STOP resigns", (t) => {
  const clock = new VirtualClock(0);
  const { actor, calls, state } = machineWith(clock);
  actor.send({ type: "LEASE_FREE" });
  actor.send({ type: "ACQUIRED" });
  actor.send({ type: "RENEW_REJECTED" });
  t.is(state(), "fenced");
  t.is(calls.at(-1), "stopServing");
  actor.send({ type: "STOP" });
  t.is(state(), "stopped");
  t.is(calls.at(-1), "resign");
});

/** A lease store in memory with compare-and-swap, whose answers the test releases. */
class FakeLease implements LeaseStore {
  entry: { record: LeaderRecord; revision: number } | undefined;
  revision = 0;
  /** Renewals wait here until the test answers them. */
  held: Array<() => void> = [];
  hold = false;

  async read(): Promise<LeaseEntry | undefined> {
    return this.entry === undefined ? undefined : { ...this.entry };
  }
  async acquire(record: LeaderRecord, revision: number | undefined): Promise<number> {
    if ((this.entry?.revision ?? undefined) !== revision) throw new Error("wrong last sequence");
    this.entry = { record, revision: ++this.revision };
    return this.revision;
  }
  renew(record: LeaderRecord, revision: number): Promise<number> {
    const apply = () => {
      if (this.entry?.revision !== revision) throw new Error("wrong last sequence");
      this.entry = { record, revision: ++this.revision };
      return this.revision;
    };
    if (!this.hold) return Promise.resolve().then(apply);
    return new Promise((resolve, reject) => {
      this.held.push(() => {
        try {
          resolve(apply());
        } catch (err) {
          reject(err);
        }
      });
    });
  }
  async release(): Promise<void> {
    this.entry = undefined;
  }
  presences = new Map<string, MasterRecord>();
  async present(record: MasterRecord): Promise<void> {
    this.presences.set(record.masterId, record);
  }
  async absent(masterId: string): Promise<void> {
    this.presences.delete(masterId);
  }
  async masters(): Promise<MasterRecord[]> {
    return Array.from(this.presences.values());
  }
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

async function leader(clock: VirtualClock, lease: FakeLease, id = "m1", leaseMs = LEASE) {
  const events: string[] = [];
  const leadership = createLeadership({
    masterId: id,
    hostname: "h",
    leaseMs,
    lease,
    clock,
    logger: silentLogger(),
    metrics: new Metrics(),
    onLead: () => events.push("lead"),
    onFollow: () => events.push("follow"),
  });
  leadership.start();
  await settle();
  return { leadership, events };
}

test("leadership - the fencing rule: not leading from lease×0.8 after the last successful renewal was sent", async (t) => {
  const clock = new VirtualClock(0);
  const lease = new FakeLease();
  const { leadership, events } = await leader(clock, lease);
  await settle();
  t.is(leadership.state(), "leading");
  t.deepEqual(events, ["lead"]);
  t.true(leadership.isLeading());
  // the process is paused: renewals are sent but never answered
  lease.hold = true;
  clock.advance(LEASE * 0.8 - 1);
  t.true(leadership.isLeading());
  clock.advance(1);
  t.false(leadership.isLeading(), "no longer leading, whatever runs first");
  t.is(leadership.state(), "fenced");
  t.deepEqual(events, ["lead", "follow"]);
  // a renewal answered late does not bring the lead back
  for (const answer of lease.held.splice(0)) answer();
  await settle();
  t.false(leadership.isLeading());
  await leadership.stop();
});

test("leadership - a late renewal answer counts from its send time", async (t) => {
  const clock = new VirtualClock(0);
  const lease = new FakeLease();
  const { leadership } = await leader(clock, lease);
  await settle();
  lease.hold = true;
  clock.advance(LEASE / 5); // renewal sent at 200
  clock.advance(LEASE * 0.5); // answered at 700
  for (const answer of lease.held.splice(0)) answer();
  lease.hold = false;
  await settle();
  t.true(leadership.isLeading());
  lease.hold = true;
  // 200 + 800 = 1000: fenced then, not at 700 + 800
  clock.advance(1000 - clock.now() - 1);
  t.true(leadership.isLeading());
  clock.advance(1);
  t.false(leadership.isLeading());
  await leadership.stop();
});

test("leadership - a standby takes the lease over after a whole lease without renewal", async (t) => {
  const clock = new VirtualClock(0);
  const lease = new FakeLease();
  const a = await leader(clock, lease, "a");
  await settle();
  const b = await leader(clock, lease, "b");
  await settle();
  t.is(b.leadership.state(), "standby");
  t.is(b.leadership.view().leaderId, "a");
  // a is paused: its renewals hang
  lease.hold = true;
  for (let i = 0; i < 12; i++) {
    clock.advance(LEASE / 10);
    await settle();
    if (b.leadership.state() !== "standby") break;
    t.true(a.leadership.isLeading() || !b.leadership.isLeading(), "never two leaders");
  }
  t.false(a.leadership.isLeading());
  lease.hold = false;
  for (let i = 0; i < 12 && !b.leadership.isLeading(); i++) {
    clock.advance(LEASE / 10);
    await settle();
  }
  t.true(b.leadership.isLeading());
  t.false(a.leadership.isLeading(), "never two leaders");
  // a resumes: its held renewal is rejected (the revision moved on)
  for (const answer of lease.held.splice(0)) answer();
  await settle();
  t.false(a.leadership.isLeading());
  await a.leadership.stop();
  await b.leadership.stop();
});

test("leadership - a standby with a shorter lease waits the whole lease the leader announces", async (t) => {
  const clock = new VirtualClock(0);
  const lease = new FakeLease();
  const a = await leader(clock, lease, "a", 5 * LEASE);
  await settle();
  const b = await leader(clock, lease, "b", LEASE);
  await settle();
  t.is(b.leadership.view().leaderId, "a");
  // a is paused: its renewals hang; it fences itself after 0.8 × its 5 s lease
  lease.hold = true;
  for (let i = 0; i < 60; i++) {
    clock.advance(LEASE / 10);
    await settle();
    t.false(
      a.leadership.isLeading() && b.leadership.state() !== "standby",
      "b never elects while a may lead",
    );
  }
  t.false(a.leadership.isLeading());
  lease.hold = false;
  for (let i = 0; i < 20 && !b.leadership.isLeading(); i++) {
    clock.advance(LEASE / 10);
    await settle();
  }
  t.true(b.leadership.isLeading(), "b takes over once a's own lease is over");
  await a.leadership.stop();
  await b.leadership.stop();
});

test("leadership - the leader forgets the presence key of a master that died long ago", async (t) => {
  const clock = new VirtualClock(100_000);
  const lease = new FakeLease();
  lease.presences.set("dead", { masterId: "dead", hostname: "h", renewedAt: 0, leaseMs: LEASE });
  const a = await leader(clock, lease, "a");
  for (let i = 0; i < 20 && lease.presences.has("dead"); i++) {
    clock.advance(LEASE / 5);
    await settle();
  }
  t.true(a.leadership.isLeading());
  t.false(lease.presences.has("dead"));
  t.true(lease.presences.has("a"));
  await a.leadership.stop();
});

test("leadership - a lease under its own id is taken only once its holder's lease is over (a paused twin never overlaps)", async (t) => {
  const clock = new VirtualClock(0);
  const lease = new FakeLease();
  const first = await leader(clock, lease, "m1");
  t.true(first.leadership.isLeading());
  // a second process with the same id starts while the first is paused
  lease.hold = true;
  const second = await leader(clock, lease, "m1");
  for (let i = 0; i < 30; i++) {
    clock.advance(LEASE / 10);
    await settle();
    t.false(
      first.leadership.isLeading() && second.leadership.isLeading(),
      "never two leaders, even with one id",
    );
  }
  lease.hold = false;
  for (let i = 0; i < 20 && !second.leadership.isLeading(); i++) {
    clock.advance(LEASE / 10);
    await settle();
  }
  t.true(second.leadership.isLeading());
  await first.leadership.stop();
  await second.leadership.stop();
});

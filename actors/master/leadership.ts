/**
 * The leadership of one master process: the {@link leadershipMachine} run
 * live on the injected clock, its effects provided here over a
 * {@link LeaseStore} (JetStream KV in production).
 *
 * The fencing rule: {@link Leadership.isLeading} is true only while the
 * machine is leading and less than lease × 0.8 has passed since the last
 * successful renewal was *sent*; a standby takes over only after seeing the
 * same revision for a whole lease (its own, or the longer one the leader's
 * record announces, so masters started with different `--leader-lease`
 * never overlap), so a paused leader has stopped before a new one starts,
 * whatever runs first when it resumes.
 */
import { createActor } from "xstate";
import type { Clock } from "../../infra/clock.ts";
import { LEADER_FENCE_FRACTION, LEADER_RENEWALS_PER_LEASE } from "../../infra/defaults.ts";
import type { Logger } from "../../infra/logger.ts";
import { machineClock } from "../../infra/machine-clock.ts";
import type { Metrics } from "../../infra/metrics.ts";
import type { LeaderRecord, MasterRecord } from "../../protocol/store.ts";
import { type LeadershipState, leadershipMachine, leadershipState } from "./leadership.machine.ts";
import type { LeadershipView } from "./model.ts";
import { isWrongRevision, type LeaseStore } from "./registry-kv.ts";

/** A presence key not renewed for this many of its leases is deleted by the leader. */
const PRESENCE_FORGET_LEASES = 20;

/** What the leadership drives. */
export interface LeadershipDeps {
  masterId: string;
  hostname: string;
  leaseMs: number;
  lease: LeaseStore;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Became leader: start serving (load the registry, subscribe). */
  onLead(term: number): void;
  /** Lost or gave up the lead: stop serving at once. */
  onFollow(): void;
}

/** A running leadership. */
export interface Leadership {
  /** Whether this master may act now (see the fencing rule above). */
  isLeading(): boolean;
  state(): LeadershipState;
  view(): LeadershipView;
  start(): void;
  /** Stops; gives the lease up when held. */
  stop(): Promise<void>;
  /** Gives the lead up now (e.g. the registry could not be read): fenced, then standby. */
  abdicate(): void;
  /** The current term while leading. */
  readonly term: number;
}

/** Creates the leadership of one master. */
export function createLeadership(deps: LeadershipDeps): Leadership {
  const { lease, clock, logger, metrics, masterId, leaseMs } = deps;
  const fenceMs = leaseMs * LEADER_FENCE_FRACTION;
  let seen: { revision: number; record: LeaderRecord | undefined } | undefined;
  let held: { revision: number; term: number } | undefined;
  let lastOkSentAt = Number.NEGATIVE_INFINITY;
  let leading = false;
  let polling = false;
  let renewing = false;
  let masters: MasterRecord[] = [];
  let mastersReadAt = Number.NEGATIVE_INFINITY;
  let resigned: Promise<void> = Promise.resolve();

  let presentAt = Number.NEGATIVE_INFINITY;
  // the presence key is written (and the others read) about once a lease, not at every poll
  const presence = () => {
    const now = clock.now();
    if (now - presentAt < leaseMs / 2) return;
    presentAt = now;
    void lease
      .present({ masterId, hostname: deps.hostname, renewedAt: now, leaseMs })
      .then(async () => {
        if (now - mastersReadAt < leaseMs) return;
        mastersReadAt = now;
        masters = await lease.masters();
        // a master that died without a clean stop leaves its key: the leader forgets it
        if (!leading) return;
        for (const m of masters) {
          if (m.masterId !== masterId && now - m.renewedAt > PRESENCE_FORGET_LEASES * m.leaseMs) {
            metrics.inc("master_presence_forgotten");
            await lease.absent(m.masterId);
          }
        }
      })
      .catch((err: unknown) => logger.debug({ err }, "presence write failed"));
  };

  const record = (term: number, now: number): LeaderRecord => ({
    masterId,
    hostname: deps.hostname,
    term,
    leaseMs,
    renewedAt: now,
  });

  const machine = leadershipMachine.provide({
    actions: {
      pollLease: () => {
        if (polling) return;
        polling = true;
        presence();
        lease.read().then(
          (entry) => {
            polling = false;
            if (leadershipState(actor.getSnapshot().value) !== "standby") return;
            if (entry === undefined) {
              seen = undefined;
              actor.send({ type: "LEASE_FREE" });
              return;
            }
            const changed = seen?.revision !== entry.revision;
            seen = { revision: entry.revision, record: entry.record };
            // our own lease (a restart with the same id), once its holder's lease is over by
            // its own timestamp (same id, same host's clock): the earlier process may only
            // be paused, or a second process was started with the same id
            const own = entry.record?.masterId === masterId ? entry.record : undefined;
            if (own !== undefined && clock.now() - own.renewedAt >= own.leaseMs) {
              actor.send({ type: "LEASE_FREE" });
            } else if (changed) actor.send({ type: "LEASE_CHANGED" });
          },
          (err: unknown) => {
            polling = false;
            metrics.inc("leader_lease_read_failures");
            logger.debug({ err }, "lease read failed");
          },
        );
      },
      tryAcquire: () => {
        const sentAt = clock.now();
        const term = (seen?.record?.term ?? 0) + 1;
        lease.acquire(record(term, sentAt), seen?.revision).then(
          (revision) => {
            if (leadershipState(actor.getSnapshot().value) !== "electing") return;
            held = { revision, term };
            seen = undefined;
            lastOkSentAt = sentAt;
            actor.send({ type: "ACQUIRED" });
          },
          (err: unknown) => {
            metrics.inc("leader_elections_lost");
            logger.debug({ reason: (err as Error).message }, "lease not acquired");
            seen = undefined;
            actor.send({ type: "ACQUIRE_FAILED" });
          },
        );
      },
      renew: () => {
        if (renewing || held === undefined) return;
        renewing = true;
        presence();
        const sentAt = clock.now();
        const current = held;
        lease.renew(record(current.term, sentAt), current.revision).then(
          (revision) => {
            renewing = false;
            if (held !== current) return;
            held = { revision, term: current.term };
            lastOkSentAt = Math.max(lastOkSentAt, sentAt);
            actor.send({ type: "RENEWED" });
          },
          (err: unknown) => {
            renewing = false;
            metrics.inc("leader_renewal_failures");
            if (held === current && isWrongRevision(err)) {
              logger.warn("leader lease taken by another master");
              actor.send({ type: "RENEW_REJECTED" });
            }
          },
        );
      },
      startServing: () => {
        leading = true;
        metrics.inc("leader_elected");
        logger.info({ term: held?.term }, "leading");
        deps.onLead(held?.term ?? 0);
      },
      stopServing: () => {
        leading = false;
        logger.warn({ term: held?.term }, "no longer leading");
        deps.onFollow();
      },
      resign: () => {
        const revision = held?.revision;
        held = undefined;
        resigned = Promise.allSettled([
          revision === undefined ? Promise.resolve() : lease.release(revision),
          lease.absent(masterId),
        ]).then(() => undefined);
      },
    },
    delays: {
      pollInterval: leaseMs / LEADER_RENEWALS_PER_LEASE,
      renewInterval: leaseMs / LEADER_RENEWALS_PER_LEASE,
      // the leader fences itself after its own lease × 0.8: wait its lease when it is the longer
      leaseTimeout: () => Math.max(leaseMs, seen?.record?.leaseMs ?? 0),
      // measured from when the last successful renewal was sent, not from its answer
      fenceTimeout: () => Math.max(0, lastOkSentAt + fenceMs - clock.now()),
    },
  });
  const actor = createActor(machine, { input: { leaseMs }, clock: machineClock(clock) });
  actor.subscribe((snapshot) => {
    const state = leadershipState(snapshot.value);
    if (state === "fenced") {
      held = undefined;
      metrics.inc("leader_fenced");
    }
  });

  return {
    isLeading: () => leading && clock.now() - lastOkSentAt < fenceMs,
    state: () => leadershipState(actor.getSnapshot().value),
    view: () => {
      const leaderId = leading ? masterId : seen?.record?.masterId;
      const now = clock.now();
      const present = masters.filter((m) => now - m.renewedAt < 3 * m.leaseMs);
      return {
        leader: leading,
        leaderId,
        masters: present.map((m) => ({
          id: m.masterId,
          hostname: m.hostname,
          leader: m.masterId === leaderId,
        })),
      };
    },
    start: () => {
      actor.start();
    },
    async stop() {
      if (actor.getSnapshot().status === "active") actor.send({ type: "STOP" });
      await resigned;
      actor.stop();
    },
    abdicate: () => actor.send({ type: "RENEW_REJECTED" }),
    get term() {
      return held?.term ?? 0;
    },
  };
}

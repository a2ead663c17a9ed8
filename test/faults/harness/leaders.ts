/**
 * Watching for split brain: every few tens of ms, one round of
 * `operator.getState` to every master on its own `master.instance.<id>`
 * subject and one to `master.operator` (which only the leader may serve),
 * each with a reply subject of the round. Every answer is kept with the time
 * it arrived, including late ones (a paused master answers the requests that
 * queued up while it was frozen when it is continued): the point is that no
 * answer, ever, claims a second leader.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { createInbox } from "@nats-io/nats-core";
import { decodeMessages, encode } from "../../../protocol/codec.ts";
import { ProtocolError } from "../../../protocol/errors.ts";
import type { Subjects } from "../../../protocol/subjects.ts";

/** One answer of one master. */
export interface LeaderAnswer {
  round: number;
  /** `instance` (asked on master.instance.<id>) or `operator` (asked on master.operator). */
  via: "instance" | "operator";
  /** The master that answered. */
  masterId: string;
  leader: boolean;
  leaderId: string | undefined;
  /** When the answer arrived (ms since the epoch). */
  at: number;
}

/** A running watch. */
export interface LeaderWatch {
  readonly answers: readonly LeaderAnswer[];
  /** The number of rounds sent so far. */
  readonly rounds: number;
  /** Ends the rounds (answers still arriving are kept until `close()`). */
  stop(): void;
  close(): void;
}

/**
 * Starts rounds every `intervalMs` to the masters `ids` (the ids may change:
 * `ids()` is read at each round).
 */
export function watchLeaders(
  nc: NatsConnection,
  subjects: Subjects,
  ids: () => string[],
  intervalMs = 50,
): LeaderWatch {
  const inbox = createInbox();
  const answers: LeaderAnswer[] = [];
  let rounds = 0;
  const sub = nc.subscribe(`${inbox}.>`, {
    callback: (_err, m) => {
      const [round, via] = m.subject.slice(inbox.length + 1).split(".");
      let decoded: ReturnType<typeof decodeMessages>[number] | undefined;
      try {
        decoded = decodeMessages(m.data, false)[0];
      } catch {
        return; // no responders (an empty status message) or garbage
      }
      if (decoded === undefined || decoded instanceof ProtocolError) return;
      if (decoded.type !== "operator.state") return;
      const state = decoded.state as typeof decoded.state & { leaderId?: string };
      answers.push({
        round: Number(round),
        via: via === "operator" ? "operator" : "instance",
        masterId: state.masterId,
        leader: state.leader,
        leaderId: state.leaderId,
        at: Date.now(),
      });
    },
  });
  const ask = encode({ type: "operator.getState" });
  const timer = setInterval(() => {
    if (nc.isClosed()) return;
    const round = rounds++;
    try {
      for (const id of ids()) {
        nc.publish(subjects.masterInstance(id), ask, { reply: `${inbox}.${round}.instance` });
      }
      nc.publish(subjects.masterOperator(), ask, { reply: `${inbox}.${round}.operator` });
    } catch {
      // reconnecting: this round is lost, the next one goes out
    }
  }, intervalMs);
  return {
    answers,
    get rounds() {
      return rounds;
    },
    stop: () => clearInterval(timer),
    close: () => {
      clearInterval(timer);
      sub.unsubscribe();
    },
  };
}

/**
 * Split brain in the answers: a round in which two masters answered
 * `leader: true`, two masters served one `master.operator` request, or a
 * master that claimed to lead after another one had started leading (a
 * deposed leader must never answer as leader again), or a standby serving
 * `master.operator`.
 */
export function splitBrain(answers: readonly LeaderAnswer[]): string[] {
  const out: string[] = [];
  const byRound = new Map<string, Set<string>>();
  for (const a of answers) {
    if (!a.leader && a.via === "instance") continue;
    const key = `${a.round} ${a.via}`;
    const set = byRound.get(key) ?? new Set();
    set.add(a.masterId);
    byRound.set(key, set);
  }
  for (const a of answers) {
    if (a.via === "operator" && !a.leader) {
      out.push(`round ${a.round}: standby ${a.masterId} served master.operator`);
    }
  }
  for (const [key, set] of byRound) {
    if (set.size > 1) out.push(`round ${key}: ${[...set].join(" and ")} both answered as leader`);
  }
  // Leadership moves forward: once B claims to lead after A, A never claims it again.
  const sorted = answers.filter((a) => a.leader).sort((x, y) => x.at - y.at);
  const since = new Map<string, number>(); // first claim time of each leader
  for (const a of sorted) if (!since.has(a.masterId)) since.set(a.masterId, a.at);
  for (const a of sorted) {
    for (const [other, at] of since) {
      if (other !== a.masterId && at > (since.get(a.masterId) ?? 0) && a.at > at) {
        out.push(
          `${a.masterId} answered as leader (via ${a.via}, round ${a.round}) ${a.at - at} ms after ${other} had started leading`,
        );
      }
    }
  }
  return out;
}

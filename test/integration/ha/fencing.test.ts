/**
 * Fencing with real processes: two `agora master` processes on one prefix;
 * the leader is paused (SIGSTOP) until the standby leads, then resumed
 * (SIGCONT). The resumed master never answers a master request — every
 * registration is answered by the new leader — and it stands by.
 */
import test from "ava";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { request, requestState } from "../../../infra/request.ts";
import type { MasterState } from "../../../protocol/operator.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { type AgoraProcess, startAgora } from "../cli/helpers.ts";
import { freshSubjects, WAIT_MS } from "../master/helpers.ts";
import { withTimeout } from "./helpers.ts";

const nats = useNatsServer(test);

test("ha fencing - a paused leader that resumes answers nothing and stands by; the standby leads", async (t) => {
  const subjects = freshSubjects();
  const flags = (id: string) => [
    "master",
    "--nats",
    nats().url,
    "--prefix",
    subjects.prefix,
    "--master-id",
    id,
    "--leader-lease",
    "1s",
  ];
  const processes: AgoraProcess[] = [];
  const nc = await connect({ servers: nats().url, name: "test-operator" });
  t.teardown(async () => {
    for (const p of processes) {
      p.child.kill("SIGCONT");
      p.child.kill("SIGKILL");
      await p.result;
    }
    await closeGracefully(nc);
  });
  /** Asks one master until its answer matches (each ask waits for the reply). */
  const until = (id: string, match: (s: MasterState) => boolean, what: string) =>
    withTimeout(
      (async () => {
        for (;;) {
          const state = await requestState(nc, subjects.masterInstance(id), 1000)
            .then((r) => r.state)
            .catch(() => undefined);
          if (state !== undefined && match(state)) return state;
          await nc.flush();
        }
      })(),
      WAIT_MS * 2,
      what,
    );

  const a = startAgora(flags("pa"));
  processes.push(a);
  await until("pa", (s) => s.leader, "pa leading");
  const b = startAgora(flags("pb"));
  processes.push(b);
  const standby = await until("pb", (s) => s.leaderId === "pa", "pb standing by");
  t.false(standby.leader);

  a.child.kill("SIGSTOP");
  const leading = await until("pb", (s) => s.leader, "pb leading");
  t.is(leading.leaderId, "pb");

  a.child.kill("SIGCONT");
  // registrations sent while the old leader resumes: only the new leader answers
  const replies = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      request(
        nc,
        subjects.masterRegister(),
        {
          type: "agent.register",
          hostname: `h${i}`,
          resources: { cpus: 1 },
          attributes: {},
        },
        ["agent.registered"],
        WAIT_MS,
      ),
    ),
  );
  t.deepEqual(new Set(replies.map((r) => r.masterId)), new Set(["pb"]));
  const fenced = await until("pa", (s) => s.leaderId === "pb", "pa standing by");
  t.false(fenced.leader);
  const state = await requestState(nc, subjects.masterOperator(), WAIT_MS);
  t.is(state.state.masterId, "pb");
  t.is(state.state.agents.length, 20);
});

/**
 * `agora state` with two masters on one prefix: without `--master` the leader
 * answers; `--master ID` asks that one master, and a standby says it does not
 * lead and who does.
 */
import test from "ava";
import type { MasterState } from "../../../protocol/operator.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { runAgora } from "../cli/helpers.ts";
import { freshSubjects } from "../master/helpers.ts";
import { leaderOf, startHaMaster } from "./helpers.ts";

const nats = useNatsServer(test);

test("agora state - --master ID asks one master; a standby answers leader: false and who leads", async (t) => {
  const subjects = freshSubjects();
  const a = await startHaMaster(nats().url, subjects, "sa");
  const b = await startHaMaster(nats().url, subjects, "sb");
  t.teardown(async () => {
    await b.stop();
    await a.stop();
  });
  t.is(await leaderOf([a, b]), a);
  const base = ["state", "--nats", nats().url, "--prefix", subjects.prefix];
  const [leader, standby] = await Promise.all([
    runAgora(base),
    runAgora([...base, "--master", "sb"]),
  ]);
  t.is(leader.code, 0, leader.stderr);
  t.like(JSON.parse(leader.stdout) as MasterState, { masterId: "sa", leader: true });
  t.is(standby.code, 0, standby.stderr);
  t.like(JSON.parse(standby.stdout) as MasterState, {
    masterId: "sb",
    leader: false,
    leaderId: "sa",
    agents: [],
  });
});

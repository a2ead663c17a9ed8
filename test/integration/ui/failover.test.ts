/**
 * The UI across a master failover: two masters on one prefix, the leader
 * crashes, and the UI (which watches the registry's leader lease) takes a
 * new snapshot from the new leader.
 */
import test from "ava";
import { createUi } from "../../../actors/ui/index.ts";
import { systemClock } from "../../../infra/clock.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../e2e/helpers.ts";
import { leaderOf, startHaMaster } from "../ha/helpers.ts";

const nats = useNatsServer(test);

test("ui failover - a new leader is seen through the lease and the UI loads its state", async (t) => {
  const subjects = new Subjects("uifailover");
  const a = await startHaMaster(nats().url, subjects, "ma");
  t.teardown(() => a.stop());
  await a.master.whenLeading();
  const b = await startHaMaster(nats().url, subjects, "mb");
  t.teardown(() => b.stop());
  const nc = await connect({ servers: nats().url, name: "ui", logger: silentLogger() });
  const ui = createUi({
    nc,
    subjects,
    logger: silentLogger(),
    clock: systemClock,
    port: 0,
    resnapshotDelayMs: 50,
  });
  t.teardown(async () => {
    await ui.stop();
    await closeGracefully(nc);
  });
  await ui.start();
  t.is(ui.model.master.leaderId, "ma");
  await a.crash();
  const next = await leaderOf([b]);
  t.is(next, b);
  await eventually(() => ui.model.master.leaderId === "mb", "the UI to show the new leader");
  t.true(ui.metrics.get("ui_leader_changes") >= 1);
  t.true(ui.metrics.get("ui_snapshots") >= 2);
});

/**
 * A state larger than one NATS message (1 MiB): `agora state` gets it in
 * `operator.statePart` messages and prints it whole; a caller that does not
 * take parts gets MESSAGE_TOO_LARGE. 12,000 emulated agents make the state
 * about 2 MB.
 */
import { nuid } from "@nats-io/nats-core";
import test from "ava";
import { createMaster, resolveMasterConfig } from "../../../actors/master/index.ts";
import { startAgentEmulator } from "../../../bench/emulator/index.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { request, requestState } from "../../../infra/request.ts";
import { ErrorCode } from "../../../protocol/errors.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { runAgora } from "./helpers.ts";

const nats = useNatsServer(test);
const AGENTS = 12_000;

test("agora state - a state over one message comes in parts and prints whole", async (t) => {
  const url = nats().url;
  const subjects = new Subjects(`parts${nuid.next().toLowerCase()}`);
  const nc = await connect({ servers: url, name: "test-master" });
  const master = createMaster({
    nc,
    logger: silentLogger(),
    subjects,
    config: resolveMasterConfig({ overrides: {} }),
  });
  await master.start();
  const emulator = await startAgentEmulator({ servers: url, subjects, count: AGENTS });
  t.teardown(async () => {
    await emulator.stop();
    await master.stop();
    await closeGracefully(nc);
  });
  await emulator.ready;

  const r = await runAgora(["state", "--nats", url, "--prefix", subjects.prefix]);
  t.is(r.code, 0, r.stderr);
  const state = JSON.parse(r.stdout) as { agents: Array<{ id: string }> };
  t.is(state.agents.length, AGENTS);
  t.is(new Set(state.agents.map((a) => a.id)).size, AGENTS);
  t.true(r.stdout.length > 1024 * 1024, "larger than one message");
  t.true(master.metrics.get("state_replies_in_parts") >= 1);

  const direct = await requestState(nc, subjects.masterOperator(), 10_000);
  t.is(direct.state.agents.length, AGENTS);
  await t.throwsAsync(
    request(
      nc,
      subjects.masterOperator(),
      { type: "operator.getState" },
      ["operator.state"],
      10_000,
    ),
    { code: ErrorCode.MessageTooLarge },
  );
});

/**
 * `agora explain` against a live master over a real nats-server: the lines
 * it prints for a filtered and a suppressed framework, `--json`, and a
 * one-line error for an unknown framework.
 */
import test from "ava";
import { useNatsServer } from "../../helpers/nats.ts";
import { runAgora } from "../cli/helpers.ts";
import { FakeAgent, FakeScheduler, freshSubjects, startMaster } from "../master/helpers.ts";

const nats = useNatsServer(test);

test("explain cli - a filtered, then suppressed framework, and an unknown one", async (t) => {
  const url = nats().url;
  const subjects = freshSubjects();
  const m = await startMaster(url, subjects);
  const agent = await FakeAgent.connect(url, subjects);
  const scheduler = await FakeScheduler.connect(url, subjects);
  t.teardown(async () => {
    await Promise.all([agent.close(), scheduler.close()]);
    await m.stop();
  });
  const { frameworkId } = await scheduler.subscribe({ name: "fw" });
  await agent.register({ cpus: 4, mem: 4096 });
  agent.startHeartbeats(50);
  const offer = (await scheduler.offers()).offers[0]!;
  const agora = (...args: string[]) =>
    runAgora([...args, "--nats", url, "--prefix", subjects.prefix]);

  const holding = await agora("explain", frameworkId);
  t.is(holding.code, 0, holding.stderr);
  t.deepEqual(holding.stdout.trim().split("\n"), [
    "*: share 1, 1 offer outstanding",
    "  noAgents: no agent has allocatable free resources (cpus:0.01 or mem:32)",
  ]);

  await scheduler.request({
    type: "scheduler.decline",
    offerIds: [offer.offerId],
    filters: { refuseSeconds: 3600 },
  });
  const filtered = await agora("explain", frameworkId, "--role", "*");
  t.is(filtered.code, 0, filtered.stderr);
  const lines = filtered.stdout.trim().split("\n");
  t.is(lines[0], "*: share 0, 0 offers outstanding");
  t.regex(
    lines[1]!,
    /^ {2}filtered: 1 agent declined with a filter \(the last expires at \d{4}-\d\d-\d\dT[\d:.]+Z\)$/,
  );
  t.is(lines.length, 2);

  const json = await agora("explain", frameworkId, "--json");
  t.is(json.code, 0, json.stderr);
  const reply = JSON.parse(json.stdout) as {
    policy: string;
    roles: Array<{ reasons: Array<{ kind: string; agents: number; filters: unknown[] }> }>;
  };
  t.is(reply.policy, "drf");
  t.is(reply.roles[0]!.reasons[0]!.kind, "filtered");
  t.is(reply.roles[0]!.reasons[0]!.filters.length, 1);

  await scheduler.request({ type: "scheduler.suppress" });
  const suppressed = await agora("explain", frameworkId);
  t.deepEqual(suppressed.stdout.trim().split("\n"), [
    "*: share 0, 0 offers outstanding",
    "  suppressed: offers for * are suppressed (revive)",
  ]);

  const unknown = await agora("explain", "no-such-framework");
  t.is(unknown.code, 1, unknown.stderr);
  t.regex(unknown.stderr.trim(), /^agora: .*unknown framework no-such-framework$/);
  t.is(unknown.stdout, "");
});

test("explain cli - usage without FRAMEWORK, exit 2", async (t) => {
  const r = await runAgora(["explain", "--nats", "nats://127.0.0.1:1"]);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /expected one FRAMEWORK id/);
});

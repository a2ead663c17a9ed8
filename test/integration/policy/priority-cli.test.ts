/**
 * Role priorities set while the master runs (`agora priority`, the operator
 * call `operator.setPriorities`): shown by `agora priority` and in the state,
 * and used by the `priority` policy, which then offers every agent to the
 * role of higher priority although drf would split them.
 */
import test from "ava";
import { Resources } from "../../../protocol/resources.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { runAgora } from "../cli/helpers.ts";
import { eventually } from "../e2e/wait.ts";
import {
  heldByFramework,
  startFramework,
  startPolicyCluster,
  type TestFramework,
} from "./helpers.ts";

const nats = useNatsServer(test);

test("priority - set on a live master, shown, stored in the state, used by the priority policy", async (t) => {
  const url = nats().url;
  const subjects = new Subjects(`prio${process.pid}`);
  const common = ["--nats", url, "--prefix", subjects.prefix];
  const frameworks: TestFramework[] = [];
  const cluster = await startPolicyCluster({
    url,
    subjects,
    agents: 4,
    resources: "cpus:1;mem:512",
    master: { policy: "priority" },
    beforeAgents: async () => {
      const set = await runAgora(["priority", "low=1", "high=5", ...common]);
      t.is(set.code, 0, set.stderr);
      t.regex(set.stderr, /^priorities set: low=1 high=5$/m);
      const shown = await runAgora(["priority", ...common]);
      t.is(shown.code, 0, shown.stderr);
      t.deepEqual(JSON.parse(shown.stdout), { low: 1, high: 5 });
      frameworks.push(await startFramework(url, subjects, "lowfw", ["low"]));
      frameworks.push(await startFramework(url, subjects, "highfw", ["high"]));
    },
  });
  t.teardown(async () => {
    for (const f of frameworks) await f.driver.stop();
    await cluster.stop();
  });
  const { master } = cluster;
  const total = () => Resources.fromJSON(master.state().total).quantities();
  const held = await eventually(() => {
    const h = heldByFramework(master.state());
    return h.highfw?.equals(total()) ? h : undefined;
  }, "every agent offered to the role of higher priority");
  t.true(held.lowfw === undefined || held.lowfw.isEmpty(), "drf would have given lowfw half");
  t.like(master.state().roles, { low: { priority: 1 }, high: { priority: 5 } });
  const state = await runAgora(["state", ...common]);
  t.is(state.code, 0, state.stderr);
  t.like(JSON.parse(state.stdout).roles, { low: { priority: 1 }, high: { priority: 5 } });
  t.deepEqual(cluster.auditor.problems, []);
});

test("priority - bad arguments are one-line usage errors (exit 2)", async (t) => {
  const common = ["--nats", nats().url, "--prefix", "prionone"];
  for (const [arg, message] of [
    ["web", /^agora: priority: expected ROLE=PRIORITY, got "web"$/m],
    ["web=high", /^agora: priority: priority of web must be a number, got "high"$/m],
    ["web/..=1", /^agora: priority: invalid role "web\/\.\."$/m],
  ] as const) {
    const r = await runAgora(["priority", arg, ...common]);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, message);
  }
});

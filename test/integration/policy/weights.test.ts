/**
 * Role weights changed while the master runs (`agora weights`): two
 * frameworks in roles weighted 1 and 2 on identical real agents end up
 * allocated 1:2 by the built-in drf.
 */
import test from "ava";
import { Resources } from "../../../protocol/resources.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually } from "../../helpers/wait.ts";
import { runAgora } from "../cli/helpers.ts";
import {
  heldByFramework,
  startFramework,
  startPolicyCluster,
  type TestFramework,
} from "./helpers.ts";

const nats = useNatsServer(test);

test("weights - frameworks in roles weighted 1 and 2 on identical agents get 1:2", async (t) => {
  const url = nats().url;
  const subjects = new Subjects(`weights${process.pid}`);
  const common = ["--nats", url, "--prefix", subjects.prefix];
  const frameworks: TestFramework[] = [];
  const cluster = await startPolicyCluster({
    url,
    subjects,
    agents: 6,
    resources: "cpus:1;mem:512",
    beforeAgents: async () => {
      const set = await runAgora(["weights", "one=1", "two=2", ...common]);
      t.is(set.code, 0, set.stderr);
      const shown = await runAgora(["weights", ...common]);
      t.is(shown.code, 0, shown.stderr);
      // weight 1 is the default: only the role with another weight is listed
      t.deepEqual(JSON.parse(shown.stdout), { two: 2 });
      frameworks.push(await startFramework(url, subjects, "light", ["one"]));
      frameworks.push(await startFramework(url, subjects, "heavy", ["two"]));
    },
  });
  t.teardown(async () => {
    for (const f of frameworks) await f.driver.stop();
    await cluster.stop();
  });
  const { master } = cluster;
  const held = await eventually(() => {
    const h = heldByFramework(master.state());
    const total = Resources.fromJSON(master.state().total).quantities();
    return h.light && h.heavy && h.light.add(h.heavy).equals(total) ? h : undefined;
  }, "every agent offered");
  // without weights drf would split the six agents 3:3
  t.is(held.light!.scalar("cpus"), 2);
  t.is(held.heavy!.scalar("cpus"), 4);
  t.like(master.state().roles, { one: { weight: 1 }, two: { weight: 2 } });
  t.deepEqual(cluster.auditor.problems, []);
});

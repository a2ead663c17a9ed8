import test from "ava";
import { commandTask, fitOffer, offerResources } from "../../../actors/scheduler/offers.ts";
import type { Offer } from "../../../protocol/common.ts";
import { Resources } from "../../../protocol/resources.ts";

function offer(resources: Offer["resources"], role = "*"): Offer {
  return {
    offerId: "o1",
    frameworkId: "f1",
    agentId: "a1",
    hostname: "h1",
    role,
    resources,
    attributes: {},
  };
}

test("offers - fitOffer takes unreserved resources when they suffice", (t) => {
  const need = Resources.parse("cpus:1;mem:128");
  t.true(fitOffer(need, offer({ cpus: 4, mem: 4096 }))?.equals(need));
  t.is(fitOffer(need, offer({ cpus: 0.5, mem: 4096 })), undefined);
});

test("offers - fitOffer uses the role's reservation when the unreserved part is too small", (t) => {
  const need = Resources.parse("cpus:1;mem:128");
  const used = fitOffer(need, offer({ "cpus(web)": 2, "mem(web)": 256, cpus: 0.1 }, "web"));
  t.deepEqual(used?.toJSON(), { "cpus(web)": 1, "mem(web)": 128 });
  t.is(fitOffer(need, offer({ "cpus(web)": 2, "mem(web)": 256 }, "*")), undefined);
});

test("offers - offerResources reads the offer's JSON", (t) => {
  t.is(offerResources(offer({ cpus: 2.5 })).scalar("cpus"), 2.5);
});

test("offers - commandTask builds a shell command task with a generated id", (t) => {
  const task = commandTask({
    name: "my task!",
    agentId: "a1",
    resources: Resources.parse("cpus:0.5;mem:64"),
    command: "echo hi",
    environment: { A: "1" },
    killGracePeriodSeconds: 2,
  });
  t.regex(task.taskId, /^my_task_-[0-9a-f]{8}$/);
  t.deepEqual(task.command, { value: "echo hi", shell: true, environment: { A: "1" } });
  t.deepEqual(task.resources, { cpus: 0.5, mem: 64 });
  t.is(task.killGracePeriodSeconds, 2);
  t.is(
    commandTask({ taskId: "fixed", name: "n", agentId: "a", resources: {}, command: "x" }).taskId,
    "fixed",
  );
});

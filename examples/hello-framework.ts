/**
 * hello-framework: a complete, small agora framework built on the
 * SchedulerDriver. It launches N tasks that each run `echo`, packing as many
 * as fit into every offer, prints every status update, and tears itself down
 * once every task has ended.
 *
 * Run it against a local cluster:
 *
 *   npx agora dev                                    # in one terminal
 *   node --import tsx examples/hello-framework.ts 5  # in another
 *
 * It reads AGORA_NATS_URL and AGORA_SUBJECT_PREFIX like the CLI.
 */
import { commandTask, offerResources, SchedulerDriver } from "../actors/scheduler/index.ts";
import { isTerminalState, Resources, TaskState } from "../protocol/index.ts";

const count = Number(process.argv[2] ?? 3);
if (!Number.isInteger(count) || count < 1) {
  console.error("usage: hello-framework.ts [NUMBER_OF_TASKS]");
  process.exit(2);
}
/** What each task needs. */
const perTask = Resources.parse("cpus:0.1;mem:32");

const driver = new SchedulerDriver({
  servers: process.env.AGORA_NATS_URL,
  framework: { name: "hello-framework" },
});

let launched = 0;
let ended = 0;
let failed = 0;
let allEnded: () => void = () => {};
const done = new Promise<void>((resolve) => {
  allEnded = resolve;
});

driver.on("subscribed", ({ frameworkId }) => {
  console.log(`subscribed as framework ${frameworkId}; launching ${count} task(s)`);
});

driver.on("offers", async ({ offers }) => {
  for (const offer of offers) {
    // Pack as many tasks as the offer holds.
    let available = offerResources(offer);
    const tasks = [];
    while (launched < count && available.contains(perTask)) {
      const n = launched++;
      tasks.push(
        commandTask({
          name: `hello-${n}`,
          agentId: offer.agentId,
          resources: perTask,
          command: `echo "hello from task ${n} on ${offer.hostname}"`,
        }),
      );
      available = available.subtract(perTask);
    }
    if (tasks.length === 0) {
      // Nothing to launch here: do not get this offer again for a while.
      await driver.decline([offer.offerId], { refuseSeconds: 30 });
      continue;
    }
    await driver.accept([offer.offerId], tasks);
    console.log(`launched ${tasks.map((t) => t.taskId).join(", ")} on ${offer.hostname}`);
  }
  // Everything is launched: stop receiving offers instead of declining them forever.
  if (launched >= count) await driver.suppress();
});

driver.on("update", ({ status }) => {
  // The driver acknowledges the update after this handler (autoAcknowledge).
  const detail = status.message ? ` (${status.message})` : "";
  console.log(`${status.taskId}: ${status.state}${detail}`);
  if (isTerminalState(status.state)) {
    ended++;
    if (status.state !== TaskState.Finished) failed++;
    if (ended === count) allEnded();
  }
});

driver.on("error", ({ error }) =>
  console.error(`error from the master: ${error.code} ${error.message}`),
);

await driver.start();
await done;
await driver.teardown("all tasks ended");
console.log(`done: ${count - failed} finished, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

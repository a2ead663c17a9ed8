/**
 * Persistent volumes end to end: a real master, agent and command executor.
 * A framework reserves disk, creates a volume on it and launches a task that
 * writes into it; the volume is offered again once the task ends, and a
 * second task reads what the first wrote; DESTROY removes it on the agent.
 */
import { access } from "node:fs/promises";
import path from "node:path";
import test from "ava";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import { isTerminalState, type Offer, TaskState } from "../../../protocol/common.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually, startCluster, startFramework, WAIT_MS } from "./helpers.ts";

const nats = useNatsServer(test);
const VOLUME = "disk(db,)[v1:data]";
const text = (data: Uint8Array | undefined) => Buffer.from(data ?? new Uint8Array()).toString();

test("volumes e2e - a volume written by one task is read by the next; DESTROY removes it", async (t) => {
  const subjects = new Subjects("volumes");
  const cluster = await startCluster({
    url: nats().url,
    subjects,
    agents: [{ hostname: "agent-1", resources: "cpus:2;mem:2048;disk:512" }],
  });
  t.teardown(() => cluster.stop());
  const fw = await startFramework({
    servers: nats().url,
    subjects,
    framework: { name: "db", roles: ["db"] },
  });
  t.teardown(() => fw.driver.teardown().catch(() => fw.driver.stop()));

  const offerWith = async (key: string, from: number): Promise<Offer> => {
    const { offers } = await fw.events.waitFor(
      isEvent("offers", (e) => e.offers.some((o) => key in o.resources)),
      { timeoutMs: WAIT_MS, what: `an offer with ${key}`, from },
    );
    return offers.find((o) => key in o.resources)!;
  };
  const finished = async (taskId: string) =>
    (
      await fw.events.waitFor(
        isEvent("update", (e) => e.status.taskId === taskId && isTerminalState(e.status.state)),
        { timeoutMs: WAIT_MS, what: `the end of ${taskId}` },
      )
    ).status;
  const task = (offer: Offer, name: string, command: string) =>
    commandTask({
      name,
      agentId: offer.agentId,
      resources: { cpus: 0.1, mem: 32, [VOLUME]: 128 },
      command,
    });

  const first = await offerWith("disk", 0);
  const writer = task(first, "writer", "echo kept > data/note && ls -l");
  let mark = fw.events.items.length;
  await fw.driver.acceptOperations(
    [first.offerId],
    [
      { type: "reserve", resources: { "disk(db,)": 128 } },
      { type: "create", volumes: { [VOLUME]: 128 } },
      { type: "launch", tasks: [writer] },
    ],
    { refuseSeconds: 0 },
  );
  const wrote = await finished(writer.taskId);
  t.is(wrote.state, TaskState.Finished, wrote.message);
  t.regex(text(wrote.data), /data -> /, "the volume is a symlink in the sandbox");
  const volumeDir = path.join(cluster.workDir, "agent-1", "volumes", "roles", "db", "v1");
  await access(path.join(volumeDir, "note"));

  // the task ended: its volume is offered to the role again, and a new task sees its files
  const again = await offerWith(VOLUME, mark);
  t.is(again.resources[VOLUME], 128);
  const reader = task(again, "reader", "cat data/note");
  mark = fw.events.items.length;
  await fw.driver.acceptOperations([again.offerId], [{ type: "launch", tasks: [reader] }], {
    refuseSeconds: 0,
  });
  const read = await finished(reader.taskId);
  t.is(read.state, TaskState.Finished, read.message);
  t.regex(text(read.data), /kept/);

  // DESTROY: the volume goes, its disk stays reserved to the role
  const last = await offerWith(VOLUME, mark);
  await fw.driver.acceptOperations(
    [last.offerId],
    [{ type: "destroy", volumes: { [VOLUME]: 128 } }],
    {
      refuseSeconds: 0,
    },
  );
  await eventually(
    async () =>
      access(volumeDir).then(
        () => false,
        () => true,
      ),
    "the volume's directory removed",
  );
  const after = await offerWith("disk(db,)", mark);
  t.false(VOLUME in after.resources);
  t.is(after.resources["disk(db,)"], 128);
});

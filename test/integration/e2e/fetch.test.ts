/**
 * The fetcher end to end: a real master, agent and command executor on the
 * test's nats-server fetch a task's `command.uris` from a local HTTP server
 * into its sandbox before the command runs.
 */
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import {
  isTerminalState,
  type Offer,
  type TaskInfo,
  TaskReason,
  TaskState,
  type TaskStatus,
} from "../../../protocol/common.ts";
import type { CommandUri } from "../../../protocol/uris.ts";
import { type FetchClusterContext, useFetchCluster } from "../fetcher/cluster.ts";
import { makeTarballs } from "../fetcher/helpers.ts";
import { eventually, frameworkWithOffer, type TestFramework, WAIT_MS } from "./helpers.ts";

const test = anyTest as TestFn<FetchClusterContext>;

let seq = 0;

useFetchCluster(test, {
  prefix: "fetch",
  resources: "cpus:4;mem:4096;disk:1024",
  async routes(dir) {
    const tarballs = await makeTarballs(dir);
    return { "/app.tar.gz": tarballs.gz, "/cached/app.tar.gz": tarballs.gz };
  },
});

function task(offer: Offer, command: string, uris: CommandUri[]): TaskInfo {
  const info = commandTask({
    name: `t${++seq}`,
    agentId: offer.agentId,
    resources: { cpus: 0.1, mem: 32, disk: 16 },
    command,
  });
  info.command!.uris = uris;
  return info;
}

async function terminal(fw: TestFramework, taskId: string): Promise<TaskStatus> {
  const end = await fw.events.waitFor(
    isEvent("update", (e) => e.status.taskId === taskId && isTerminalState(e.status.state)),
    { timeoutMs: WAIT_MS, what: `the end of ${taskId}` },
  );
  return end.status;
}

const text = (data: Uint8Array | undefined) => Buffer.from(data ?? new Uint8Array()).toString();
const metrics = (t: ExecutionContext<FetchClusterContext>) =>
  t.context.cluster.agents[0]!.agent.metrics;

// One agent, so one test at a time: each takes the whole offer.
test.serial(
  "fetcher e2e - a fetched tarball is extracted and its script run: TASK_FINISHED",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `fetch-${++seq}` });
    const before = metrics(t).get("containerizer/fetcher/task_fetches_succeeded");
    const info = task(fw.offer, "./app/run.sh && cat app/data.txt", [
      { value: `${t.context.http.base}/app.tar.gz` },
    ]);
    await fw.driver.accept([fw.offer.offerId], [info]);
    const last = await terminal(fw, info.taskId);
    t.is(last.state, TaskState.Finished, last.message);
    t.regex(text(last.data), /hello from tarball\ndata\n/);
    t.is(metrics(t).get("containerizer/fetcher/task_fetches_succeeded"), before + 1);
  },
);

test.serial(
  "fetcher e2e - a URI that 404s fails the task: TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED",
  async (t) => {
    const fw = await frameworkWithOffer(t, { name: `fetch-${++seq}` });
    const before = metrics(t).get("containerizer/fetcher/task_fetches_failed");
    const uri = `${t.context.http.base}/missing.tar.gz`;
    const info = task(fw.offer, "echo must not run", [{ value: uri }]);
    await fw.driver.accept([fw.offer.offerId], [info]);
    const last = await terminal(fw, info.taskId);
    t.is(last.state, TaskState.Failed);
    t.is(last.reason, TaskReason.ContainerLaunchFailed);
    t.is(last.message, `GET ${uri}: 404 Not Found`, "the fetcher's message as is");
    t.is(text(last.data), "", "the command never ran");
    t.is(metrics(t).get("containerizer/fetcher/task_fetches_failed"), before + 1);
  },
);

test.serial(
  "fetcher e2e - a cache: true URI fetched by two tasks is downloaded once",
  async (t) => {
    const uri: CommandUri = { value: `${t.context.http.base}/cached/app.tar.gz`, cache: true };
    const hitsBefore = metrics(t).get("fetcher/cache_hits");
    const first = await frameworkWithOffer(t, { name: `fetch-${++seq}` });
    const a = task(first.offer, "./app/run.sh", [uri]);
    await first.driver.accept([first.offer.offerId], [a]);
    t.is((await terminal(first, a.taskId)).state, TaskState.Finished);
    // The first framework holds what it is offered: a second one gets the agent once it is gone.
    await first.driver.teardown();
    const second = await frameworkWithOffer(t, { name: `fetch-${++seq}` });
    const b = task(second.offer, "./app/run.sh", [uri]);
    await second.driver.accept([second.offer.offerId], [b]);
    const last = await terminal(second, b.taskId);
    t.is(last.state, TaskState.Finished, last.message);
    t.regex(text(last.data), /hello from tarball/);
    t.is(t.context.http.hits("/cached/app.tar.gz"), 1, "one request for two fetches");
    t.is(metrics(t).get("fetcher/cache_hits"), hitsBefore + 1);
  },
);

test.serial(
  "fetcher e2e - a kill during the fetch aborts it: TASK_KILLED, REASON_TASK_KILLED_DURING_LAUNCH",
  async (t) => {
    let closed = false;
    t.context.http.routes.set("/stalled.tar.gz", (req, res) => {
      res.writeHead(200, { "content-length": 1 << 20 });
      res.write("not all of it");
      req.socket.once("close", () => {
        closed = true;
      });
    });
    const fw = await frameworkWithOffer(t, { name: `fetch-${++seq}` });
    const info = task(fw.offer, "echo must not run", [
      { value: `${t.context.http.base}/stalled.tar.gz` },
    ]);
    await fw.driver.accept([fw.offer.offerId], [info]);
    await t.context.http.waitForHits("/stalled.tar.gz", 1);
    await fw.driver.kill(info.taskId, fw.offer.agentId);
    const last = await terminal(fw, info.taskId);
    t.is(last.state, TaskState.Killed);
    t.is(last.reason, TaskReason.TaskKilledDuringLaunch);
    await eventually(() => closed, "the aborted download's connection to close");
    t.pass();
  },
);

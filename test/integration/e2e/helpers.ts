/**
 * Helpers of the end-to-end tests: waiting on conditions over recorded
 * events, and an in-process cluster on a test's own nats-server.
 */
import path from "node:path";
import type { MasterConfig } from "../../../actors/master/index.ts";
import { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import type { SchedulerEvent } from "../../../actors/scheduler/events.ts";
import type { SchedulerDriverOptions } from "../../../actors/scheduler/options.ts";
import { type Recorder, recordEvents } from "../../../actors/scheduler/recorder.ts";
import {
  type LocalAgentSpec,
  type LocalCluster,
  startLocalCluster,
} from "../../../cli/local-cluster.ts";
import { silentLogger } from "../../../infra/logger.ts";
import type { Subjects } from "../../../protocol/subjects.ts";
import { tempDir } from "../../helpers/temp-dir.ts";

/** Starts a master and agents in this process on the test's server. */
export async function startCluster(options: {
  url: string;
  subjects: Subjects;
  agents: Array<Omit<LocalAgentSpec, "workDir"> & { workDir?: string }>;
  master?: Partial<MasterConfig>;
  /** Also serve the web UI on this port (0 = random). */
  uiPort?: number;
}): Promise<LocalCluster & { workDir: string }> {
  const work = await tempDir("agora-e2e-");
  const cluster = await startLocalCluster({
    natsUrl: options.url,
    subjects: options.subjects,
    logger: silentLogger(),
    agents: options.agents.map((a) => ({
      ...a,
      workDir: a.workDir ?? path.join(work.dir, a.hostname),
    })),
    master: { allocationInterval: 100, ...options.master },
    uiPort: options.uiPort,
  });
  const stop = async () => {
    await cluster.stop();
    await work.remove();
  };
  return { ...cluster, stop, [Symbol.asyncDispose]: stop, workDir: work.dir };
}

/** A started driver and the recorder of its events. */
export async function startFramework(
  options: SchedulerDriverOptions,
): Promise<{ driver: SchedulerDriver; events: Recorder<SchedulerEvent> }> {
  const driver = new SchedulerDriver(options);
  const events = recordEvents(driver);
  await driver.start();
  return { driver, events };
}

export { tempDir } from "../../helpers/temp-dir.ts";
export { eventually, WAIT_MS } from "../../helpers/wait.ts";

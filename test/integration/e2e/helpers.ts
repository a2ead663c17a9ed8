/**
 * Helpers of the end-to-end tests: a started scheduler driver with its
 * recorded events, and one for a single test with its first offer, besides
 * the shared helpers of test/helpers/ (re-exported).
 */
import type { ExecutionContext } from "ava";
import { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import type { SchedulerEvent } from "../../../actors/scheduler/events.ts";
import type { SchedulerDriverOptions } from "../../../actors/scheduler/options.ts";
import { isEvent, type Recorder, recordEvents } from "../../../actors/scheduler/recorder.ts";
import type { Offer } from "../../../protocol/common.ts";
import type { ClusterContext } from "../../helpers/cluster.ts";
import { WAIT_MS } from "../../helpers/wait.ts";

/** A started driver and the recorder of its events. */
export interface TestFramework {
  driver: SchedulerDriver;
  events: Recorder<SchedulerEvent>;
}

/** A started driver and the recorder of its events. */
export async function startFramework(options: SchedulerDriverOptions): Promise<TestFramework> {
  const driver = new SchedulerDriver(options);
  const events = recordEvents(driver);
  await driver.start();
  return { driver, events };
}

/**
 * A framework for one test on the cluster of `t.context` (torn down after the
 * test) and the first offer it gets.
 */
export async function frameworkWithOffer(
  t: ExecutionContext<Pick<ClusterContext, "server" | "subjects">>,
  framework: SchedulerDriverOptions["framework"],
  options: Omit<SchedulerDriverOptions, "servers" | "subjects" | "framework"> = {},
): Promise<TestFramework & { offer: Offer }> {
  const fw = await startFramework({
    ...options,
    servers: t.context.server.url,
    subjects: t.context.subjects,
    framework,
  });
  t.teardown(() => fw.driver.teardown().catch(() => fw.driver.stop()));
  const { offers } = await fw.events.waitFor(isEvent("offers"), {
    timeoutMs: WAIT_MS,
    what: `an offer to ${framework.name}`,
  });
  return { ...fw, offer: offers[0]! };
}

export { startCluster, useCluster } from "../../helpers/cluster.ts";
export { tempDir } from "../../helpers/temp-dir.ts";
export { eventually, WAIT_MS } from "../../helpers/wait.ts";

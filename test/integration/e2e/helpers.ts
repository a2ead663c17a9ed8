/**
 * Helpers of the end-to-end tests: a started scheduler driver with its
 * recorded events, besides the shared helpers of test/helpers/ (re-exported).
 */
import { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import type { SchedulerEvent } from "../../../actors/scheduler/events.ts";
import type { SchedulerDriverOptions } from "../../../actors/scheduler/options.ts";
import { type Recorder, recordEvents } from "../../../actors/scheduler/recorder.ts";

/** A started driver and the recorder of its events. */
export async function startFramework(
  options: SchedulerDriverOptions,
): Promise<{ driver: SchedulerDriver; events: Recorder<SchedulerEvent> }> {
  const driver = new SchedulerDriver(options);
  const events = recordEvents(driver);
  await driver.start();
  return { driver, events };
}

export { startCluster, useCluster } from "../../helpers/cluster.ts";
export { tempDir } from "../../helpers/temp-dir.ts";
export { eventually, WAIT_MS } from "../../helpers/wait.ts";

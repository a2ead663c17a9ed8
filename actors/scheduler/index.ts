/**
 * The framework SDK: {@link SchedulerDriver} and its helpers.
 */
export { type OnceOptions, SchedulerDriver, type SchedulerDriverState } from "./driver.ts";
export type {
  SchedulerEvent,
  SchedulerEventHandler,
  SchedulerEventMap,
  SchedulerEventName,
} from "./events.ts";
export { type CommandTaskSpec, commandTask, fitOffer, offerResources } from "./offers.ts";
export type { FrameworkOptions, SchedulerDriverOptions } from "./options.ts";

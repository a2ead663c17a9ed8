/**
 * The executor SDK (`agora/executor`): {@link ExecutorDriver} for custom
 * executors, as Mesos's executor driver.
 */
export {
  createExecutorDriver,
  type ExecutorCallbacks,
  ExecutorDriver,
  type ExecutorDriverOptions,
  type ExecutorEvent,
  type ExecutorUpdate,
} from "./driver.ts";

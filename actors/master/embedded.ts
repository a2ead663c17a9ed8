/**
 * The master core's public seam for embedding it without NATS: the simulator
 * (`simulate/`) and tests drive a core built here through the same handlers
 * the live master serves, on a virtual clock. Nothing outside actors/master
 * reaches into the master's other files.
 */
export { addDeclineFilter } from "./accept.ts";
export { type AgentMessage, handleAgentMessage } from "./agent-handlers.ts";
export { removeAgent } from "./agents.ts";
export { clusterTotal } from "./allocator.ts";
export { resolveMasterConfig } from "./config.ts";
export { createMasterCore, type MasterCore } from "./core.ts";
export { type FrameworkCall, handleFrameworkCall, handleSubscribe } from "./framework-handlers.ts";
export { totalAllocationOf } from "./ledger.ts";
export {
  deactivateAgent,
  drainAgent,
  reactivateAgent,
  updateMaintenanceSchedule,
} from "./maintenance.ts";
export type { MasterContext } from "./model.ts";
export { explain } from "./operator.ts";
export type { Outbox } from "./outbox.ts";
export { setPreemption } from "./preemption.ts";
export { roleSummaries, setRolePriority, setRoleQuota, setRoleWeight } from "./roles.ts";
export { isLive } from "./tasks.ts";

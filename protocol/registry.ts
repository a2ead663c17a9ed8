/**
 * The registry of every message type: type string → schema and compiled
 * validator. The `Message` union and `MessageOf<T>` are derived from it.
 */
import type { Static, TSchema } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";
import * as agents from "./agents.ts";
import * as cluster from "./cluster.ts";
import { BatchMessage, ErrorMessage, OkMessage } from "./common.ts";
import * as events from "./events.ts";
import * as executors from "./executors.ts";
import * as files from "./files.ts";
import * as frameworks from "./frameworks.ts";
import * as operator from "./operator.ts";
import * as policy from "./policy.ts";

const SCHEMAS = {
  error: ErrorMessage,
  ok: OkMessage,
  batch: BatchMessage,
  "agent.register": agents.AgentRegister,
  "agent.reregister": agents.AgentReregister,
  "agent.registered": agents.AgentRegistered,
  "agent.heartbeat": agents.AgentHeartbeat,
  "agent.update": agents.AgentUpdate,
  "agent.message": agents.AgentMessage,
  "agent.runTask": agents.AgentRunTask,
  "agent.runTaskGroup": agents.AgentRunTaskGroup,
  "agent.killTask": agents.AgentKillTask,
  "agent.acknowledge": agents.AgentAcknowledge,
  "agent.frameworkMessage": agents.AgentFrameworkMessage,
  "agent.shutdownFramework": agents.AgentShutdownFramework,
  "agent.shutdown": agents.AgentShutdown,
  "agent.checkpointResources": agents.AgentCheckpointResources,
  "agent.reregisterRequest": agents.AgentReregisterRequest,
  "agent.usage": agents.AgentUsage,
  "scheduler.subscribe": frameworks.SchedulerSubscribe,
  "scheduler.accept": frameworks.SchedulerAccept,
  "scheduler.decline": frameworks.SchedulerDecline,
  "scheduler.revive": frameworks.SchedulerRevive,
  "scheduler.suppress": frameworks.SchedulerSuppress,
  "scheduler.kill": frameworks.SchedulerKill,
  "scheduler.request": frameworks.SchedulerRequest,
  "scheduler.requestGang": frameworks.SchedulerRequestGang,
  "scheduler.withdrawGang": frameworks.SchedulerWithdrawGang,
  "scheduler.acceptGang": frameworks.SchedulerAcceptGang,
  "scheduler.acknowledge": frameworks.SchedulerAcknowledge,
  "scheduler.reconcile": frameworks.SchedulerReconcile,
  "scheduler.message": frameworks.SchedulerMessage,
  "scheduler.heartbeat": frameworks.SchedulerHeartbeat,
  "scheduler.teardown": frameworks.SchedulerTeardown,
  "scheduler.acceptInverseOffers": frameworks.SchedulerAcceptInverseOffers,
  "scheduler.declineInverseOffers": frameworks.SchedulerDeclineInverseOffers,
  "event.subscribed": events.EventSubscribed,
  "event.offers": events.EventOffers,
  "event.gangTimedOut": events.EventGangTimedOut,
  "event.rescind": events.EventRescind,
  "event.update": events.EventUpdate,
  "event.message": events.EventMessage,
  "event.failure": events.EventFailure,
  "event.error": events.EventError,
  "event.heartbeat": events.EventHeartbeat,
  "event.resubscribe": events.EventResubscribe,
  "event.inverseOffers": events.EventInverseOffers,
  "event.rescindInverseOffer": events.EventRescindInverseOffer,
  "executor.subscribe": executors.ExecutorSubscribe,
  "executor.update": executors.ExecutorUpdate,
  "executor.message": executors.ExecutorMessage,
  "executor.subscribed": executors.ExecutorSubscribed,
  "executor.launch": executors.ExecutorLaunch,
  "executor.launchGroup": executors.ExecutorLaunchGroup,
  "executor.kill": executors.ExecutorKill,
  "executor.acknowledged": executors.ExecutorAcknowledged,
  "executor.frameworkMessage": executors.ExecutorFrameworkMessage,
  "executor.shutdown": executors.ExecutorShutdown,
  "executor.reconnect": executors.ExecutorReconnect,
  "executor.heartbeat": executors.ExecutorHeartbeat,
  "files.read": files.FilesRead,
  "files.data": files.FilesData,
  "cluster.agentAdded": cluster.ClusterAgentAdded,
  "cluster.agentReregistered": cluster.ClusterAgentReregistered,
  "cluster.agentUnreachable": cluster.ClusterAgentUnreachable,
  "cluster.agentRemoved": cluster.ClusterAgentRemoved,
  "cluster.agentUpdated": cluster.ClusterAgentUpdated,
  "cluster.frameworkAdded": cluster.ClusterFrameworkAdded,
  "cluster.frameworkDisconnected": cluster.ClusterFrameworkDisconnected,
  "cluster.frameworkRemoved": cluster.ClusterFrameworkRemoved,
  "cluster.offersSent": cluster.ClusterOffersSent,
  "cluster.offerRescinded": cluster.ClusterOfferRescinded,
  "cluster.offerEnded": cluster.ClusterOfferEnded,
  "cluster.taskUpdated": cluster.ClusterTaskUpdated,
  "cluster.allocation": cluster.ClusterAllocation,
  "operator.getState": operator.OperatorGetState,
  "operator.state": operator.OperatorState,
  "operator.statePart": operator.OperatorStatePart,
  "operator.setWeights": operator.OperatorSetWeights,
  "operator.getWeights": operator.OperatorGetWeights,
  "operator.weights": operator.OperatorWeights,
  "operator.setPriorities": operator.OperatorSetPriorities,
  "operator.getPriorities": operator.OperatorGetPriorities,
  "operator.priorities": operator.OperatorPriorities,
  "operator.setQuota": operator.OperatorSetQuota,
  "operator.removeQuota": operator.OperatorRemoveQuota,
  "operator.getQuota": operator.OperatorGetQuota,
  "operator.quota": operator.OperatorQuota,
  "operator.usePolicy": operator.OperatorUsePolicy,
  "operator.updatePreemption": operator.OperatorUpdatePreemption,
  "operator.teardown": operator.OperatorTeardown,
  "operator.reserveResources": operator.OperatorReserveResources,
  "operator.unreserveResources": operator.OperatorUnreserveResources,
  "operator.createVolumes": operator.OperatorCreateVolumes,
  "operator.destroyVolumes": operator.OperatorDestroyVolumes,
  "operator.explain": operator.OperatorExplain,
  "operator.explanation": operator.OperatorExplanation,
  "operator.drainAgent": operator.OperatorDrainAgent,
  "operator.deactivateAgent": operator.OperatorDeactivateAgent,
  "operator.reactivateAgent": operator.OperatorReactivateAgent,
  "operator.updateMaintenanceSchedule": operator.OperatorUpdateMaintenanceSchedule,
  "operator.getMaintenanceSchedule": operator.OperatorGetMaintenanceSchedule,
  "operator.maintenanceSchedule": operator.OperatorMaintenanceSchedule,
  "policy.ping": policy.PolicyPing,
  "policy.allocate": policy.PolicyAllocate,
  "policy.decision": policy.PolicyDecision,
} as const satisfies Record<string, TSchema>;

type Schemas = typeof SCHEMAS;
/** Every message type string. */
export type MessageType = keyof Schemas;
/** The message of one type. */
export type MessageOf<T extends MessageType> = Static<Schemas[T]>;
/** Any message of the protocol. */
export type Message = { [T in MessageType]: MessageOf<T> }[MessageType];

/** Every registered message type. */
export const MESSAGE_TYPES = Object.keys(SCHEMAS) as MessageType[];

/** The schema of a message type (for documentation and tests). */
export function schemaOf(type: MessageType): TSchema {
  return SCHEMAS[type];
}

const checkers = new Map<string, TypeCheck<TSchema>>();

/** The compiled validator of a type, or undefined for an unknown type. Compiled on first use. */
export function checkerOf(type: string): TypeCheck<TSchema> | undefined {
  let checker = checkers.get(type);
  if (checker === undefined && Object.hasOwn(SCHEMAS, type)) {
    checker = TypeCompiler.Compile(SCHEMAS[type as MessageType]);
    checkers.set(type, checker);
  }
  return checker;
}

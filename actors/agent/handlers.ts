/**
 * The agent's inbound messages, each already decoded and validated by
 * `serve()`: the master's commands on `agent.<agentId>` and the executors'
 * messages on `agent.<agentId>.executor.<frameworkId>.<executorId>`.
 */

import type { Handler } from "../../infra/dispatch.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import type { ResourcesJson } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import { type AcceptedType, SubjectParsers } from "../../protocol/subject-routes.ts";
import {
  DEFAULT_PRINCIPAL,
  EXECUTOR_TOKEN_HEADER,
  type Subjects,
} from "../../protocol/subjects.ts";
import type { ExecutorManager } from "./executors.ts";
import type { StatusUpdateManager } from "./status-updates.ts";

/** What the master may send an agent (protocol/subject-routes.ts). */
export type MasterCommandType = AcceptedType<"agent">;

/** What an executor may send its agent (protocol/subject-routes.ts). */
export type ExecutorMessageType = AcceptedType<"agentExecutor">;

/** What the handlers act on. */
export interface AgentHandlerContext {
  subjects: Subjects;
  logger: Logger;
  metrics: Metrics;
  executors: ExecutorManager;
  statusUpdates: StatusUpdateManager;
  agentId(): string;
  /** The agent principal its subjects carry. @default "default" */
  principal?: string;
  /** Sends a message to the master on the agent's subject. */
  toMaster(msg: Message): void;
  /** The master asked the agent to reregister. */
  reregister(): void;
  /** The master sent the agent's checkpointed resources (dynamic reservations, volumes). */
  checkpointResources(resources: ResourcesJson): void;
  /** The master shut the agent down. */
  shutdown(reason: string | undefined): void;
  /** The master shut a framework down. */
  shutdownFramework(frameworkId: string): void;
}

/** The handler of the master's commands. */
export function masterCommandHandler(ctx: AgentHandlerContext): Handler<MasterCommandType> {
  return (msg) => {
    switch (msg.type) {
      case "agent.runTask":
        ctx.logger.info(
          { frameworkId: msg.framework.frameworkId, tasks: msg.tasks.map((t) => t.taskId) },
          "runTask",
        );
        for (const task of msg.tasks) ctx.executors.runTask(msg.framework, task);
        return undefined;
      case "agent.runTaskGroup":
        ctx.logger.debug(
          {
            frameworkId: msg.framework.frameworkId,
            executorId: msg.executor.executorId,
            tasks: msg.taskGroup.tasks.map((t) => t.taskId),
          },
          "runTaskGroup",
        );
        ctx.executors.runTaskGroup(msg.framework, msg.executor, msg.taskGroup);
        return undefined;
      case "agent.killTask":
        ctx.logger.info({ frameworkId: msg.frameworkId, taskId: msg.taskId }, "killTask");
        ctx.executors.killTask(
          msg.frameworkId,
          msg.taskId,
          msg.gracePeriodSeconds,
          msg.maxGracePeriodSeconds,
        );
        return undefined;
      case "agent.acknowledge":
        acknowledge(ctx, msg);
        return undefined;
      case "agent.frameworkMessage":
        ctx.executors.frameworkMessage(msg.frameworkId, msg.executorId, msg.data);
        return undefined;
      case "agent.shutdownFramework":
        ctx.logger.info({ frameworkId: msg.frameworkId }, "shutdownFramework");
        ctx.shutdownFramework(msg.frameworkId);
        return undefined;
      case "agent.shutdown":
        ctx.logger.warn({ reason: msg.reason }, "master shut the agent down");
        ctx.shutdown(msg.reason);
        return undefined;
      case "agent.reregisterRequest":
        ctx.logger.info("master asked to reregister");
        ctx.reregister();
        return undefined;
      case "agent.checkpointResources":
        ctx.checkpointResources(msg.resources);
        return undefined;
    }
  };
}

function acknowledge(ctx: AgentHandlerContext, msg: MessageOf<"agent.acknowledge">): void {
  const acked = ctx.statusUpdates.acknowledge(msg.frameworkId, msg.taskId, msg.uuid);
  if (acked === undefined) {
    ctx.logger.debug(
      { frameworkId: msg.frameworkId, taskId: msg.taskId, uuid: msg.uuid },
      "acknowledgement of no pending update ignored",
    );
    return;
  }
  ctx.executors.noteAcknowledged(msg.frameworkId, acked);
  ctx.executors.acknowledged(msg.frameworkId, acked);
}

/** The framework and executor ids in an executor's subject (`agent.<principal>.<agentId>.executor.<fw>.<exec>`). */
function executorOfSubject(
  subjects: Subjects,
  subject: string,
  agentId: string,
  principal: string = DEFAULT_PRINCIPAL,
): { frameworkId: string; executorId: string } {
  const ids = SubjectParsers.of(subjects).agentExecutor(subject);
  if (ids === undefined || ids.agentId !== agentId || ids.principal !== principal) {
    throw new AgoraError(
      ErrorCode.InvalidMessage,
      `not an executor subject of this agent: ${subject}`,
    );
  }
  return { frameworkId: ids.frameworkId, executorId: ids.executorId };
}

/** The handler of the executors' messages. */
export function executorMessageHandler(ctx: AgentHandlerContext): Handler<ExecutorMessageType> {
  return (msg, { subject, headers }) => {
    const { frameworkId, executorId } = executorOfSubject(
      ctx.subjects,
      subject,
      ctx.agentId(),
      ctx.principal,
    );
    // every message of a known executor carries its own token (another executor cannot forge it)
    ctx.executors.authenticate(frameworkId, executorId, headers?.get(EXECUTOR_TOKEN_HEADER));
    switch (msg.type) {
      case "executor.subscribe":
        return ctx.executors.subscribe(frameworkId, executorId, msg);
      case "executor.update":
        ctx.executors.executorUpdate(frameworkId, executorId, msg.status);
        return undefined;
      case "executor.message":
        if (ctx.executors.executor(frameworkId, executorId) === undefined) {
          ctx.metrics.inc("executor_messages_dropped");
          throw new AgoraError(ErrorCode.NotFound, `unknown executor ${executorId}`);
        }
        ctx.toMaster({ type: "agent.message", frameworkId, executorId, data: msg.data });
        return undefined;
      case "executor.heartbeat":
        // An executor that this agent does not know must not keep running (it terminates).
        if (
          ctx.executors.executor(frameworkId, executorId) === undefined &&
          !ctx.executors.recovering
        ) {
          ctx.metrics.inc("executor_heartbeats_unknown");
          throw new AgoraError(ErrorCode.NotFound, `unknown executor ${executorId}`);
        }
        return { type: "ok" };
    }
  };
}

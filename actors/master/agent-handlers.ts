/**
 * Inbound agent messages: `agent.register` on `master.register`, and
 * reregister, heartbeat, status updates and executor messages on
 * `master.agent.<agentId>`. The agent id is always the subject's last token,
 * never a field of the body.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { serve } from "../../infra/dispatch.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import { isValidId, type Subjects } from "../../protocol/subjects.ts";
import { registerAgent, reregisterAgent, touchAgent } from "./agents.ts";
import type { AgentEntry, MasterContext } from "./model.ts";
import { handleAgentUpdate } from "./tasks.ts";
import { recordUsage } from "./usage.ts";

/** Message types accepted on `master.agent.<agentId>`. */
export const AGENT_MESSAGE_TYPES = [
  "agent.reregister",
  "agent.heartbeat",
  "agent.update",
  "agent.message",
  "agent.usage",
] as const;
export type AgentMessage = MessageOf<(typeof AGENT_MESSAGE_TYPES)[number]>;

/**
 * What a master that lost its lease does with a message that reached it
 * before it unsubscribed: nothing, not even an error reply (the sender's
 * request times out and it retries, reaching the leader).
 */
export function unanswered(ctx: MasterContext): Promise<undefined> {
  ctx.metrics.inc("messages_dropped_not_leading");
  return new Promise<undefined>(() => {});
}

/** `agent.register`; it must be a request (an agent needs the id in the reply). */
export function handleRegister(
  ctx: MasterContext,
  msg: MessageOf<"agent.register">,
  isRequest: boolean,
): Message | Promise<Message> {
  if (!isRequest) {
    throw new AgoraError(ErrorCode.InvalidMessage, "agent.register must be sent as a request");
  }
  return registerAgent(ctx, msg);
}

function activeAgent(ctx: MasterContext, agentId: string): AgentEntry {
  const agent = touchAgent(ctx, agentId);
  if (agent === undefined) {
    throw new AgoraError(
      ErrorCode.InvalidState,
      `agent ${agentId} is not registered with this master; it was asked to reregister`,
    );
  }
  return agent;
}

/**
 * A message on `master.agent.<agentId>`, for network-free callers (unit
 * tests, the simulator) whose registry stores at once.
 * @throws AgoraError INTERNAL when the registry write would have to be awaited
 */
export function handleAgentMessage(
  ctx: MasterContext,
  agentId: string,
  msg: AgentMessage,
  isRequest: boolean,
): Message | undefined {
  const reply = routeAgentMessage(ctx, agentId, msg, isRequest);
  if (reply instanceof Promise) {
    throw new AgoraError(ErrorCode.Internal, "handleAgentMessage needs a synchronous registry");
  }
  return reply;
}

/** A message on `master.agent.<agentId>`; the reply waits for registry writes. */
export function routeAgentMessage(
  ctx: MasterContext,
  agentId: string,
  msg: AgentMessage,
  isRequest: boolean,
): Message | undefined | Promise<Message> {
  switch (msg.type) {
    case "agent.reregister":
      if (!isRequest) {
        throw new AgoraError(
          ErrorCode.InvalidMessage,
          "agent.reregister must be sent as a request",
        );
      }
      return reregisterAgent(ctx, agentId, msg);
    case "agent.heartbeat":
      touchAgent(ctx, agentId);
      return undefined;
    case "agent.update":
      handleAgentUpdate(ctx, activeAgent(ctx, agentId), msg.frameworkId, msg.status);
      return undefined;
    case "agent.usage":
      recordUsage(ctx, activeAgent(ctx, agentId).id, msg.executors);
      return undefined;
    case "agent.message": {
      const agent = activeAgent(ctx, agentId);
      const framework = ctx.frameworks.get(msg.frameworkId);
      if (framework?.status !== FrameworkState.Subscribed) {
        throw new AgoraError(
          ErrorCode.NotFound,
          `framework ${msg.frameworkId} is not subscribed; executor message dropped`,
        );
      }
      ctx.outbox.toFramework(framework.id, {
        type: "event.message",
        agentId: agent.id,
        executorId: msg.executorId,
        data: msg.data,
      });
      ctx.metrics.inc("executor_messages_forwarded");
      return undefined;
    }
  }
}

/** The id in the last token of `<base>.master.<kind>.<id>`. */
export function idFromSubject(subjects: Subjects, subject: string, kind: string): string {
  const tokens = subjects.parse(subject);
  const id = tokens?.length === 3 && tokens[0] === "master" && tokens[1] === kind ? tokens[2] : "";
  if (!isValidId(id)) {
    throw new AgoraError(
      ErrorCode.InvalidId,
      `subject ${subject.slice(0, 300)} carries no valid ${kind} id`,
    );
  }
  return id;
}

/** Subscribes the master to its agent subjects. */
export function serveAgents(
  nc: NatsConnection,
  subjects: Subjects,
  ctx: MasterContext,
): Subscription[] {
  // a reply must not overtake what the handler queued in the outbox before it
  const options = {
    logger: ctx.logger,
    metrics: ctx.metrics,
    beforeReply: () => ctx.outbox.flush?.(),
    // a master that lost its lease answers nothing, not even an error
    active: () => ctx.isLeading(),
  };
  return [
    serve(nc, subjects.masterRegister(), { ...options, types: ["agent.register"] }, (msg, m) =>
      ctx.isLeading() ? handleRegister(ctx, msg, m.reply !== undefined) : unanswered(ctx),
    ),
    serve(nc, subjects.masterAgentAll(), { ...options, types: AGENT_MESSAGE_TYPES }, (msg, m) =>
      ctx.isLeading()
        ? routeAgentMessage(
            ctx,
            idFromSubject(subjects, m.subject, "agent"),
            msg,
            m.reply !== undefined,
          )
        : unanswered(ctx),
    ),
  ];
}

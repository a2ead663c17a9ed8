/**
 * Inbound agent messages: `agent.register` on `master.register.<principal>`,
 * and reregister, heartbeat, status updates and executor messages on
 * `master.agent.<principal>.<agentId>`. The agent id is always the subject's
 * last token, never a field of the body; the principal token is who sent it
 * (the NATS server lets an agent credential publish only under its own), and
 * a message for an agent id registered by another principal is rejected
 * with PRINCIPAL_MISMATCH (principal.ts).
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { serve } from "../../infra/dispatch.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import { ACCEPTED_TYPES, type AcceptedMessage } from "../../protocol/subject-routes.ts";
import { DEFAULT_PRINCIPAL, type Subjects } from "../../protocol/subjects.ts";
import { registerAgent, reregisterAgent, touchAgent } from "./agents.ts";
import { checkDrained, drainStatus, resumeDrain } from "./maintenance.ts";
import type { AgentEntry, MasterContext } from "./model.ts";
import { checkAgentPrincipal } from "./principal.ts";
import { handleAgentUpdate } from "./tasks.ts";
import { recordUsage } from "./usage.ts";

/** A message accepted on `master.agent.<principal>.<agentId>` (protocol/subject-routes.ts). */
export type AgentMessage = AcceptedMessage<"masterAgent">;

/** A draining agent that reregistered goes on draining (maintenance.ts). */
function afterReregister<T>(
  ctx: MasterContext,
  agentId: string,
  reply: T | Promise<T>,
): T | Promise<T> {
  const resume = (value: T) => {
    const agent = ctx.agents.get(agentId);
    if (agent !== undefined) resumeDrain(ctx, agent);
    return value;
  };
  return reply instanceof Promise ? reply.then(resume) : resume(reply);
}

/**
 * What a master that lost its lease does with a message that reached it
 * before it unsubscribed: nothing, not even an error reply (the sender's
 * request times out and it retries, reaching the leader).
 */
export function unanswered(ctx: MasterContext): Promise<undefined> {
  ctx.metrics.inc("messages_dropped_not_leading");
  return new Promise<undefined>(() => {});
}

/**
 * `agent.register` from agent principal `principal`; it must be a request (an
 * agent needs the id in the reply).
 */
export function handleRegister(
  ctx: MasterContext,
  msg: MessageOf<"agent.register">,
  isRequest: boolean,
  principal: string = DEFAULT_PRINCIPAL,
): Message | Promise<Message> {
  if (!isRequest) {
    throw new AgoraError(ErrorCode.InvalidMessage, "agent.register must be sent as a request");
  }
  return registerAgent(ctx, msg, principal);
}

function activeAgent(ctx: MasterContext, agentId: string, principal: string): AgentEntry {
  const agent = touchAgent(ctx, agentId, principal);
  if (agent === undefined) {
    throw new AgoraError(
      ErrorCode.InvalidState,
      `agent ${agentId} is not registered with this master; it was asked to reregister`,
    );
  }
  return agent;
}

/**
 * A message on `master.agent.<principal>.<agentId>`, for network-free callers
 * (unit tests, the simulator) whose registry stores at once.
 * @throws AgoraError INTERNAL when the registry write would have to be awaited
 */
export function handleAgentMessage(
  ctx: MasterContext,
  agentId: string,
  msg: AgentMessage,
  isRequest: boolean,
  principal: string = DEFAULT_PRINCIPAL,
): Message | undefined {
  const reply = routeAgentMessage(ctx, agentId, msg, isRequest, principal);
  if (reply instanceof Promise) {
    throw new AgoraError(ErrorCode.Internal, "handleAgentMessage needs a synchronous registry");
  }
  return reply;
}

/**
 * A message on `master.agent.<principal>.<agentId>`; the reply waits for registry writes.
 * @throws AgoraError PRINCIPAL_MISMATCH (counted) when another principal registered the agent
 */
function routeAgentMessage(
  ctx: MasterContext,
  agentId: string,
  msg: AgentMessage,
  isRequest: boolean,
  principal: string = DEFAULT_PRINCIPAL,
): Message | undefined | Promise<Message> {
  checkAgentPrincipal(ctx, principal, agentId);
  switch (msg.type) {
    case "agent.reregister":
      if (!isRequest) {
        throw new AgoraError(
          ErrorCode.InvalidMessage,
          "agent.reregister must be sent as a request",
        );
      }
      return afterReregister(ctx, agentId, reregisterAgent(ctx, agentId, msg, principal));
    case "agent.heartbeat":
      touchAgent(ctx, agentId, principal);
      return undefined;
    case "agent.update": {
      const agent = activeAgent(ctx, agentId, principal);
      handleAgentUpdate(ctx, agent, msg.frameworkId, drainStatus(agent, msg.status));
      checkDrained(ctx, agent);
      return undefined;
    }
    case "agent.usage":
      recordUsage(ctx, activeAgent(ctx, agentId, principal).id, msg.executors);
      return undefined;
    case "agent.message": {
      const agent = activeAgent(ctx, agentId, principal);
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

function invalidSubject(subject: string, what: string): AgoraError {
  return new AgoraError(
    ErrorCode.InvalidId,
    `subject ${subject.slice(0, 300)} carries no valid ${what}`,
  );
}

/** The principal of `master.register.<principal>`. */
function registerPrincipal(subjects: Subjects, subject: string): string {
  const principal = subjects.parseMasterRegister(subject);
  if (principal === undefined) throw invalidSubject(subject, "principal");
  return principal;
}

/** The principal and agent id of `master.agent.<principal>.<agentId>`. */
function agentOfSubject(
  subjects: Subjects,
  subject: string,
): { principal: string; agentId: string } {
  const parsed = subjects.parseMasterAgent(subject);
  if (parsed === undefined) throw invalidSubject(subject, "principal and agent id");
  return parsed;
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
    serve(
      nc,
      subjects.masterRegisterAll(),
      { ...options, types: ACCEPTED_TYPES.masterRegister },
      (msg, m) =>
        ctx.isLeading()
          ? handleRegister(ctx, msg, m.reply !== undefined, registerPrincipal(subjects, m.subject))
          : unanswered(ctx),
    ),
    serve(
      nc,
      subjects.masterAgentAll(),
      { ...options, types: ACCEPTED_TYPES.masterAgent },
      (msg, m) => {
        if (!ctx.isLeading()) return unanswered(ctx);
        const { principal, agentId } = agentOfSubject(subjects, m.subject);
        return routeAgentMessage(ctx, agentId, msg, m.reply !== undefined, principal);
      },
    ),
  ];
}

/**
 * Inbound messages of the emulated agents. One wildcard subscription on
 * `agent.*` (instead of one per agent) carries the master's commands, routed
 * by the subject's agent id token; one per connection on its heartbeat inbox
 * carries the replies to heartbeats, routed by the agent index token. Both go
 * through the project's `serve()`, so every message is decoded and validated
 * as an agent would, and a bad one is counted and dropped.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { type MessageContext, serve } from "../../infra/dispatch.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import {
  ACCEPTED_TYPES,
  type AcceptedMessage,
  SubjectParsers,
} from "../../protocol/subject-routes.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { type EmulatedAgent, EmulatedAgentState, type EmulatorContext } from "./model.ts";
import { acknowledge, dropTasks, killTask, runTasks, shutdownFramework } from "./tasks.ts";

/** Replies to a heartbeat request. */
const HEARTBEAT_REPLY_TYPES = ["ok", "agent.reregisterRequest", "error"] as const;

function agentOf(ctx: EmulatorContext, subjects: Subjects, m: MessageContext) {
  const id = SubjectParsers.of(subjects).agent(m.subject)?.agentId;
  return id === undefined ? undefined : ctx.byId.get(id);
}

function handleCommand(
  ctx: EmulatorContext,
  agent: EmulatedAgent,
  msg: AcceptedMessage<"agent">,
): void {
  switch (msg.type) {
    case "agent.runTask":
      runTasks(ctx, agent, msg);
      return;
    case "agent.runTaskGroup":
      // no executor to run a group in: refused as a message of a type it does not serve
      throw new AgoraError(ErrorCode.InvalidMessage, "the agent emulator runs no task groups");
    case "agent.killTask":
      killTask(ctx, agent, msg);
      return;
    case "agent.acknowledge":
      acknowledge(ctx, agent, msg);
      return;
    case "agent.frameworkMessage":
      // no executor process to hand it to
      ctx.metrics.inc("framework_messages");
      return;
    case "agent.shutdownFramework":
      shutdownFramework(ctx, agent, msg.frameworkId);
      return;
    case "agent.shutdown":
      dropTasks(ctx, agent);
      agent.state = EmulatedAgentState.Shutdown;
      if (agent.id !== undefined) ctx.byId.delete(agent.id);
      ctx.metrics.inc("agents_shut_down");
      return;
    case "agent.reregisterRequest":
      ctx.metrics.inc("reregister_requests");
      ctx.reregister(agent, true);
      return;
  }
}

/**
 * Subscribes `nc` to the commands of every emulated agent. With several
 * connections, `queue` spreads the messages over them (each once).
 */
export function serveCommands(
  ctx: EmulatorContext,
  nc: NatsConnection,
  queue: string | undefined,
): Subscription {
  const { subjects } = ctx;
  return serve(
    nc,
    subjects.agentAll(ctx.settings.principal),
    { types: ACCEPTED_TYPES.agent, logger: ctx.logger, metrics: ctx.metrics, queue },
    (msg, m) => {
      const agent = agentOf(ctx, subjects, m);
      if (agent === undefined || agent.state === EmulatedAgentState.Shutdown) {
        ctx.metrics.inc("messages_unknown_agent");
        return undefined;
      }
      handleCommand(ctx, agent, msg);
      return undefined;
    },
  );
}

/**
 * Subscribes `nc` to the replies to heartbeats sent with reply subjects under
 * `inbox`. `agent.reregisterRequest`, NOT_FOUND and INVALID_STATE (the master
 * does not know the agent) reregister it at once; an empty reply, which is
 * NATS's "no responders" status (no master listens, e.g. during a failover),
 * reregisters it with backoff. Every reply still goes through `serve()`: the
 * empty one is rejected there (counted in `messages_invalid`) and seen here
 * through `onReject`.
 */
export function serveHeartbeatReplies(
  ctx: EmulatorContext,
  nc: NatsConnection,
  inbox: string,
  metrics: Metrics,
): Subscription {
  return serve(
    nc,
    `${inbox}.*`,
    {
      types: HEARTBEAT_REPLY_TYPES,
      logger: ctx.logger,
      metrics,
      onReject: (error, m) => {
        if (error.code !== ErrorCode.BadMessage) return;
        const agent = ctx.agents[Number(m.subject.slice(inbox.length + 1))];
        if (agent === undefined) return;
        metrics.inc("heartbeat_no_responders");
        ctx.reregister(agent, false);
      },
    },
    (msg, m) => {
      const index = Number(m.subject.slice(inbox.length + 1));
      const agent = ctx.agents[index];
      if (agent === undefined) {
        metrics.inc("heartbeat_replies_unknown");
        return undefined;
      }
      if (msg.type === "ok") {
        metrics.inc("heartbeat_replies");
      } else if (msg.type === "agent.reregisterRequest") {
        metrics.inc("heartbeat_replies");
        ctx.reregister(agent, true);
      } else {
        metrics.inc("heartbeat_errors");
        if (msg.code === ErrorCode.NotFound || msg.code === ErrorCode.InvalidState) {
          ctx.reregister(agent, true);
        }
      }
      return undefined;
    },
  );
}

/**
 * Inbound scheduler calls: `scheduler.subscribe` on `master.subscribe.<principal>`,
 * every other call on `master.framework.<principal>.<frameworkId>`, where the
 * framework id must name a known framework of that principal (principal.ts). A call that fails
 * without a reply subject is reported to the framework as `event.error`.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { serve } from "../../infra/dispatch.ts";
import { encode } from "../../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { AgentState } from "../../protocol/lifecycles/agent.machine.ts";
import { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import { ACCEPTED_TYPES, type AcceptedMessage } from "../../protocol/subject-routes.ts";
import { frameworkPrincipal, type Subjects } from "../../protocol/subjects.ts";
import { accept, decline } from "./accept.ts";
import { unanswered } from "./agent-handlers.ts";
import { revive, subscribe, suppress, teardownFramework, touchFramework } from "./frameworks.ts";
import { acceptGang, requestGang, withdrawGang } from "./gang.ts";
import { killTask } from "./kill.ts";
import { answerInverseOffers } from "./maintenance.ts";
import type { FrameworkEntry, MasterContext } from "./model.ts";
import { answerOperatorCall, NO_CONTROLS, type OperatorControls } from "./operator.ts";
import { setDemands } from "./preemption.ts";
import {
  callPrincipal,
  checkFrameworkPrincipal,
  checkSubscribePrincipal,
  operatorPrincipal,
  principalOfFramework,
} from "./principal.ts";
import { reconcile } from "./reconcile.ts";
import { acknowledge } from "./tasks.ts";

/** A call accepted on `master.framework.<principal>.<frameworkId>` (protocol/subject-routes.ts). */
export type FrameworkCall = AcceptedMessage<"masterFramework">;

/** `scheduler.subscribe`; it must be a request (the scheduler needs its id). */
export function handleSubscribe(
  ctx: MasterContext,
  msg: MessageOf<"scheduler.subscribe">,
  isRequest: boolean,
  principal: string = frameworkPrincipal(msg.framework),
): Message | Promise<Message> {
  if (!isRequest) {
    throw new AgoraError(ErrorCode.InvalidMessage, "scheduler.subscribe must be sent as a request");
  }
  checkSubscribePrincipal(ctx, principal, msg.framework);
  return subscribe(ctx, msg);
}

function dispatch(
  ctx: MasterContext,
  framework: FrameworkEntry,
  call: FrameworkCall,
): undefined | Promise<undefined> {
  switch (call.type) {
    case "scheduler.accept":
      return accept(ctx, framework, call);
    case "scheduler.decline":
      decline(ctx, framework, call);
      return;
    case "scheduler.revive":
      revive(ctx, framework, call);
      return;
    case "scheduler.suppress":
      suppress(ctx, framework, call);
      return;
    case "scheduler.kill":
      killTask(ctx, framework, call);
      return;
    case "scheduler.request":
      setDemands(ctx, framework, call);
      return;
    case "scheduler.requestGang":
      requestGang(ctx, framework, call);
      return;
    case "scheduler.withdrawGang":
      withdrawGang(ctx, framework, call);
      return;
    case "scheduler.acceptGang":
      return acceptGang(ctx, framework, call);
    case "scheduler.acknowledge":
      acknowledge(ctx, framework, call);
      return;
    case "scheduler.reconcile":
      reconcile(ctx, framework, call);
      return;
    case "scheduler.message": {
      const agent = ctx.agents.get(call.agentId);
      if (agent?.status !== AgentState.Active) {
        throw new AgoraError(ErrorCode.NotFound, `agent ${call.agentId} is not active`);
      }
      ctx.outbox.toAgent(agent.id, {
        type: "agent.frameworkMessage",
        frameworkId: framework.id,
        executorId: call.executorId,
        data: call.data,
      });
      ctx.metrics.inc("framework_messages_forwarded");
      return;
    }
    case "scheduler.heartbeat":
      return;
    case "scheduler.teardown":
      return teardownFramework(ctx, framework, call.reason ?? "framework teardown");
    case "scheduler.acceptInverseOffers":
    case "scheduler.declineInverseOffers":
      answerInverseOffers(ctx, framework, call);
      return;
  }
}

/**
 * The error for a call from a framework that is not subscribed here: a
 * removed one keeps a non-retryable INVALID_STATE; any other (disconnected,
 * recovered after a failover, unknown to a new leader) gets NOT_SUBSCRIBED,
 * on which its driver resubscribes with the same id.
 */
function notSubscribed(ctx: MasterContext, frameworkId: string): AgoraError {
  if (ctx.removedFrameworks.has(frameworkId)) {
    return new AgoraError(
      ErrorCode.InvalidState,
      `framework ${frameworkId} was removed; subscribe without a frameworkId`,
      { retryable: false },
    );
  }
  ctx.metrics.inc("framework_calls_not_subscribed");
  return new AgoraError(
    ErrorCode.NotSubscribed,
    `framework ${frameworkId} is not subscribed with this master; resubscribe with its frameworkId`,
  );
}

/**
 * A call on `master.framework.<principal>.<frameworkId>`; without `principal`
 * (unit tests) the framework's own is assumed.
 */
export function handleFrameworkCall(
  ctx: MasterContext,
  frameworkId: string,
  call: FrameworkCall,
  isRequest: boolean,
  principal: string = principalOfFramework(ctx, frameworkId),
): undefined | Promise<undefined> {
  const report = (err: unknown) => {
    if (isRequest) return;
    const error = AgoraError.from(err);
    ctx.outbox.toFramework(frameworkId, {
      type: "event.error",
      code: error.code,
      message: `${call.type}: ${error.message}`.slice(0, 4096),
    });
  };
  // before `report`: a mismatch is never reported on the event subject of a framework
  // the caller does not own (the reply, when there is one, carries it)
  checkFrameworkPrincipal(ctx, principal, frameworkId);
  const framework = ctx.frameworks.get(frameworkId);
  try {
    if (framework?.status !== FrameworkState.Subscribed) throw notSubscribed(ctx, frameworkId);
    touchFramework(ctx, framework);
    return dispatch(ctx, framework, call)?.catch((err: unknown) => {
      report(err);
      throw err;
    });
  } catch (err) {
    report(err);
    throw err;
  }
}

/** Subscribes the master to its scheduler and operator subjects. */
export function serveFrameworks(
  nc: NatsConnection,
  subjects: Subjects,
  ctx: MasterContext,
  controls: OperatorControls = NO_CONTROLS,
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
      subjects.masterSubscribeAll(),
      { ...options, types: ACCEPTED_TYPES.masterSubscribe },
      (msg, m) =>
        ctx.isLeading()
          ? handleSubscribe(ctx, msg, m.reply !== undefined, callPrincipal(subjects, m.subject))
          : unanswered(ctx),
    ),
    serve(
      nc,
      subjects.masterFrameworkAll(),
      {
        ...options,
        types: ACCEPTED_TYPES.masterFramework,
        // a published call that does not even decode is still reported to its framework
        onReject: (error, m) => {
          if (!ctx.isLeading()) return;
          const parsed = subjects.parseMasterFramework(m.subject);
          if (parsed === undefined) return;
          const { frameworkId, principal } = parsed;
          if (!ctx.frameworks.has(frameworkId)) return;
          if (principalOfFramework(ctx, frameworkId) !== principal) return;
          ctx.outbox.toFramework(frameworkId, {
            type: "event.error",
            code: error.code,
            message: error.message.slice(0, 4096),
          });
        },
      },
      (msg, m) => {
        if (!ctx.isLeading()) return unanswered(ctx);
        const parsed = subjects.parseMasterFramework(m.subject);
        if (parsed === undefined) {
          throw new AgoraError(
            ErrorCode.InvalidId,
            `subject ${m.subject.slice(0, 300)} carries no valid principal and framework id`,
          );
        }
        return handleFrameworkCall(
          ctx,
          parsed.frameworkId,
          msg,
          m.reply !== undefined,
          parsed.principal,
        );
      },
    ),
    serve(
      nc,
      subjects.masterOperatorAll(),
      { ...options, types: ACCEPTED_TYPES.masterOperator },
      (call, m) =>
        ctx.isLeading()
          ? answerOperatorCall(
              ctx,
              controls,
              call,
              (part) => {
                if (m.reply !== undefined) nc.publish(m.reply, encode(part));
              },
              operatorPrincipal(subjects, m.subject),
            )
          : unanswered(ctx),
    ),
  ];
}

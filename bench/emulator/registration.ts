/**
 * Registration and heartbeats of the emulated agents (reregistration is in
 * ./reregistration.ts). First registrations run
 * through a pool of `registrationConcurrency` requests in flight; a failed
 * attempt is retried with exponential backoff and jitter, as the real agent
 * does. Heartbeats are spread over the interval and sent from the shared
 * wheel; in `request` mode they carry a reply subject under the connection's
 * inbox, so the master sees exactly what a real agent's request looks like
 * while the emulator needs no timer per request.
 */
import {
  type NatsConnection,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/nats-core";
import { decodeReply, encode } from "../../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import { type EmulatedAgent, EmulatedAgentState, type EmulatorContext } from "./model.ts";
import { publish, resendPending } from "./tasks.ts";

const HEARTBEAT = encode({ type: "agent.heartbeat" });

/** One request/reply with the codec; NATS failures become AgoraErrors. */
export async function request(
  nc: NatsConnection,
  subject: string,
  msg: Message,
  timeoutMs: number,
): Promise<MessageOf<"agent.registered">> {
  let data: Uint8Array;
  try {
    data = (await nc.request(subject, encode(msg), { timeout: timeoutMs })).data;
  } catch (err) {
    if (err instanceof TimeoutError) {
      throw new AgoraError(ErrorCode.Timeout, `no reply on ${subject} in time`, { cause: err });
    }
    if ((err instanceof RequestError && err.isNoResponders()) || err instanceof NoRespondersError) {
      throw new AgoraError(ErrorCode.Unavailable, `nobody listens on ${subject}`, { cause: err });
    }
    throw AgoraError.from(err, ErrorCode.Unavailable);
  }
  return decodeReply(data, ["agent.registered"]);
}

/** Backoff before attempt `attempt` (0-based): `min · 2^attempt`, capped, drawn in its upper half. */
function backoff(ctx: EmulatorContext, attempt: number, random: () => number): number {
  const { registrationBackoffMs, registrationBackoffMaxMs } = ctx.settings;
  const ceiling = Math.min(registrationBackoffMaxMs, registrationBackoffMs * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

/** The agent has (a new or the same) id: it heartbeats, and its pending updates go out. */
export function registered(
  ctx: EmulatorContext,
  agent: EmulatedAgent,
  reply: MessageOf<"agent.registered">,
  random: () => number,
): void {
  if (agent.id !== undefined && agent.id !== reply.agentId) ctx.byId.delete(agent.id);
  agent.id = reply.agentId;
  agent.masterSubject = ctx.subjects.masterAgent(reply.agentId, ctx.settings.principal);
  agent.masterId = reply.masterId;
  agent.state = EmulatedAgentState.Registered;
  agent.reregisterAt = Number.POSITIVE_INFINITY;
  agent.reregisterAttempt = 0;
  ctx.byId.set(reply.agentId, agent);
  agent.heartbeatIntervalMs =
    ctx.settings.heartbeatIntervalMs ?? reply.heartbeatIntervalSeconds * 1000;
  // spread the heartbeats of all agents over one interval
  agent.nextHeartbeatAt = ctx.clock.now() + random() * agent.heartbeatIntervalMs;
  ctx.heartbeats.schedule(agent.nextHeartbeatAt, agent);
  resendPending(ctx, agent);
}

/**
 * Registers one agent for the first time, retrying until it succeeds or the
 * emulator stops. Resolves true once registered.
 */
export async function registerAgent(
  ctx: EmulatorContext,
  agent: EmulatedAgent,
  random: () => number,
): Promise<boolean> {
  const msg: Message = {
    type: "agent.register",
    hostname: agent.hostname,
    resources: ctx.settings.resources,
    attributes: agent.attributes,
  };
  for (let attempt = 0; !ctx.stopped; attempt++) {
    agent.state = EmulatedAgentState.Registering;
    const t0 = performance.now();
    try {
      const reply = await request(
        agent.nc,
        ctx.subjects.masterRegister(ctx.settings.principal),
        msg,
        ctx.settings.requestTimeoutMs,
      );
      if (ctx.stopped) return false;
      ctx.registrationLatencies.push(performance.now() - t0);
      ctx.metrics.inc("registrations");
      registered(ctx, agent, reply, random);
      return true;
    } catch (err) {
      agent.state = EmulatedAgentState.Unregistered;
      if (ctx.stopped) return false;
      ctx.metrics.inc("registration_failures");
      const error = AgoraError.from(err);
      ctx.logger.debug({ index: agent.index, code: error.code }, "registration failed");
      await ctx.sleep(backoff(ctx, Math.min(attempt, 30), random));
    }
  }
  return false;
}

/**
 * Sends one heartbeat of a registered agent now, outside its schedule (the
 * next scheduled one still goes out). Returns whether it was sent.
 */
export function heartbeatNow(ctx: EmulatorContext, agent: EmulatedAgent): boolean {
  if (agent.state !== EmulatedAgentState.Registered || agent.masterSubject === undefined) {
    return false;
  }
  const reply = ctx.settings.heartbeatMode === "request" ? agent.heartbeatInbox : undefined;
  if (!publish(ctx, agent, agent.masterSubject, HEARTBEAT, reply)) return false;
  ctx.metrics.inc("heartbeats_sent");
  return true;
}

/** Wheel callback: sends the agent's heartbeat when it is due, and schedules the next. */
export function heartbeatDue(ctx: EmulatorContext, agent: EmulatedAgent, now: number): void {
  if (agent.state !== EmulatedAgentState.Registered || agent.nextHeartbeatAt > now) return;
  if (agent.masterSubject === undefined) return;
  const reply = ctx.settings.heartbeatMode === "request" ? agent.heartbeatInbox : undefined;
  if (publish(ctx, agent, agent.masterSubject, HEARTBEAT, reply)) {
    ctx.metrics.inc("heartbeats_sent");
  }
  agent.nextHeartbeatAt = now + agent.heartbeatIntervalMs;
  ctx.heartbeats.schedule(agent.nextHeartbeatAt, agent);
}

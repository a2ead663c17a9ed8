/**
 * The policy host: turns any {@link AllocationPolicy} into an actor on NATS
 * (`agora policy serve`). It answers `policy.allocate` requests on
 * `<p>.policy.<name>` with `policy.decision`, in a queue group so that several
 * instances share the load. A bad request gets an error reply; a policy that
 * throws (or returns something that is not a decision) gets an `INTERNAL`
 * error reply, and the host keeps serving.
 *
 * ```ts
 * const host = createPolicyHost({ nc, logger, subjects, name: "binpack", policy });
 * await host.start();
 * ```
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { serve } from "../../infra/dispatch.ts";
import { actorLogger, type Logger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import type { AllocationDecision, AllocationPolicy } from "../types.ts";
import { contextFromWire, decisionToWire } from "./wire.ts";

/** What a policy host needs. */
export interface PolicyHostDeps {
  /** The NATS connection; the caller owns it. */
  nc: NatsConnection;
  logger: Logger;
  subjects: Subjects;
  /** The name the policy is served under (`<p>.policy.<name>`). */
  name: string;
  policy: AllocationPolicy;
  /** The queue group. @default `policy.<name>` */
  queue?: string;
}

/** A running (or runnable) policy actor. */
export interface PolicyHost {
  readonly name: string;
  /** Counters: `decisions`, `decisions_failed`, and the dispatch counters. */
  readonly metrics: Metrics;
  /** Subscribes; resolves once the server has the subscription. */
  start(): Promise<void>;
  /** Unsubscribes, letting requests in progress finish. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Runs the policy on one request; every failure becomes an error reply. */
export async function decide(
  policy: AllocationPolicy,
  msg: MessageOf<"policy.allocate">,
): Promise<MessageOf<"policy.decision">> {
  const context = contextFromWire(msg.context);
  let decision: AllocationDecision;
  try {
    decision = await Promise.resolve(policy.allocate(context));
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new AgoraError(ErrorCode.Internal, `policy ${policy.name} failed: ${reason}`, { cause });
  }
  return { type: "policy.decision", allocations: decisionToWire(decision) };
}

/** Creates the policy actor. */
export function createPolicyHost(deps: PolicyHostDeps): PolicyHost {
  const { nc, subjects, name, policy } = deps;
  const subject = subjects.policy(name);
  const logger = actorLogger(deps.logger, "policy", { policy: name });
  const metrics = new Metrics();
  let subscription: Subscription | undefined;

  const stop = async () => {
    const sub = subscription;
    if (sub === undefined) return;
    subscription = undefined;
    if (!nc.isClosed()) {
      try {
        await sub.drain();
      } catch (err) {
        logger.debug({ err }, "drain on stop failed");
      }
    }
    logger.info("policy actor stopped");
  };

  return {
    name,
    metrics,
    async start() {
      if (subscription !== undefined) return;
      subscription = serve(
        nc,
        subject,
        {
          types: ["policy.ping", "policy.allocate"],
          logger,
          metrics,
          queue: deps.queue ?? `policy.${name}`,
        },
        async (msg) => {
          if (msg.type === "policy.ping") return undefined;
          try {
            const reply = await decide(policy, msg);
            metrics.inc("decisions");
            return reply;
          } catch (err) {
            metrics.inc("decisions_failed");
            throw err;
          }
        },
      );
      await nc.flush();
      logger.info({ subject, module: policy.name }, "policy actor started");
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

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
import { startActorHttp, watchConnection } from "../../infra/actor-http.ts";
import { DEFAULT_HTTP_HOST } from "../../infra/defaults.ts";
import { serve } from "../../infra/dispatch.ts";
import type { HttpServer } from "../../infra/http.ts";
import { actorLogger, type Logger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import type { AllocationDecision, AllocationPolicy } from "../../policies/types.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { MessageOf } from "../../protocol/registry.ts";
import { ACCEPTED_TYPES } from "../../protocol/subject-routes.ts";
import type { Subjects } from "../../protocol/subjects.ts";
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
  /** Serve `/metrics` and `/health` over HTTP on this port (0: a free one). @default no HTTP */
  httpPort?: number | undefined;
  /** @default DEFAULT_HTTP_HOST */
  httpHost?: string | undefined;
}

/** A running (or runnable) policy actor. */
export interface PolicyHost {
  readonly name: string;
  /** Counters: `decisions`, `decisions_failed`, and the dispatch counters. */
  readonly metrics: Metrics;
  /** The URL of its HTTP endpoints once started with `httpPort`. */
  readonly httpUrl: string | undefined;
  /** Subscribes; resolves once the server has the subscription. */
  start(): Promise<void>;
  /** Unsubscribes, letting requests in progress finish. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Runs the policy on one request; every failure becomes an error reply. */
async function decide(
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
  const metrics = new Metrics({ prefix: "agora_policy_" });
  let subscription: Subscription | undefined;
  let http: HttpServer | undefined;
  let connection: ReturnType<typeof watchConnection> | undefined;

  const startHttp = async (port: number) => {
    connection = watchConnection(nc);
    const watch = connection;
    metrics.gauge("agora_policy_serving", "1 while the policy actor serves its subject", [], (g) =>
      g.set(subscription === undefined ? 0 : 1),
    );
    http = await startActorHttp({
      port,
      host: deps.httpHost ?? DEFAULT_HTTP_HOST,
      metrics,
      logger,
      health: () => ({
        ok: subscription !== undefined && watch.connected(),
        body: { policy: name, serving: subscription !== undefined, connected: watch.connected() },
      }),
    });
  };

  const stop = async () => {
    await http?.close();
    http = undefined;
    connection?.stop();
    connection = undefined;
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
    get httpUrl() {
      return http?.url;
    },
    async start() {
      if (subscription !== undefined) return;
      if (deps.httpPort !== undefined && http === undefined) await startHttp(deps.httpPort);
      subscription = serve(
        nc,
        subject,
        {
          types: ACCEPTED_TYPES.policy,
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

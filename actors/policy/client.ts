/**
 * The master's side of a policy actor: a {@link RemotePolicy} is an
 * {@link AllocationPolicy} whose decisions come from `<p>.policy.<name>` over
 * NATS. The master's allocation cycle is synchronous, so one remote cycle
 * takes two turns of it:
 *
 * 1. `allocate(context)` sends `policy.allocate` with the context and returns
 *    no allocations. While the request is in flight every further cycle also
 *    returns none (a cycle in flight blocks the next; it is run again once the
 *    answer is in).
 * 2. The reply is checked against the context it answers: an unknown
 *    framework or agent, a wrong role, or resources beyond an agent's free
 *    resources reject the whole decision. Then a cycle is requested, and the
 *    next `allocate(context)` hands out the decision, restricted to the
 *    allocations that are still valid in that fresh context (resources still
 *    free, framework still active): nothing can be allocated twice or leak.
 *
 * No answer within the deadline, an error reply or a rejected decision makes
 * the next cycle run the fallback (built-in `drf`) instead: logged and counted
 * as `policy_fallbacks`.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { request } from "../../infra/request.ts";
import type {
  Allocation,
  AllocationContext,
  AllocationDecision,
  AllocationPolicy,
} from "../../policies/types.ts";
import { AgoraError } from "../../protocol/errors.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { checkDecision, stillValid } from "./validate.ts";
import { contextToWire } from "./wire.ts";

/** What a {@link RemotePolicy} needs. */
export interface RemotePolicyDeps {
  nc: NatsConnection;
  subjects: Subjects;
  /** The policy actor's name: requests go to `subjects.policy(name)`. */
  name: string;
  /** Deadline of one decision, in ms. */
  timeoutMs: number;
  /** Runs when the actor does not deliver a usable decision. */
  fallback: AllocationPolicy;
  /** Asks the master for an allocation cycle soon (to apply an answer). */
  requestAllocation: () => void;
  logger: Logger;
  /** Counters: `policy_requests`, `policy_decisions`, `policy_fallbacks`, `policy_decisions_rejected`, `policy_allocations_dropped`. */
  metrics: Metrics;
}

const NONE: AllocationDecision = { allocations: [] };

type Phase =
  | { kind: "idle" }
  | { kind: "waiting"; again: boolean }
  | { kind: "ready"; allocations: readonly Allocation[]; again: boolean }
  | { kind: "fallback"; again: boolean };

/** An allocation policy served by an `agora policy` actor, with a deadline and a fallback. */
export class RemotePolicy implements AllocationPolicy {
  readonly name: string;
  readonly #deps: RemotePolicyDeps;
  readonly #subject: string;
  #phase: Phase = { kind: "idle" };
  #closed = false;
  /** Whether the last exchange failed (to log a failure streak once). */
  #failing = false;

  constructor(deps: RemotePolicyDeps) {
    this.#deps = deps;
    this.name = deps.name;
    this.#subject = deps.subjects.policy(deps.name);
  }

  /** Whether a request is in flight. */
  get waiting(): boolean {
    return this.#phase.kind === "waiting";
  }

  allocate(context: AllocationContext): AllocationDecision {
    const phase = this.#phase;
    switch (phase.kind) {
      case "waiting":
        phase.again = true;
        return NONE;
      case "ready": {
        this.#phase = { kind: "idle" };
        if (phase.again) this.#deps.requestAllocation();
        const valid = stillValid(phase.allocations, context);
        const dropped = phase.allocations.length - valid.length;
        if (dropped > 0) {
          this.#deps.metrics.inc("policy_allocations_dropped", dropped);
          this.#deps.logger.debug(
            { policy: this.name, dropped },
            "policy allocations no longer valid, dropped",
          );
        }
        return { allocations: valid };
      }
      case "fallback":
        this.#phase = { kind: "idle" };
        if (phase.again) this.#deps.requestAllocation();
        return this.#deps.fallback.allocate(context);
      case "idle":
        this.#phase = { kind: "waiting", again: false };
        void this.#ask(context);
        return NONE;
    }
  }

  /** Stops using the actor: an answer still in flight is ignored. */
  close(): void {
    this.#closed = true;
  }

  async #ask(context: AllocationContext): Promise<void> {
    const { nc, metrics, logger } = this.#deps;
    metrics.inc("policy_requests");
    let allocations: Allocation[];
    try {
      const reply = await request(
        nc,
        this.#subject,
        { type: "policy.allocate", context: contextToWire(context) },
        ["policy.decision"],
        this.#deps.timeoutMs,
      );
      try {
        allocations = checkDecision(reply.allocations, context);
      } catch (err) {
        metrics.inc("policy_decisions_rejected");
        throw err;
      }
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (this.#closed) return;
    metrics.inc("policy_decisions");
    if (this.#failing) {
      this.#failing = false;
      logger.info({ policy: this.name }, "policy actor answers again");
    }
    const again = this.#phase.kind === "waiting" && this.#phase.again;
    this.#phase = { kind: "ready", allocations, again };
    this.#deps.requestAllocation();
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    const error = AgoraError.from(err);
    const { metrics, logger } = this.#deps;
    metrics.inc("policy_fallbacks");
    const details = {
      policy: this.name,
      fallback: this.#deps.fallback.name,
      code: error.code,
      reason: error.message,
    };
    // A dead actor fails every cycle: warn at the start of a streak, not every second.
    if (this.#failing) logger.debug(details, "policy actor failed, fallback used");
    else logger.warn(details, "policy actor failed, fallback used");
    this.#failing = true;
    const again = this.#phase.kind === "waiting" && this.#phase.again;
    this.#phase = { kind: "fallback", again };
    this.#deps.requestAllocation();
  }
}

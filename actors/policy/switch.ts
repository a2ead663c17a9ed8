/**
 * The master's current allocation policy, switchable while it runs
 * (`operator.usePolicy`, `agora policy use NAME`). A built-in name runs in
 * the master's process; any other name is a {@link RemotePolicy} on
 * `<p>.policy.<name>` with the built-in `drf` as its fallback.
 *
 * Switching only changes who decides the next cycle: outstanding offers and
 * running tasks stay as they are (they live in the master's ledger, not in a
 * policy), and an answer still in flight from the previous remote policy is
 * ignored, so nothing is lost or allocated twice.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import { policyNames, resolvePolicy } from "../../policies/index.ts";
import type {
  AllocationContext,
  AllocationDecision,
  AllocationPolicy,
} from "../../policies/types.ts";
import { assertValidId, type Subjects } from "../../protocol/subjects.ts";
import { RemotePolicy } from "./client.ts";

/** The name of the built-in policy a remote policy falls back to. */
const FALLBACK_POLICY = "drf";

/** What a {@link PolicySwitch} needs to build remote policies. */
export interface PolicySwitchDeps {
  nc: NatsConnection;
  subjects: Subjects;
  /** Deadline of one remote decision, in ms. */
  timeoutMs: number;
  requestAllocation: () => void;
  logger: Logger;
  metrics: Metrics;
}

/** Whether `name` is a built-in policy (runs inside the master). */
export function isBuiltInPolicy(name: string): boolean {
  return policyNames().includes(name);
}

/** An {@link AllocationPolicy} that delegates to the policy in use, which can be switched. */
export class PolicySwitch implements AllocationPolicy {
  readonly #deps: PolicySwitchDeps;
  #current: AllocationPolicy;

  /**
   * @param initial a policy object, or a name (built-in or remote)
   * @throws AgoraError INVALID_ID for a name that cannot be a subject token
   */
  constructor(deps: PolicySwitchDeps, initial: string | AllocationPolicy) {
    this.#deps = deps;
    this.#current = typeof initial === "string" ? this.#make(initial) : initial;
  }

  /** The name of the policy in use (shown in the master's state). */
  get name(): string {
    return this.#current.name;
  }

  /** The policy in use. */
  get current(): AllocationPolicy {
    return this.#current;
  }

  allocate(context: AllocationContext): AllocationDecision {
    return this.#current.allocate(context);
  }

  /**
   * Switches to the policy called `name` and asks for a cycle with it.
   * @throws AgoraError INVALID_ID for a name that cannot be a subject token
   */
  use(name: string): void {
    const next = this.#make(name);
    const previous = this.#current;
    this.#current = next;
    if (previous instanceof RemotePolicy) previous.close();
    this.#deps.logger.info(
      { policy: next.name, previous: previous.name },
      "allocation policy switched",
    );
    this.#deps.metrics.inc("policy_switches");
    this.#deps.requestAllocation();
  }

  /** Stops a remote policy in use from acting on late answers. */
  close(): void {
    if (this.#current instanceof RemotePolicy) this.#current.close();
  }

  #make(name: string): AllocationPolicy {
    if (isBuiltInPolicy(name)) return resolvePolicy(name);
    assertValidId(name, "policy name");
    return new RemotePolicy({
      ...this.#deps,
      name,
      fallback: resolvePolicy(FALLBACK_POLICY),
    });
  }
}

/**
 * The master actor: the registry of agents, frameworks, tasks and offers, and
 * the allocation loop, on NATS. Mesos's master is the reference.
 *
 * ```ts
 * const master = createMaster({ nc, logger, subjects, config: resolveMasterConfig() });
 * await master.start();
 * ```
 */
import { hostname } from "node:os";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { type Clock, systemClock } from "../../infra/clock.ts";
import { actorLogger, type Logger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import { PolicySwitch } from "../../policies/remote/switch.ts";
import type { AllocationPolicy } from "../../policies/types.ts";
import type { MasterState } from "../../protocol/operator.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { serveAgents } from "./agent-handlers.ts";
import { type MasterConfig, validateMasterConfig } from "./config.ts";
import { createMasterCore, generateMasterId } from "./core.ts";
import { serveFrameworks } from "./framework-handlers.ts";
import { natsOutbox } from "./outbox.ts";
import { masterState } from "./state.ts";

/** What the master needs. */
export interface MasterDeps {
  /** The NATS connection; the caller owns it (the master never closes it). */
  nc: NatsConnection;
  logger: Logger;
  subjects: Subjects;
  config: MasterConfig;
  /** @default systemClock */
  clock?: Clock;
  /** A policy object to start with instead of the one named by `config.policy`. */
  policy?: AllocationPolicy;
}

/** A running (or runnable) master. */
export interface Master {
  /** The id of this master, prefix of the ids it assigns. */
  readonly masterId: string;
  /** Counters: messages, offers, tasks, transitions, rejections... */
  readonly metrics: Metrics;
  /** Subscribes to the master subjects and starts the timers. */
  start(): Promise<void>;
  /** Unsubscribes, stops the timers and flushes what was published. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** The state JSON of DESIGN §7 (what `operator.getState` answers). */
  state(): MasterState;
  /** Runs one allocation cycle now; returns the number of offers made. */
  allocate(): number;
  /** Resource accounting violations (total = free + offered + used per agent); empty when sound. */
  checkInvariants(): string[];
  /**
   * Switches the allocation policy (what `operator.usePolicy` does): a built-in name runs in
   * the master, any other name is the policy actor `<p>.policy.<name>`.
   * @throws AgoraError INVALID_ID for a name that cannot be a subject token
   */
  usePolicy(name: string): void;
}

/**
 * Creates the master actor. `config.policy` names a built-in policy (run in
 * the master) or a policy actor (`agora policy serve --name NAME`).
 * @throws AgoraError INVALID_CONFIG for bad options
 */
export function createMaster(deps: MasterDeps): Master {
  const { nc, subjects, config } = deps;
  validateMasterConfig(config);
  const clock = deps.clock ?? systemClock;
  const masterId = config.masterId ?? generateMasterId(clock.now());
  const logger = actorLogger(deps.logger, "master", { masterId });
  const metrics = new Metrics();
  let requestAllocation = () => {};
  const policy = new PolicySwitch(
    {
      nc,
      subjects,
      timeoutMs: config.policyTimeout,
      requestAllocation: () => requestAllocation(),
      logger,
      metrics,
    },
    deps.policy ?? config.policy,
  );
  const core = createMasterCore({
    masterId,
    config,
    clock,
    logger,
    metrics,
    outbox: natsOutbox(nc, subjects, logger, metrics),
    policy,
  });
  requestAllocation = () => core.ctx.requestAllocation();
  const controls = { usePolicy: (name: string) => policy.use(name) };
  let subscriptions: Subscription[] = [];

  const stop = async () => {
    if (subscriptions.length === 0) return;
    for (const sub of subscriptions) sub.unsubscribe();
    subscriptions = [];
    core.stop();
    core.ctx.outbox.flush?.();
    if (!nc.isClosed()) {
      try {
        await nc.flush();
      } catch (err) {
        logger.debug({ err }, "flush on stop failed");
      }
    }
    logger.info("master stopped");
  };

  return {
    masterId,
    metrics,
    async start() {
      if (subscriptions.length > 0) return;
      subscriptions = [
        ...serveAgents(nc, subjects, core.ctx),
        ...serveFrameworks(nc, subjects, core.ctx, controls),
      ];
      await nc.flush();
      core.start();
      logger.info(
        { hostname: config.hostname ?? hostname(), policy: policy.name, prefix: subjects.prefix },
        "master started",
      );
    },
    stop,
    [Symbol.asyncDispose]: stop,
    state: () => masterState(core.ctx),
    allocate: () => core.allocator.run(),
    checkInvariants: () => core.checkInvariants(),
    usePolicy: controls.usePolicy,
  };
}

export {
  MASTER_OPTIONS,
  type MasterConfig,
  resolveMasterConfig,
  validateMasterConfig,
} from "./config.ts";

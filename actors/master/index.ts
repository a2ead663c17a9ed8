/**
 * The master actor: the registry of agents, frameworks, tasks and offers, and
 * the allocation loop, on NATS. Mesos's master is the reference.
 *
 * ```ts
 * const master = createMaster({ nc, logger, subjects, config: resolveMasterConfig() });
 * await master.start(); // leads, or stands by when another master leads the prefix
 * ```
 */
import { hostname } from "node:os";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { startActorHttp, watchConnection } from "../../infra/actor-http.ts";
import { Backoff } from "../../infra/backoff.ts";
import { type Clock, systemClock } from "../../infra/clock.ts";
import {
  EVENTS_STREAM_SETUP_TIMEOUT_MS,
  REGISTRY_OPEN_BACKOFF_MAX_MS,
  REGISTRY_OPEN_BACKOFF_MS,
  REGISTRY_OPEN_TIMEOUT_MS,
} from "../../infra/defaults.ts";
import { serve } from "../../infra/dispatch.ts";
import { ensureEventStream } from "../../infra/event-stream.ts";
import type { HttpServer } from "../../infra/http.ts";
import { actorLogger, type Logger } from "../../infra/logger.ts";
import { Metrics } from "../../infra/metrics.ts";
import { request } from "../../infra/request.ts";
import { policyNames } from "../../policies/index.ts";
import type { AllocationPolicy } from "../../policies/types.ts";
import { encode } from "../../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { MasterState } from "../../protocol/operator.ts";
import { ACCEPTED_TYPES } from "../../protocol/subject-routes.ts";
import { DEFAULT_PRINCIPAL, type Subjects } from "../../protocol/subjects.ts";
import { isBuiltInPolicy, PolicySwitch } from "../policy/switch.ts";
import { serveAgents } from "./agent-handlers.ts";
import { ALLOW_ALL, type Authorizer, loadAuthorizer } from "./authorizer.ts";
import { type MasterConfig, validateMasterConfig } from "./config.ts";
import { createMasterCore, generateMasterId, type MasterCore } from "./core.ts";
import { serveFrameworks } from "./framework-handlers.ts";
import { createLeadership, type Leadership } from "./leadership.ts";
import type { LeadershipView } from "./model.ts";
import { answerOperatorCall } from "./operator.ts";
import { natsOutbox, type Outbox } from "./outbox.ts";
import { principalOfFramework } from "./principal.ts";
import { registerMasterGauges } from "./prometheus.ts";
import { recoverFromRegistry } from "./recovery.ts";
import { loadSnapshot, MemoryRegistry, type Registry, type RegistrySnapshot } from "./registry.ts";
import { openKvRegistry } from "./registry-kv.ts";
import { masterState, standbyState } from "./state.ts";

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
  /** The ACLs to check calls against; default the file `config.acls` names, else allow all. */
  authorizer?: Authorizer;
}

/** A running (or runnable) master. */
export interface Master {
  /** The id of this master, prefix of the ids it assigns. */
  readonly masterId: string;
  /** Counters: messages, offers, tasks, transitions, rejections... */
  readonly metrics: Metrics;
  /** The URL of its HTTP endpoints (`/metrics`, `/health`, `/state`) once started with `httpPort`. */
  readonly httpUrl: string | undefined;
  /**
   * Opens the registry and takes part in the election; resolves once it leads
   * and serves, or once it has seen another master lead (then it stands by).
   */
  start(): Promise<void>;
  /** Unsubscribes, stops the timers and flushes what was published. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** Whether it leads now (holds a valid lease and serves the master subjects). */
  isLeading(): boolean;
  /** Resolves once it leads and serves (at once when it does). */
  whenLeading(): Promise<void>;
  /** The state JSON of DESIGN §7 (what `operator.getState` answers); a standby's has no records. */
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
  /**
   * Reads the `--acls` file again and checks calls against it from now on (SIGHUP);
   * a bad file keeps the ACLs in force.
   * @throws AgoraError INVALID_CONFIG for a bad file, INVALID_STATE without `--acls`
   */
  reloadAcls(): void;
}

/**
 * Creates the master actor. `config.policy` names a built-in policy (run in
 * the master) or a policy actor (`agora policy serve --name NAME`). With
 * `config.registry` `kv` the master elects a leader with the others on its
 * prefix and serves the master subjects only while it leads; with `memory`
 * it leads at once and alone.
 * @throws AgoraError INVALID_CONFIG for bad options
 */
export function createMaster(deps: MasterDeps): Master {
  const { nc, subjects, config } = deps;
  validateMasterConfig(config);
  const clock = deps.clock ?? systemClock;
  const masterId = config.masterId ?? generateMasterId(clock.now());
  const host = config.hostname ?? hostname();
  const logger = actorLogger(deps.logger, "master", { masterId });
  const metrics = new Metrics({
    prefix: "agora_master_",
    names: { policy_fallbacks: "agora_policy_fallbacks_total" },
  });
  const startTime = clock.now();
  const sequence = { agents: 0, frameworks: 0, offers: 0 };
  let core: MasterCore | undefined;
  let leadership: Leadership | undefined;
  let registry: Registry | undefined;
  let leaderSubs: Subscription[] = [];
  let instanceSub: Subscription | undefined;
  let started = false;
  let http: HttpServer | undefined;
  let connection: ReturnType<typeof watchConnection> | undefined;
  const leadingWaiters: Array<() => void> = [];
  const isLeading = () => core !== undefined && (leadership?.isLeading() ?? true);
  const policy = new PolicySwitch(
    {
      nc,
      subjects,
      timeoutMs: config.policyTimeout,
      requestAllocation: () => core?.ctx.requestAllocation(),
      logger,
      metrics,
    },
    deps.policy ?? config.policy,
  );
  const controls = {
    usePolicy: (name: string) => policy.use(name),
    checkPolicy: async (name: string) => {
      if (isBuiltInPolicy(name)) return;
      const subject = subjects.policy(name);
      try {
        await request(nc, subject, { type: "policy.ping" }, ["ok"], config.policyTimeout);
      } catch (cause) {
        throw new AgoraError(
          ErrorCode.NotFound,
          `no policy ${name}: it is not built in (${policyNames().join(", ")}) and no policy actor answers on ${subject} (start one with agora policy serve --name ${name})`,
          { cause },
        );
      }
    },
  };
  let acls: Authorizer =
    deps.authorizer ?? (config.acls === undefined ? ALLOW_ALL : loadAuthorizer(config.acls));
  // every core checks through this, so that a reload reaches the core that serves
  const authorizer: Authorizer = {
    get enabled() {
      return acls.enabled;
    },
    authorize: (action, principal, object) => acls.authorize(action, principal, object),
  };
  // leads and serves: the registry is recovered and the master subjects are subscribed
  const serving = () => leaderSubs.length > 0 && isLeading();
  const view = (): LeadershipView => ({
    ...(leadership?.view() ?? { leaderId: masterId }),
    leader: serving(),
  });

  /** Leads: a fresh core, the registry recovered, then the master subjects served. */
  const lead = async (term: number) => {
    if (registry === undefined) return;
    // the core's frameworks name the principal of their event subjects (bound once it exists)
    let principalOf = (_frameworkId: string) => DEFAULT_PRINCIPAL;
    let agentPrincipalOf = (_agentId: string) => DEFAULT_PRINCIPAL;
    const outbox = natsOutbox(
      nc,
      subjects,
      logger,
      metrics,
      isLeading,
      (id) => principalOf(id),
      (id) => agentPrincipalOf(id),
    );
    const fresh = createMasterCore({
      masterId,
      config,
      clock,
      logger,
      metrics,
      outbox: gatedOutbox(outbox, isLeading, metrics),
      policy,
      registry: gatedRegistry(registry, isLeading),
      isLeading,
      leadership: view,
      sequence,
      authorizer,
    });
    principalOf = (id) => principalOfFramework(fresh.ctx, id);
    agentPrincipalOf = (id) => fresh.ctx.agents.get(id)?.principal ?? DEFAULT_PRINCIPAL;
    core = fresh;
    // set up alongside the recovery: the first events of the term are already kept
    const history = setUpHistory(term);
    let snapshot: RegistrySnapshot;
    try {
      snapshot = await loadSnapshot(registry, logger, metrics);
    } catch (err) {
      logger.error({ err, term }, "registry recovery failed");
      metrics.inc("recovery_failures");
      if (core === fresh) {
        follow();
        leadership?.abdicate();
      }
      return;
    }
    // bounded: a slow JetStream delays serving by at most the setup timeout
    let timer: { cancel(): void } | undefined;
    await Promise.race([
      history,
      new Promise<void>((resolve) => {
        timer = clock.after(EVENTS_STREAM_SETUP_TIMEOUT_MS, resolve);
      }),
    ]);
    timer?.cancel();
    if (core !== fresh || !isLeading()) return;
    // subscribed before the reregister and resubscribe requests go out (one connection keeps order)
    leaderSubs = [
      ...serveAgents(nc, subjects, fresh.ctx),
      ...serveFrameworks(nc, subjects, fresh.ctx, controls),
    ];
    try {
      recoverFromRegistry(fresh.ctx, snapshot, controls);
    } catch (err) {
      // a bad stored value is skipped record by record; this is the net under a bug
      logger.error({ err, term }, "registry recovery failed");
      metrics.inc("recovery_failures");
      follow();
      leadership?.abdicate();
      return;
    }
    fresh.start();
    fresh.ctx.outbox.flush?.();
    logger.info({ term, policy: policy.name }, "serving as leader");
    for (const resolve of leadingWaiters.splice(0)) resolve();
  };

  /**
   * The leader creates the event history stream or brings its limits up to date
   * (a standby never touches it); without JetStream the master serves on, live events only.
   */
  const setUpHistory = async (term: number) => {
    if (!config.eventsStream) return;
    try {
      const setup = await ensureEventStream(
        nc,
        subjects,
        {
          kinds: config.eventsKinds,
          maxAgeMs: config.eventsMaxAge,
          maxBytes: config.eventsMaxBytes,
          replicas: config.eventsReplicas,
        },
        EVENTS_STREAM_SETUP_TIMEOUT_MS,
      );
      logger.info({ term, setup }, "event history stream ready");
    } catch (err) {
      metrics.inc("events_stream_failures");
      logger.warn({ term, reason: (err as Error).message }, "event history unavailable");
    }
  };

  /** Stops serving at once: unsubscribes and drops the in-memory state. */
  const follow = () => {
    for (const sub of leaderSubs) sub.unsubscribe();
    leaderSubs = [];
    core?.stop();
    core = undefined;
  };

  const serveInstance = () =>
    serve(
      nc,
      subjects.masterInstance(masterId),
      { types: ACCEPTED_TYPES.masterInstance, logger, metrics },
      (call, m) => {
        const current = core;
        if (current === undefined || !serving()) {
          return {
            type: "operator.state",
            state: standbyState(masterId, startTime, policy.name, view()),
          };
        }
        return answerOperatorCall(current.ctx, controls, call, (part) => {
          if (m.reply !== undefined) nc.publish(m.reply, encode(part));
        });
      },
    );

  /** Serves `/metrics`, `/health` and `/state` (a standby's too: it answers who leads). */
  const startHttp = async (port: number) => {
    registerMasterGauges(metrics, {
      context: () => (serving() ? core?.ctx : undefined),
      elected: serving,
      startTime,
      now: () => clock.now(),
    });
    connection = watchConnection(nc);
    const watch = connection;
    http = await startActorHttp({
      port,
      host: config.httpHost,
      metrics,
      logger,
      health: () => {
        const v = view();
        const body = {
          leader: v.leader,
          masterId,
          ...(v.leaderId === undefined ? {} : { leaderId: v.leaderId }),
        };
        return {
          ok: started && watch.connected(),
          body: { ...body, connected: watch.connected() },
        };
      },
      state: () =>
        core === undefined || !serving()
          ? standbyState(masterId, startTime, policy.name, view())
          : masterState(core.ctx),
    });
  };

  const stop = async () => {
    if (!started) return;
    started = false;
    await http?.close();
    http = undefined;
    connection?.stop();
    connection = undefined;
    instanceSub?.unsubscribe();
    instanceSub = undefined;
    const outbox = core?.ctx.outbox;
    if (leadership !== undefined) await leadership.stop();
    else follow();
    follow();
    outbox?.flush?.();
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
    get httpUrl() {
      return http?.url;
    },
    async start() {
      if (started) return;
      started = true;
      if (config.httpPort !== undefined) {
        try {
          await startHttp(config.httpPort);
        } catch (err) {
          started = false;
          connection?.stop();
          connection = undefined;
          throw new AgoraError(
            ErrorCode.InvalidConfig,
            `--http-port ${config.httpPort}: cannot listen on ${config.httpHost} (${(err as Error).message})`,
            { cause: err },
          );
        }
      }
      instanceSub = serveInstance();
      if (config.registry === "memory") {
        registry = new MemoryRegistry();
        await lead(0);
      } else {
        const opened = await openWithRetry(
          () =>
            openKvRegistry({
              nc,
              prefix: subjects.prefix,
              replicas: config.registryReplicas,
              logger,
              metrics,
              isLeading,
            }),
          clock,
          logger,
        ).catch(async (err: unknown) => {
          started = false;
          instanceSub?.unsubscribe();
          await http?.close();
          http = undefined;
          connection?.stop();
          throw new AgoraError(
            ErrorCode.Unavailable,
            `the registry bucket cannot be opened (${(err as Error).message}); the master needs JetStream (nats-server -js), or run one master alone with --registry memory`,
            { cause: err },
          );
        });
        registry = opened.registry;
        const leading = new Promise<void>((resolve) => leadingWaiters.push(resolve));
        leadership = createLeadership({
          masterId,
          hostname: host,
          leaseMs: config.leaderLease,
          lease: opened.lease,
          clock,
          logger,
          metrics,
          onLead: (term) => void lead(term),
          onFollow: follow,
        });
        leadership.start();
        // the first master of a prefix leads at once; a standby returns once it has seen a leader
        await Promise.race([leading, sawLeader(leadership, clock, config.leaderLease)]);
      }
      await nc.flush();
      logger.info(
        { hostname: host, policy: policy.name, prefix: subjects.prefix, registry: config.registry },
        "master started",
      );
    },
    stop,
    [Symbol.asyncDispose]: stop,
    isLeading: serving,
    whenLeading: () =>
      serving() ? Promise.resolve() : new Promise<void>((resolve) => leadingWaiters.push(resolve)),
    state: () =>
      core === undefined || !serving()
        ? standbyState(masterId, startTime, policy.name, view())
        : masterState(core.ctx),
    allocate: () => core?.allocator.run() ?? 0,
    checkInvariants: () => core?.checkInvariants() ?? [],
    usePolicy: controls.usePolicy,
    reloadAcls() {
      if (config.acls === undefined) {
        throw new AgoraError(ErrorCode.InvalidState, "the master was started without --acls");
      }
      acls = loadAuthorizer(config.acls);
      metrics.inc("acl_reloads");
      logger.info({ file: config.acls }, "acls reloaded");
    },
  };
}

/**
 * Opens the registry, retrying while JetStream is not ready (a stream leader
 * being elected) for up to {@link REGISTRY_OPEN_TIMEOUT_MS}; a server without
 * JetStream fails at once.
 */
async function openWithRetry<T>(open: () => Promise<T>, clock: Clock, logger: Logger): Promise<T> {
  const deadline = clock.now() + REGISTRY_OPEN_TIMEOUT_MS;
  const backoff = new Backoff({
    clock,
    initialMs: REGISTRY_OPEN_BACKOFF_MS,
    maxMs: REGISTRY_OPEN_BACKOFF_MAX_MS,
  });
  for (;;) {
    try {
      return await open();
    } catch (err) {
      const delay = backoff.peek();
      if (/not enabled/i.test((err as Error).message) || clock.now() + delay > deadline) throw err;
      logger.warn({ reason: (err as Error).message, retryInMs: delay }, "registry not ready");
      await backoff.wait();
    }
  }
}

/** Resolves once the leadership saw another master's lease (or after two leases). */
function sawLeader(leadership: Leadership, clock: Clock, leaseMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = clock.now() + 2 * leaseMs;
    const timer = clock.every(Math.max(10, leaseMs / 10), () => {
      const leaderId = leadership.view().leaderId;
      if ((leaderId !== undefined && !leadership.isLeading()) || clock.now() >= deadline) {
        timer.cancel();
        resolve();
      }
    });
  });
}

/** An outbox that sends nothing while the master does not hold a valid lease. */
function gatedOutbox(outbox: Outbox, isLeading: () => boolean, metrics: Metrics): Outbox {
  const gate =
    <A extends unknown[]>(send: (...args: A) => void) =>
    (...args: A) => {
      if (isLeading()) send(...args);
      else metrics.inc("messages_dropped_not_leading");
    };
  return {
    toAgent: gate(outbox.toAgent),
    toFramework: gate(outbox.toFramework),
    cluster: gate(outbox.cluster),
    flush: () => outbox.flush?.(),
  };
}

/**
 * A registry that refuses writes while the master does not hold a valid
 * lease, and never confirms a write that completed after it lost it (the
 * caller then never answers).
 */
function gatedRegistry(registry: Registry, isLeading: () => boolean): Registry {
  return {
    kind: registry.kind,
    put(key, value) {
      if (!isLeading()) throw new AgoraError(ErrorCode.Unavailable, "this master does not lead");
      const pending = registry.put(key, value);
      return pending?.then(() => (isLeading() ? undefined : new Promise<void>(() => {})));
    },
    entries: () => registry.entries(),
  };
}

export {
  MASTER_OPTIONS,
  type MasterConfig,
  resolveMasterConfig,
} from "./config.ts";

/**
 * Helpers of the master's integration tests: the master in-process with short
 * intervals, and protocol-level clients written against the wire contract: a
 * fake agent, a fake scheduler and a cluster event recorder, each a plain
 * NATS connection that records what it receives. Waits are event-driven:
 * `waitFor` resolves when a matching message arrives.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Authorizer } from "../../../actors/master/authorizer.ts";
import {
  createMaster,
  type Master,
  type MasterConfig,
  resolveMasterConfig,
} from "../../../actors/master/index.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import type { NatsCredentials } from "../../../infra/credentials.ts";
import { createRootLogger, type Logger, silentLogger } from "../../../infra/logger.ts";
import { decodeReply, encode } from "../../../protocol/codec.ts";
import type { ResourcesJson, TaskInfo, TaskStatus } from "../../../protocol/common.ts";
import type { FrameworkInfo } from "../../../protocol/frameworks.ts";
import type { Message, MessageOf, MessageType } from "../../../protocol/registry.ts";
import { DEFAULT_PRINCIPAL, Subjects } from "../../../protocol/subjects.ts";
import { unbatch } from "../../helpers/messages.ts";
import { WAIT_MS } from "../../helpers/wait.ts";

export { WAIT_MS };

/** A logger for tests: silent unless `TEST_LOG` names a level. */
export function testLogger(): Logger {
  return process.env.TEST_LOG ? createRootLogger({ level: process.env.TEST_LOG }) : silentLogger();
}

/** Short intervals for tests; liveness generous enough for a loaded machine. */
export const TEST_MASTER: Partial<MasterConfig> = {
  allocationInterval: 50,
  agentPingTimeout: 200,
  maxAgentPingTimeouts: 10,
  agentRemovalTimeout: 0,
  frameworkHeartbeatInterval: 200,
  maxFrameworkHeartbeatTimeouts: 10,
};

/** Messages received, with waits that resolve on arrival. */
export class Inbox<M = Message> {
  readonly items: M[] = [];
  readonly #waiters = new Set<{ match: (m: M) => boolean; resolve: (m: M) => void }>();

  push(item: M): void {
    this.items.push(item);
    for (const waiter of Array.from(this.#waiters)) {
      if (waiter.match(item)) {
        this.#waiters.delete(waiter);
        waiter.resolve(item);
      }
    }
  }

  /** The first item (already received or to come) that matches, after `from` items. */
  waitFor(match: (m: M) => boolean, what: string, timeoutMs = WAIT_MS, from = 0): Promise<M> {
    for (let i = from; i < this.items.length; i++) {
      const item = this.items[i]!;
      if (match(item)) return Promise.resolve(item);
    }
    return new Promise<M>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (m: M) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Items of one type. */
  ofType<T extends MessageType>(type: T): MessageOf<T>[] {
    return this.items.filter((m) => (m as Message).type === type) as unknown as MessageOf<T>[];
  }
}

/** Narrows a message to a type. */
export function is<T extends MessageType>(type: T) {
  return (m: Message): m is MessageOf<T> => m.type === type;
}

/** A test's master and its connection. */
export interface TestMaster {
  master: Master;
  nc: NatsConnection;
  stop(): Promise<void>;
}

/** Starts a master in-process on its own connection (with `deps.credentials`, as their principal). */
export async function startMaster(
  url: string,
  subjects: Subjects,
  overrides: Partial<MasterConfig> = {},
  deps: { credentials?: NatsCredentials; authorizer?: Authorizer } = {},
): Promise<TestMaster> {
  const nc = await connect({
    servers: url,
    name: "test-master",
    ...(deps.credentials === undefined
      ? {}
      : { credentials: deps.credentials, devDefaults: false }),
  });
  const config = resolveMasterConfig({
    env: {},
    overrides: { ...TEST_MASTER, ...overrides, nats: url, prefix: subjects.prefix },
  });
  const master = createMaster({
    nc,
    logger: testLogger(),
    subjects,
    config,
    ...(deps.authorizer === undefined ? {} : { authorizer: deps.authorizer }),
  });
  await master.start();
  return {
    master,
    nc,
    stop: async () => {
      await master.stop();
      await closeGracefully(nc);
    },
  };
}

/** A fresh prefix per test, so tests of one file share a server without crosstalk. */
let prefixCounter = 0;
export function freshSubjects(): Subjects {
  return new Subjects(`t${process.pid}x${prefixCounter++}`);
}

/** A protocol-level agent: a plain NATS client. */
export class FakeAgent {
  readonly inbox = new Inbox();
  agentId = "";
  #sub: Subscription | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  private constructor(
    readonly nc: NatsConnection,
    readonly subjects: Subjects,
  ) {}

  static async connect(url: string, subjects: Subjects): Promise<FakeAgent> {
    return new FakeAgent(await connect({ servers: url, name: "fake-agent" }), subjects);
  }

  /** Registers, subscribes to its subject, then heartbeats once (so the master may use it). */
  async register(
    resources: ResourcesJson,
    hostname = "host-1",
    attributes: Record<string, string> = {},
  ): Promise<MessageOf<"agent.registered">> {
    const reply = await this.nc.request(
      this.subjects.masterRegister(),
      encode({ type: "agent.register", hostname, resources, attributes }),
      { timeout: WAIT_MS },
    );
    const registered = decodeReply(reply.data, ["agent.registered"]);
    this.listen(registered.agentId);
    await this.nc.flush();
    this.heartbeat();
    return registered;
  }

  /** Subscribes to `agent.<id>` (once). */
  listen(agentId: string): void {
    this.agentId = agentId;
    if (this.#sub !== undefined) return;
    this.#sub = this.nc.subscribe(this.subjects.agent(agentId), {
      callback: (err, m) => {
        if (!err) for (const msg of unbatch(m.data)) this.inbox.push(msg);
      },
    });
  }

  /** Sends `agent.reregister` as a request; throws the error reply. */
  async reregister(
    resources: ResourcesJson,
    tasks: MessageOf<"agent.reregister">["tasks"] = [],
    hostname = "host-1",
  ): Promise<MessageOf<"agent.registered">> {
    const reply = await this.nc.request(
      this.subjects.masterAgent(this.agentId),
      encode({
        type: "agent.reregister",
        agentId: this.agentId,
        hostname,
        resources,
        attributes: {},
        tasks,
      }),
      { timeout: WAIT_MS },
    );
    return decodeReply(reply.data, ["agent.registered"]);
  }

  heartbeat(): void {
    this.send({ type: "agent.heartbeat" });
  }

  /** Heartbeats every `ms` until {@link stopHeartbeats}. */
  startHeartbeats(ms: number): void {
    this.stopHeartbeats();
    this.#heartbeat = setInterval(() => this.heartbeat(), ms);
  }

  stopHeartbeats(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  /** Publishes on `master.agent.<its id>`. */
  send(msg: Message): void {
    this.nc.publish(this.subjects.masterAgent(this.agentId), encode(msg));
  }

  /** Publishes a status update as the agent would (with a uuid unless `uuid` is null). */
  update(
    frameworkId: string,
    taskId: string,
    state: TaskStatus["state"],
    uuid: string | null,
  ): void {
    const status: TaskStatus = {
      taskId,
      state,
      agentId: this.agentId,
      source: "SOURCE_EXECUTOR",
      timestamp: Date.now(),
    };
    if (uuid !== null) status.uuid = uuid;
    this.send({ type: "agent.update", frameworkId, status });
  }

  async close(): Promise<void> {
    this.stopHeartbeats();
    await closeGracefully(this.nc);
  }
}

/** A protocol-level scheduler: a plain NATS client. */
export class FakeScheduler {
  readonly inbox = new Inbox();
  frameworkId = "";
  #sub: Subscription | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  private constructor(
    readonly nc: NatsConnection,
    readonly subjects: Subjects,
  ) {}

  static async connect(url: string, subjects: Subjects): Promise<FakeScheduler> {
    return new FakeScheduler(await connect({ servers: url, name: "fake-scheduler" }), subjects);
  }

  /**
   * Subscribes (request), listens on its event subject, then heartbeats (at
   * once and every 50 ms, like a driver): the master offers to a framework once
   * it has heard from it after subscribing.
   */
  async subscribe(
    framework: Partial<FrameworkInfo> = {},
    suppressedRoles?: string[],
  ): Promise<MessageOf<"event.subscribed">> {
    if (framework.frameworkId !== undefined) this.listen(framework.frameworkId);
    const reply = await this.nc.request(
      this.subjects.masterSubscribe(DEFAULT_PRINCIPAL),
      encode({
        type: "scheduler.subscribe",
        framework: { name: "test-fw", ...framework },
        suppressedRoles,
      }),
      { timeout: WAIT_MS },
    );
    const subscribed = decodeReply(reply.data, ["event.subscribed"]);
    this.listen(subscribed.frameworkId);
    await this.nc.flush();
    this.call({ type: "scheduler.heartbeat" });
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => this.call({ type: "scheduler.heartbeat" }), 50);
    return subscribed;
  }

  listen(frameworkId: string): void {
    this.frameworkId = frameworkId;
    if (this.#sub !== undefined) return;
    this.#sub = this.nc.subscribe(this.subjects.framework(DEFAULT_PRINCIPAL, frameworkId), {
      callback: (err, m) => {
        if (!err) for (const msg of unbatch(m.data)) this.inbox.push(msg);
      },
    });
  }

  /** Publishes a call on `master.framework.<its id>`. */
  call(msg: Message): void {
    this.nc.publish(
      this.subjects.masterFramework(DEFAULT_PRINCIPAL, this.frameworkId),
      encode(msg),
    );
  }

  /** Sends a call as a request; resolves on `ok`, throws the error reply. */
  async request(msg: Message): Promise<void> {
    const reply = await this.nc.request(
      this.subjects.masterFramework(DEFAULT_PRINCIPAL, this.frameworkId),
      encode(msg),
      {
        timeout: WAIT_MS,
      },
    );
    decodeReply(reply.data, ["ok"]);
  }

  /** The next `event.offers` after `from` messages (default: any). */
  async offers(from = 0): Promise<MessageOf<"event.offers">> {
    return (await this.inbox.waitFor(
      is("event.offers"),
      "event.offers",
      WAIT_MS,
      from,
    )) as MessageOf<"event.offers">;
  }

  /** The first `event.update` for the task in `state`. */
  async update(taskId: string, state: TaskStatus["state"]): Promise<TaskStatus> {
    const m = await this.inbox.waitFor(
      (m) => m.type === "event.update" && m.status.taskId === taskId && m.status.state === state,
      `${state} of ${taskId}`,
    );
    return (m as MessageOf<"event.update">).status;
  }

  /** Accepts an offer launching `tasks` (publish). */
  launch(offerIds: string[], tasks: TaskInfo[], refuseSeconds?: number): void {
    this.call({
      type: "scheduler.accept",
      offerIds,
      operations: [{ type: "launch", tasks }],
      filters: refuseSeconds === undefined ? undefined : { refuseSeconds },
    });
  }

  /** Stops the periodic heartbeats (the master will disconnect the framework). */
  stopHeartbeats(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  async close(): Promise<void> {
    this.stopHeartbeats();
    await closeGracefully(this.nc);
  }
}

/** Records the cluster event stream. */
export class EventRecorder {
  readonly inbox = new Inbox();

  private constructor(readonly nc: NatsConnection) {}

  static async start(url: string, subjects: Subjects): Promise<EventRecorder> {
    const nc = await connect({ servers: url, name: "event-recorder" });
    const recorder = new EventRecorder(nc);
    nc.subscribe(subjects.eventsAll(), {
      callback: (err, m) => {
        if (!err) for (const msg of unbatch(m.data)) recorder.inbox.push(msg);
      },
    });
    await nc.flush();
    return recorder;
  }

  async close(): Promise<void> {
    await closeGracefully(this.nc);
  }
}

/** A command task for an offer. */
export function commandTask(
  taskId: string,
  agentId: string,
  resources: ResourcesJson,
  extra: Partial<TaskInfo> = {},
): TaskInfo {
  return { taskId, name: taskId, agentId, resources, command: { value: "true" }, ...extra };
}

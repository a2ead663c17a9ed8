/**
 * Scripted agents and frameworks for `agora simulate`. They talk to the
 * master core through the same routing functions the NATS handlers use
 * (`handleAgentMessage`, `handleSubscribe`, `handleFrameworkCall`), so that a
 * simulation exercises the master's real allocation, offer, accept and task
 * code; they only stand in for the processes on the other side.
 */
import {
  type AgentMessage,
  type FrameworkCall,
  handleAgentMessage,
  handleFrameworkCall,
  handleSubscribe,
  type MasterContext,
} from "../actors/master/embedded.ts";
import type { Clock, Timer } from "../infra/clock.ts";
import {
  isTerminalState,
  type Offer,
  type ResourcesJson,
  type TaskInfo,
  TaskState,
} from "../protocol/common.ts";
import type { Message } from "../protocol/registry.ts";
import { Resources, UNRESERVED_ROLE } from "../protocol/resources.ts";
import type { AgentPlan, Behaviour, FrameworkPlan } from "./scenario.ts";

/** One line of the simulation's output (besides the summary). */
export interface SimEvent {
  t: number;
  /** `preempt`: a task of `framework` killed to make room for a demand (its resources). */
  event: "offer" | "launch" | "decline" | "rescind" | "return" | "preempt";
  framework: string;
  role: string;
  agent: string;
  resources: ResourcesJson;
  /** The gang an `offer` or `launch` belongs to (`requestGang`). */
  gang?: string;
}

/** A gang of `framework` timed out (`event.gangTimedOut`): it released what it held. */
export interface SimGangTimeout {
  t: number;
  event: "gangTimeout";
  framework: string;
  gang: string;
  reason: string;
}

/** What the scripted parties share. */
export interface SimWorld {
  readonly ctx: MasterContext;
  readonly clock: Clock;
  emit(event: Omit<SimEvent, "t">): void;
  emitGangTimeout(event: Omit<SimGangTimeout, "t">): void;
}

/** A task a scripted agent runs. */
export interface SimTask {
  readonly taskId: string;
  readonly frameworkId: string;
  readonly role: string;
  readonly resources: Resources;
}

/**
 * Takes one task of `shape` (unreserved quantities) out of `available`,
 * using reserved resources of a name before unreserved ones; undefined when
 * it does not fit.
 */
function takeTask(available: Resources, shape: Resources): Resources | undefined {
  const json: Record<string, number> = {};
  // reserved (static or dynamic) before unreserved; never a persistent volume
  const entries = available.entries().filter((e) => e.scalar !== undefined && !e.persistence);
  const ordered = [
    ...entries.filter((e) => e.role !== UNRESERVED_ROLE),
    ...entries.filter((e) => e.role === UNRESERVED_ROLE),
  ];
  for (const name of shape.names()) {
    let need = Math.round(shape.scalar(name) * 1000);
    for (const e of ordered) {
      if (need <= 0) break;
      if (e.name !== name) continue;
      const use = Math.min(Math.round(e.scalar! * 1000), need);
      if (use <= 0) continue;
      json[e.key] = use / 1000;
      need -= use;
    }
    if (need > 0) return undefined;
  }
  return Resources.fromJSON(json);
}

/** A scripted agent: registers under its own id, heartbeats, runs and ends tasks. */
export class SimAgent {
  readonly id: string;
  readonly tasks = new Map<string, SimTask>();
  readonly #world: SimWorld;
  #heartbeat: Timer | undefined;
  #updates = 0;

  constructor(world: SimWorld, plan: AgentPlan) {
    this.#world = world;
    this.id = plan.id;
    const reply = this.#send(
      {
        type: "agent.reregister",
        agentId: plan.id,
        hostname: plan.id,
        resources: plan.resources.toJSON(),
        attributes: plan.attributes,
        tasks: [],
      },
      true,
    );
    const interval =
      reply?.type === "agent.registered"
        ? reply.heartbeatIntervalSeconds * 1000
        : world.ctx.config.agentPingTimeout;
    this.#send({ type: "agent.heartbeat" });
    this.#heartbeat = world.clock.every(interval, () => this.#send({ type: "agent.heartbeat" }));
  }

  #send(msg: AgentMessage, isRequest = false): Message | undefined {
    return handleAgentMessage(this.#world.ctx, this.id, msg, isRequest);
  }

  /** Stops heartbeating (the agent is gone). */
  stop(): void {
    this.#heartbeat?.cancel();
    this.#heartbeat = undefined;
  }

  /** A message from the master. */
  receive(msg: Message): void {
    switch (msg.type) {
      case "agent.runTask":
        for (const info of msg.tasks) {
          this.tasks.set(`${msg.framework.frameworkId}\u0000${info.taskId}`, {
            taskId: info.taskId,
            frameworkId: msg.framework.frameworkId,
            role: msg.framework.role,
            resources: Resources.fromJSON(info.resources),
          });
          this.#update(msg.framework.frameworkId, info.taskId, TaskState.Running);
        }
        return;
      case "agent.killTask":
        this.end(msg.frameworkId, msg.taskId, TaskState.Killed);
        return;
      case "agent.shutdownFramework":
        for (const [key, task] of this.tasks) {
          if (task.frameworkId === msg.frameworkId) this.tasks.delete(key);
        }
        return;
      case "agent.shutdown":
        this.tasks.clear();
        this.stop();
        return;
      default:
        return;
    }
  }

  /** Ends a task with a terminal state (sent as a status update). */
  end(frameworkId: string, taskId: string, state: TaskState): void {
    const key = `${frameworkId}\u0000${taskId}`;
    if (!this.tasks.delete(key)) return;
    this.#update(frameworkId, taskId, state);
  }

  /** The tasks of a framework here, oldest first. */
  tasksOf(frameworkId: string): SimTask[] {
    return Array.from(this.tasks.values()).filter((t) => t.frameworkId === frameworkId);
  }

  #update(frameworkId: string, taskId: string, state: TaskState): void {
    this.#updates += 1;
    this.#send({
      type: "agent.update",
      frameworkId,
      status: {
        taskId,
        state,
        agentId: this.id,
        source: "SOURCE_EXECUTOR",
        uuid: `${this.id}-${this.#updates}`,
        timestamp: this.#world.clock.now(),
      },
    });
  }
}

/** A scripted framework: subscribes under its own id and answers offers by its behaviour. */
export class SimFramework {
  readonly id: string;
  readonly roles: string[];
  readonly behaviour: Behaviour;
  /** Tasks launched so far. */
  launched = 0;
  /** Outstanding offers (held), by id. */
  readonly offers = new Map<string, Offer>();
  /** Each requested gang's member shape. */
  readonly #gangs = new Map<string, Resources>();
  readonly #world: SimWorld;

  constructor(world: SimWorld, plan: FrameworkPlan) {
    this.#world = world;
    this.id = plan.id;
    this.roles = plan.roles;
    this.behaviour = plan.behaviour;
    handleSubscribe(
      world.ctx,
      {
        type: "scheduler.subscribe",
        framework: {
          frameworkId: plan.id,
          name: plan.id,
          roles: plan.roles,
          ...(plan.priority === undefined ? {} : { priority: plan.priority }),
        },
      },
      true,
    );
    this.call({ type: "scheduler.heartbeat" });
  }

  /** A scheduler call, as a request: errors are thrown. */
  call(call: FrameworkCall): void {
    handleFrameworkCall(this.#world.ctx, this.id, call, true);
  }

  /** An event from the master. */
  receive(msg: Message): void {
    switch (msg.type) {
      case "event.offers":
        if (msg.gangId !== undefined) {
          this.#answerGang(msg.gangId, msg.offers);
          return;
        }
        for (const offer of msg.offers) {
          this.offers.set(offer.offerId, offer);
          this.#emit("offer", offer, offer.resources);
        }
        for (const offer of msg.offers) this.#answer(offer);
        return;
      case "event.rescind": {
        const offer = this.offers.get(msg.offerId);
        if (offer === undefined) return;
        this.offers.delete(msg.offerId);
        this.#emit("rescind", offer, offer.resources);
        return;
      }
      case "event.update": {
        const { status } = msg;
        if (status.uuid !== undefined && status.agentId !== undefined) {
          this.call({
            type: "scheduler.acknowledge",
            agentId: status.agentId,
            taskId: status.taskId,
            uuid: status.uuid,
          });
        }
        return;
      }
      case "event.heartbeat":
        this.call({ type: "scheduler.heartbeat" });
        return;
      case "event.gangTimedOut":
        this.#gangs.delete(msg.gangId);
        this.#world.emitGangTimeout({
          event: "gangTimeout",
          framework: this.id,
          gang: msg.gangId,
          reason: msg.reason,
        });
        return;
      default:
        return;
    }
  }

  #emit(event: SimEvent["event"], offer: Offer, resources: ResourcesJson, gang?: string): void {
    this.#world.emit({
      event,
      framework: this.id,
      role: offer.role,
      agent: offer.agentId,
      resources,
      ...(gang === undefined ? {} : { gang }),
    });
  }

  /** Declares a gang of `members` tasks of `resources` (`scheduler.requestGang`). */
  requestGang(step: {
    gang: string;
    role: string | undefined;
    members: number;
    resources: Resources;
    spread: boolean;
    timeout: number;
  }): void {
    this.#gangs.set(step.gang, step.resources);
    this.call({
      type: "scheduler.requestGang",
      gangId: step.gang,
      ...(step.role === undefined ? {} : { role: step.role }),
      members: Array.from({ length: step.members }, () => ({ resources: step.resources.toJSON() })),
      spread: step.spread,
      timeoutSeconds: step.timeout / 1000,
    });
  }

  /** A gang's whole set: one task per member, launched all at once (`scheduler.acceptGang`). */
  #answerGang(gangId: string, offers: readonly Offer[]): void {
    const shape = this.#gangs.get(gangId);
    this.#gangs.delete(gangId);
    for (const offer of offers) this.#emit("offer", offer, offer.resources, gangId);
    const tasks: TaskInfo[] = [];
    for (const offer of offers) {
      let rest = Resources.fromJSON(offer.resources);
      for (;;) {
        const taken = shape === undefined ? undefined : takeTask(rest, shape);
        if (taken === undefined) break;
        const task = this.#task(offer, taken);
        tasks.push(task);
        this.#emit("launch", offer, task.resources, gangId);
        rest = rest.subtract(taken);
      }
    }
    this.call({ type: "scheduler.acceptGang", gangId, tasks });
  }

  #task(offer: Offer, resources: Resources): TaskInfo {
    this.launched += 1;
    const taskId = `${this.id}-${this.launched}`;
    return {
      taskId,
      name: taskId,
      agentId: offer.agentId,
      resources: resources.toJSON(),
      command: { value: "true" },
    };
  }

  /**
   * Answers one offer at once, by the behaviour: `accept: "all"` keeps it
   * whole (holds it, launching nothing), `accept: "none"` declines it, a task
   * shape launches as many tasks as fit (up to `tasksPerOffer` and
   * `maxTasks`) and declines the rest.
   */
  #answer(offer: Offer): void {
    const b = this.behaviour;
    if (b.kind === "acceptAll") return;
    this.offers.delete(offer.offerId);
    const offered = Resources.fromJSON(offer.resources);
    if (b.kind === "acceptNone") {
      this.#decline(offer, offered, b.refuseSeconds);
      return;
    }
    const tasks: TaskInfo[] = [];
    let rest = offered;
    const cap = Math.min(
      b.tasksPerOffer ?? Number.POSITIVE_INFINITY,
      b.maxTasks === undefined ? Number.POSITIVE_INFINITY : b.maxTasks - this.launched,
    );
    while (tasks.length < cap) {
      const taken = takeTask(rest, b.task);
      if (taken === undefined) break;
      tasks.push(this.#task(offer, taken));
      rest = rest.subtract(taken);
    }
    if (tasks.length === 0) {
      this.#decline(offer, offered, b.refuseSeconds);
      return;
    }
    for (const task of tasks) this.#emit("launch", offer, task.resources);
    if (!rest.isEmpty()) this.#emit("decline", offer, rest.toJSON());
    this.call({
      type: "scheduler.accept",
      offerIds: [offer.offerId],
      operations: [{ type: "launch", tasks }],
      ...(b.refuseSeconds === undefined ? {} : { filters: { refuseSeconds: b.refuseSeconds } }),
    });
  }

  /**
   * Gives back the offers it holds (on one agent, or all): declined under a
   * filter of `refuseSeconds` (reported as `decline`), or without a filter
   * when `refuseSeconds` is 0 and `event` is `return`.
   */
  releaseHeld(agentId: string | undefined, event: "decline" | "return", refuse?: number): void {
    const held = Array.from(this.offers.values()).filter(
      (o) => agentId === undefined || o.agentId === agentId,
    );
    if (held.length === 0) return;
    for (const offer of held) {
      this.offers.delete(offer.offerId);
      this.#emit(event, offer, offer.resources);
    }
    this.call({
      type: "scheduler.decline",
      offerIds: held.map((o) => o.offerId),
      ...(refuse === undefined ? {} : { filters: { refuseSeconds: refuse } }),
    });
  }

  #decline(offer: Offer, resources: Resources, refuseSeconds: number | undefined): void {
    this.#emit("decline", offer, resources.toJSON());
    this.call({
      type: "scheduler.decline",
      offerIds: [offer.offerId],
      ...(refuseSeconds === undefined ? {} : { filters: { refuseSeconds } }),
    });
  }
}

/** Whether a status update moves a task out of the resource-holding states. */
export function endsTask(state: TaskState, previous: TaskState | undefined): boolean {
  return (
    isTerminalState(state) &&
    previous !== undefined &&
    !isTerminalState(previous) &&
    previous !== TaskState.Unreachable
  );
}

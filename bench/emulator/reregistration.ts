/**
 * Reregistration of emulated agents that have an id, as a real agent does
 * after a master failover (protocol/README.md, `agent.reregister`): on
 * `agent.reregisterRequest`, or a heartbeat answered NOT_FOUND /
 * INVALID_STATE / by nobody (NATS's "no responders"), the agent stops
 * heartbeating and sending status updates, keeps its tasks running, and
 * sends `agent.reregister` with every task it runs on `master.agent.<id>`.
 *
 * 50,000 agents must not all send in one event-loop turn: each waits a
 * uniform draw in [0, `reregistrationDelayMs`) first (Mesos's agents wait up
 * to `registration_backoff_factor`), then due agents queue, and each tick of
 * the emulator's wheel starts at most `reregistrationBatch` requests with at
 * most `reregistrationConcurrency` in flight. A failed attempt is retried
 * after a jittered, capped, doubling backoff; an `agent.reregisterRequest`
 * (the master is there) cuts a pending backoff short. A refusal (the master
 * removed the agent) drops its tasks and registers it anew without its id.
 */
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { Message } from "../../protocol/registry.ts";
import { type EmulatedAgent, EmulatedAgentState, type EmulatorContext } from "./model.ts";
import { registerAgent, registered, request } from "./registration.ts";
import { dropTasks, runningTasks } from "./tasks.ts";

/** The reregistration queue of one emulator. */
export class Reregistrations {
  readonly #ctx: EmulatorContext;
  readonly #random: () => number;
  /** Agents due, in order; entries before `#head` are done. */
  #ready: EmulatedAgent[] = [];
  #head = 0;
  #inFlight = 0;

  constructor(ctx: EmulatorContext, random: () => number) {
    this.#ctx = ctx;
    this.#random = random;
  }

  /** Requests in flight now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Queues a reregistration of `agent` (see {@link EmulatorContext.reregister}). */
  request(agent: EmulatedAgent, urgent: boolean): void {
    const ctx = this.#ctx;
    if (ctx.stopped || agent.id === undefined || agent.reregisterInFlight) return;
    const now = ctx.clock.now();
    const at = now + this.#random() * ctx.settings.reregistrationDelayMs;
    if (agent.state === EmulatedAgentState.Registered) {
      agent.state = EmulatedAgentState.Reregistering;
      agent.reregisterAttempt = 0;
      ctx.metrics.inc("reregistrations_started");
    } else if (agent.state === EmulatedAgentState.Reregistering) {
      // waiting: only the master's own request shortens a backoff
      if (!urgent || agent.reregisterAt <= at) return;
      agent.reregisterAttempt = 0;
    } else {
      // unregistered, registering for the first time, or shut down
      return;
    }
    agent.reregisterAt = at;
    ctx.reregistrations.schedule(at, agent);
  }

  /** Wheel tick: queues the agents now due and starts one batch. */
  tick(now: number): void {
    this.#ctx.reregistrations.drain(now, (agent) => {
      if (agent.reregisterAt <= now && !agent.reregisterInFlight) this.#ready.push(agent);
    });
    this.#start(this.#ctx.settings.reregistrationBatch, now);
  }

  /** Forgets every queued agent. */
  clear(): void {
    this.#ready = [];
    this.#head = 0;
    this.#ctx.reregistrations.clear();
  }

  #start(max: number, now: number): void {
    const { settings } = this.#ctx;
    let started = 0;
    while (
      started < max &&
      this.#inFlight < settings.reregistrationConcurrency &&
      this.#head < this.#ready.length
    ) {
      const agent = this.#ready[this.#head++]!;
      // a stale entry: started already, rescheduled, registered anew, or shut down
      if (
        agent.state !== EmulatedAgentState.Reregistering ||
        agent.reregisterInFlight ||
        agent.reregisterAt > now
      ) {
        continue;
      }
      started++;
      this.#inFlight++;
      agent.reregisterInFlight = true;
      agent.reregisterAt = Number.POSITIVE_INFINITY;
      this.#attempt(agent).finally(() => {
        agent.reregisterInFlight = false;
        this.#inFlight--;
        // one finished, one more may start (never a burst outside the tick)
        if (!this.#ctx.stopped) this.#start(1, this.#ctx.clock.now());
      });
    }
    if (this.#head > 1024 && this.#head * 2 > this.#ready.length) {
      this.#ready = this.#ready.slice(this.#head);
      this.#head = 0;
    }
  }

  async #attempt(agent: EmulatedAgent): Promise<void> {
    const ctx = this.#ctx;
    const agentId = agent.id;
    if (agentId === undefined) return;
    const msg: Message = {
      type: "agent.reregister",
      agentId,
      hostname: agent.hostname,
      resources: ctx.settings.resources,
      attributes: agent.attributes,
      tasks: runningTasks(agent),
    };
    try {
      const reply = await request(
        agent.nc,
        ctx.subjects.masterAgent(agentId, ctx.settings.principal),
        msg,
        ctx.settings.requestTimeoutMs,
      );
      if (ctx.stopped || agent.state !== EmulatedAgentState.Reregistering) return;
      ctx.metrics.inc("reregistrations");
      registered(ctx, agent, reply, this.#random);
    } catch (err) {
      if (ctx.stopped || agent.state !== EmulatedAgentState.Reregistering) return;
      const error = AgoraError.from(err);
      ctx.metrics.inc("reregistration_failures");
      if (!error.retryable && error.code !== ErrorCode.Internal) {
        ctx.logger.debug({ agentId, code: error.code }, "reregistration refused");
        ctx.metrics.inc("reregistrations_refused");
        dropTasks(ctx, agent);
        ctx.byId.delete(agentId);
        agent.id = undefined;
        agent.masterSubject = undefined;
        agent.masterId = undefined;
        agent.state = EmulatedAgentState.Unregistered;
        void registerAgent(ctx, agent, this.#random);
        return;
      }
      const { reregistrationBackoffMs, reregistrationBackoffMaxMs } = ctx.settings;
      const ceiling = Math.min(
        reregistrationBackoffMaxMs,
        reregistrationBackoffMs * 2 ** Math.min(agent.reregisterAttempt, 30),
      );
      agent.reregisterAttempt++;
      agent.reregisterAt = ctx.clock.now() + ceiling / 2 + this.#random() * (ceiling / 2);
      ctx.reregistrations.schedule(agent.reregisterAt, agent);
    }
  }
}

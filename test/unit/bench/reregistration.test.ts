/**
 * The agent emulator's reregistration queue on a virtual clock, with a
 * recording stand-in for the NATS connection (no broker): how many requests
 * start per tick and stay in flight, the backoff after a failure, and the
 * master's own request cutting that backoff short.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import test from "ava";
import type { EmulatedAgent, EmulatorContext } from "../../../bench/emulator/model.ts";
import { EmulatedAgentState } from "../../../bench/emulator/model.ts";
import { Reregistrations } from "../../../bench/emulator/reregistration.ts";
import { type AgentEmulatorOptions, settingsOf } from "../../../bench/emulator/settings.ts";
import { TickWheel } from "../../../bench/emulator/wheel.ts";
import { Batcher } from "../../../infra/batch.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { decode, encode } from "../../../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { Subjects } from "../../../protocol/subjects.ts";

const TICK = 20;

interface Pending {
  subject: string;
  agentId: string;
  resolve(): void;
  reject(err: unknown): void;
}

/** A connection that records requests and lets the test answer them. */
function recordingConnection(pending: Pending[]): NatsConnection {
  const nc = {
    request(subject: string, data: Uint8Array) {
      const msg = decode(data);
      const agentId = msg.type === "agent.reregister" ? msg.agentId : "";
      return new Promise((resolve, reject) => {
        pending.push({
          subject,
          agentId,
          resolve: () =>
            resolve({
              data: encode({
                type: "agent.registered",
                agentId,
                masterId: "second",
                heartbeatIntervalSeconds: 15,
              }),
            }),
          reject,
        });
      });
    },
    publish() {},
    isClosed: () => false,
  };
  return nc as unknown as NatsConnection;
}

function setup(count: number, overrides: Partial<AgentEmulatorOptions>) {
  const subjects = new Subjects("unit");
  const clock = new VirtualClock(1_000_000);
  const pending: Pending[] = [];
  const nc = recordingConnection(pending);
  const metrics = new Metrics();
  const settings = settingsOf({
    subjects,
    count,
    principal: "emu",
    reregistrationDelayMs: 0,
    reregistrationBackoffMs: 1000,
    reregistrationBackoffMaxMs: 4000,
    tickMs: TICK,
    ...overrides,
  });
  const logger = silentLogger();
  const batcher = new Batcher(nc, { logger, metrics });
  const now = clock.now();
  const agents: EmulatedAgent[] = Array.from({ length: count }, (_, index) => ({
    index,
    hostname: `emu-${index}`,
    attributes: {},
    nc,
    batcher,
    heartbeatInbox: `inbox.${index}`,
    state: EmulatedAgentState.Registered,
    id: `agent${index}`,
    masterSubject: subjects.masterAgent(`agent${index}`, "emu"),
    masterId: "first",
    reregisterAt: Number.POSITIVE_INFINITY,
    reregisterAttempt: 0,
    reregisterInFlight: false,
    heartbeatIntervalMs: 15_000,
    nextHeartbeatAt: Number.POSITIVE_INFINITY,
    tasks: new Map(),
  }));
  let queue: Reregistrations | undefined;
  const ctx: EmulatorContext = {
    subjects,
    clock,
    logger,
    metrics,
    settings,
    agents,
    byId: new Map(agents.map((a) => [a.id!, a])),
    heartbeats: new TickWheel(TICK, now),
    retries: new TickWheel(TICK, now),
    finishes: new TickWheel(TICK, now),
    reregistrations: new TickWheel(TICK, now),
    registrationLatencies: [],
    activeTasks: 0,
    stopped: false,
    sleep: () => Promise.resolve(),
    reregister: (agent, urgent) => queue?.request(agent, urgent),
  };
  queue = new Reregistrations(ctx, () => 0.5);
  const rr = queue;
  const tick = () => {
    clock.advance(TICK);
    rr.tick(clock.now());
  };
  return { ctx, clock, pending, agents, rr, tick };
}

/** Lets the promise callbacks of answered requests run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test("emulator reregistration - a batch per tick, a bounded window in flight, one more per reply", async (t) => {
  const { pending, agents, rr, tick } = setup(100, {
    reregistrationConcurrency: 15,
    reregistrationBatch: 10,
  });
  for (const agent of agents) rr.request(agent, false);
  t.is(pending.length, 0, "nothing is sent before the wheel ticks");
  t.true(agents.every((a) => a.state === EmulatedAgentState.Reregistering));
  tick();
  t.is(pending.length, 10, "one batch in the first tick");
  tick();
  t.is(pending.length, 15, "then only up to the window");
  tick();
  t.is(pending.length, 15);
  t.true(pending.every((p) => p.subject.endsWith(`.master.agent.emu.${p.agentId}`)));

  pending[0]!.resolve();
  pending[1]!.resolve();
  await settle();
  t.is(pending.length, 17, "each reply lets one more start");
  t.is(rr.inFlight, 15);
  const back = agents.filter((a) => a.state === EmulatedAgentState.Registered);
  t.deepEqual(
    back.map((a) => [a.id, a.masterId]),
    [
      [pending[0]!.agentId, "second"],
      [pending[1]!.agentId, "second"],
    ],
  );
});

test("emulator reregistration - a failure backs off, and the master's request cuts the backoff short", async (t) => {
  const { pending, agents, rr, tick, clock } = setup(1, {});
  const agent = agents[0]!;
  rr.request(agent, false);
  tick();
  t.is(pending.length, 1);
  pending[0]!.reject(new AgoraError(ErrorCode.Unavailable, "nobody listens"));
  await settle();
  t.is(agent.state, EmulatedAgentState.Reregistering);
  // drawn in the upper half of the first backoff (1 s): 750 ms with the draw 0.5
  t.is(agent.reregisterAt - clock.now(), 750);
  tick();
  t.is(pending.length, 1, "no attempt during the backoff");
  rr.request(agent, false);
  tick();
  t.is(pending.length, 1, "a heartbeat answered by nobody does not shorten it");
  rr.request(agent, true);
  tick();
  t.is(pending.length, 2, "agent.reregisterRequest: at once");
  pending[1]!.resolve();
  await settle();
  t.is(agent.state, EmulatedAgentState.Registered);
  t.is(agent.masterId, "second");
  t.is(agent.reregisterAttempt, 0);
});

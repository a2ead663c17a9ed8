import { type NatsConnection, NoRespondersError, RequestError } from "@nats-io/nats-core";
import test from "ava";
import type { AgentCheckpoint, AgentCheckpointStore } from "../../../actors/agent/checkpoint.ts";
import { Registrar } from "../../../actors/agent/registration.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { decode, encode } from "../../../protocol/codec.ts";
import type { Message } from "../../../protocol/registry.ts";
import { Subjects } from "../../../protocol/subjects.ts";

/** A NATS connection whose requests are answered by `answer` (undefined: no responders). */
function fakeNats(clock: VirtualClock, answer: (msg: Message) => Message | undefined) {
  const requests: Array<{ at: number; subject: string; msg: Message }> = [];
  const nc = {
    async request(subject: string, data: Uint8Array) {
      const msg = decode(data);
      requests.push({ at: clock.now(), subject, msg });
      const reply = answer(msg);
      if (reply === undefined) {
        throw new RequestError("no responders", { cause: new NoRespondersError(subject) });
      }
      return { data: encode(reply) };
    },
  } as unknown as NatsConnection;
  return { nc, requests };
}

function memoryStore(
  initial?: AgentCheckpoint,
): AgentCheckpointStore & { saved?: AgentCheckpoint } {
  const store: AgentCheckpointStore & { saved?: AgentCheckpoint } = {
    saved: initial,
    loadAgent: async () => store.saved,
    saveAgent: async (c) => {
      store.saved = c;
    },
    clearAgent: async () => {
      store.saved = undefined;
    },
  };
  return store;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

async function advance(clock: VirtualClock, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await flush();
    const next = clock.nextAt();
    if (next === undefined) return;
    clock.advanceTo(next);
    await flush();
  }
}

function registrar(
  clock: VirtualClock,
  nc: NatsConnection,
  store: AgentCheckpointStore,
  random: () => number,
) {
  const events: string[] = [];
  const r = new Registrar({
    nc,
    subjects: new Subjects("agora"),
    principal: "default",
    clock,
    logger: silentLogger(),
    metrics: new Metrics(),
    store,
    info: { hostname: "h", resources: { cpus: 1 }, attributes: {} },
    backoffMs: 1000,
    backoffMaxMs: 8000,
    requestTimeoutMs: 1000,
    runningTasks: () => [],
    onRegistered: async (id, changed) => {
      events.push(`registered ${id} ${changed}`);
    },
    onDisconnected: () => events.push("disconnected"),
    onRefused: async (id) => {
      events.push(`refused ${id}`);
    },
    random,
  });
  return { r, events };
}

test("registration - retries back off exponentially with jitter, capped", async (t) => {
  const clock = new VirtualClock(0);
  const { nc, requests } = fakeNats(clock, () => undefined);
  const { r } = registrar(clock, nc, memoryStore(), () => 0.5);
  await r.start();
  await advance(clock, 7);
  const gaps = requests.slice(1, 7).map((req, i) => req.at - requests[i]!.at);
  // A draw in the upper half of 1 s · 2^n, capped at 8 s; 0.5 lands at three quarters.
  t.deepEqual(gaps, [750, 1500, 3000, 6000, 6000, 6000]);
  await r.stop();
});

test("registration - a registered agent that loses the master reregisters with its id", async (t) => {
  const clock = new VirtualClock(0);
  let masterUp = true;
  const { nc, requests } = fakeNats(clock, (msg) => {
    if (!masterUp) return undefined;
    if (msg.type === "agent.heartbeat") return { type: "ok" };
    return { type: "agent.registered", agentId: "a-1", masterId: "m", heartbeatIntervalSeconds: 1 };
  });
  const store = memoryStore();
  const { r, events } = registrar(clock, nc, store, () => 0.5);
  await r.start();
  await advance(clock, 3);
  t.is(r.state, "registered");
  t.is(store.saved?.agentId, "a-1");
  t.true(requests.some((q) => q.msg.type === "agent.heartbeat"));
  masterUp = false;
  await advance(clock, 4);
  t.is(r.state, "registering");
  masterUp = true;
  await advance(clock, 6);
  t.is(r.state, "registered");
  const reregister = requests.find((q) => q.msg.type === "agent.reregister");
  t.is(reregister?.msg.type === "agent.reregister" ? reregister.msg.agentId : undefined, "a-1");
  t.deepEqual(events, ["registered a-1 true", "disconnected", "registered a-1 false"]);
  await r.stop();
});

test("registration - a refused reregistration forgets the id and registers anew", async (t) => {
  const clock = new VirtualClock(0);
  const { nc, requests } = fakeNats(clock, (msg) =>
    msg.type === "agent.reregister"
      ? { type: "error", code: "NOT_FOUND", message: "unknown agent", retryable: false }
      : { type: "agent.registered", agentId: "a-2", masterId: "m", heartbeatIntervalSeconds: 60 },
  );
  const store = memoryStore({ agentId: "a-1", hostname: "h", registeredAt: 0 });
  const { r, events } = registrar(clock, nc, store, () => 0.5);
  await r.start();
  await advance(clock, 3);
  t.deepEqual(
    requests.map((q) => q.msg.type).filter((type) => type !== "agent.heartbeat"),
    ["agent.reregister", "agent.register"],
  );
  t.deepEqual(events, ["refused a-1", "registered a-2 true"]);
  t.is(store.saved?.agentId, "a-2");
  await r.stop();
});

import { type NatsConnection, NoRespondersError, RequestError } from "@nats-io/nats-core";
import test from "ava";
import { ExecutorDriver } from "../../../actors/executor/driver.ts";
import { VirtualClock } from "../../../infra/clock.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { decode, encode } from "../../../protocol/codec.ts";
import type { Message } from "../../../protocol/registry.ts";

type AgentMode = "up" | "absent" | "unknown";

/** A NATS connection with a scripted agent: it answers subscribe and heartbeat by `mode`. */
function fakeNats() {
  const state = { mode: "up" as AgentMode, requests: [] as Message[] };
  let deliver: ((msg: Message) => void) | undefined;
  const nc = {
    subscribe(_subject: string, opts: { callback(err: unknown, m: unknown): void }) {
      deliver = (msg) => opts.callback(null, { subject: "x", data: encode(msg), reply: "" });
      return { unsubscribe() {} };
    },
    async flush() {},
    publish() {},
    isClosed: () => false,
    status: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }) }),
    async request(subject: string, data: Uint8Array) {
      const msg = decode(data) as Message;
      state.requests.push(msg);
      if (state.mode === "absent") {
        throw new RequestError("no responders", { cause: new NoRespondersError(subject) });
      }
      if (msg.type === "executor.subscribe") {
        return {
          data: encode({
            type: "executor.subscribed",
            agentId: "a1",
            frameworkId: "f1",
            executorId: "e1",
          }),
        };
      }
      if (state.mode === "unknown") {
        return {
          data: encode({ type: "error", code: "NOT_FOUND", message: "unknown", retryable: false }),
        };
      }
      return { data: encode({ type: "ok" }) };
    },
  } as unknown as NatsConnection;
  return { nc, state, deliver: (msg: Message) => deliver?.(msg) };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

async function started() {
  const clock = new VirtualClock(0);
  const fake = fakeNats();
  const events: string[] = [];
  const driver = new ExecutorDriver({
    nc: fake.nc,
    clock,
    logger: silentLogger(),
    env: {
      AGORA_NATS_URL: "nats://x",
      AGORA_AGENT_ID: "a1",
      AGORA_FRAMEWORK_ID: "f1",
      AGORA_EXECUTOR_ID: "e1",
      AGORA_RECOVERY_TIMEOUT: "4000ms",
      AGORA_SHUTDOWN_GRACE_PERIOD: "1000ms",
    },
    callbacks: {
      agentLost: (reason) => events.push(`${clock.now()} lost ${reason}`),
      shutdown: (grace) => void events.push(`${clock.now()} shutdown ${grace}`),
    },
    exit: (code) => events.push(`${clock.now()} exit ${code}`),
  });
  await driver.start();
  const advance = async (ms: number) => {
    for (let i = 0; i < ms / 500; i++) {
      clock.advance(500);
      await flush();
    }
  };
  return { clock, driver, events, advance, ...fake };
}

test("executor driver - heartbeats its agent; an agent away past the recovery timeout shuts the executor down and exits", async (t) => {
  const { state, events, advance, driver } = await started();
  await advance(3000);
  // min(5 s, recovery timeout / 4) apart.
  t.is(state.requests.filter((m) => m.type === "executor.heartbeat").length, 3);
  state.mode = "absent";
  await advance(3500);
  t.deepEqual(events, [], "within the recovery timeout it waits");
  await advance(1000);
  t.is(events.length, 2);
  t.regex(events[0] ?? "", /^7000 lost no agent for 4s/);
  t.is(events[1], "7000 shutdown 1");
  await advance(2000);
  // After the grace period and the kill margin the process ends.
  t.is(events[2], "9000 exit 1");
  await driver.stop();
});

test("executor driver - an agent that answers NOT_FOUND shuts the executor down at once", async (t) => {
  const { state, events, advance, driver } = await started();
  state.mode = "unknown";
  await advance(1000);
  t.regex(events[0] ?? "", /^1000 lost the agent does not know this executor/);
  t.is(events[1], "1000 shutdown 1");
  await driver.stop();
});

test("executor driver - executor.reconnect resubscribes with the tasks and unacknowledged updates", async (t) => {
  const { state, deliver, driver } = await started();
  const sent = driver.sendUpdate({ taskId: "t1", state: "TASK_RUNNING" });
  deliver({ type: "executor.reconnect", agentId: "a1" });
  await flush();
  const subscribes = state.requests.filter((m) => m.type === "executor.subscribe");
  t.is(subscribes.length, 2);
  const again = subscribes[1];
  t.deepEqual(
    again?.type === "executor.subscribe" ? again.unacknowledgedUpdates?.map((u) => u.uuid) : [],
    [sent.uuid],
  );
  await driver.stop();
});

/**
 * Malformed and hostile messages on every master subject: requests get an
 * error reply with a stable code, publishes are dropped and counted, and the
 * master keeps serving the next valid message.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import test from "ava";
import { pack } from "msgpackr";
import { decode, decodeReply, encode } from "../../../protocol/codec.ts";
import type { Message } from "../../../protocol/registry.ts";
import { DEFAULT_PRINCIPAL, type Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import {
  commandTask,
  FakeAgent,
  FakeScheduler,
  freshSubjects,
  is,
  startMaster,
  type TestMaster,
  WAIT_MS,
} from "./helpers.ts";

const nats = useNatsServer(test);

const PROTOCOL_CODES = new Set([
  "BAD_MESSAGE",
  "UNKNOWN_TYPE",
  "UNSUPPORTED_VERSION",
  "INVALID_MESSAGE",
  "MESSAGE_TOO_LARGE",
]);

/** A seeded PRNG (mulberry32), so the random payloads are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function randomPayloads(count: number): Uint8Array[] {
  const next = prng(42);
  return Array.from({ length: count }, () => {
    const bytes = new Uint8Array(1 + Math.floor(next() * 200));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
    return bytes;
  });
}

/** Payloads every master subject must refuse at decoding. */
const GARBAGE: Array<[string, Uint8Array]> = [
  ["empty", new Uint8Array(0)],
  ["an invalid msgpack byte", new Uint8Array([0xc1, 0x00, 0x01])],
  ["a truncated map", new Uint8Array([0x82, 0xa1, 0x76])],
  ["an array", pack([1, 2, 3])],
  ["a string", pack("scheduler.accept")],
  ["nil", pack(null)],
  ["no version", pack({ type: "operator.getState" })],
  ["version 2", pack({ v: 2, type: "operator.getState" })],
  ["a string version", pack({ v: "1", type: "operator.getState" })],
  ["a numeric type", pack({ v: 1, type: 42 })],
  ["an unknown type", pack({ v: 1, type: "master.selfDestruct" })],
  ["a nil optional field", pack({ v: 1, type: "scheduler.revive", roles: null })],
  [
    "wrong field types",
    pack({ v: 1, type: "agent.register", hostname: 7, resources: "cpus:4", attributes: [] }),
  ],
  ["a huge text field", pack({ v: 1, type: "scheduler.teardown", reason: "x".repeat(900_000) })],
  [
    "too many items",
    pack({ v: 1, type: "scheduler.decline", offerIds: new Array(10_001).fill("o") }),
  ],
  ...randomPayloads(25).map((p, i): [string, Uint8Array] => [`random bytes #${i}`, p]),
];

async function requestRaw(nc: NatsConnection, subject: string, data: Uint8Array): Promise<Message> {
  const reply = await nc.request(subject, data, { timeout: WAIT_MS });
  return decode(reply.data);
}

async function expectError(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  codes: ReadonlySet<string>,
): Promise<string> {
  const reply = await requestRaw(nc, subject, data);
  if (reply.type !== "error") throw new Error(`expected an error reply, got ${reply.type}`);
  if (!codes.has(reply.code)) throw new Error(`unexpected code ${reply.code}: ${reply.message}`);
  return reply.code;
}

/** A request the master answers: proves it still serves (and that earlier publishes were handled). */
async function stillServing(m: TestMaster, subjects: Subjects): Promise<void> {
  const reply = await m.nc.request(
    subjects.masterOperator(),
    encode({ type: "operator.getState" }),
    {
      timeout: WAIT_MS,
    },
  );
  decodeReply(reply.data, ["operator.state"]);
}

async function setup(t: { teardown(fn: () => Promise<void>): void }) {
  const subjects = freshSubjects();
  const m = await startMaster(nats().url, subjects);
  const agent = await FakeAgent.connect(nats().url, subjects);
  const scheduler = await FakeScheduler.connect(nats().url, subjects);
  const other = await FakeScheduler.connect(nats().url, subjects);
  t.teardown(async () => {
    await Promise.all([agent.close(), scheduler.close(), other.close()]);
    await m.stop();
  });
  const { agentId } = await agent.register({ cpus: 2, mem: 1024 });
  agent.startHeartbeats(50);
  const { frameworkId } = await scheduler.subscribe({ name: "victim" });
  await scheduler.offers(); // the victim holds the agent's only offer before the other arrives
  const { frameworkId: otherId } = await other.subscribe({ name: "other" });
  return { subjects, m, agent, scheduler, other, agentId, frameworkId, otherId };
}

test("hostile - garbage on every master subject: error replies to requests, publishes counted", async (t) => {
  const { subjects, m, agent, agentId, frameworkId } = await setup(t);
  const targets = [
    subjects.masterRegister(),
    subjects.masterAgent(agentId),
    subjects.masterAgent("no-such-agent"),
    subjects.masterSubscribe(DEFAULT_PRINCIPAL),
    subjects.masterFramework(DEFAULT_PRINCIPAL, frameworkId),
    subjects.masterFramework(DEFAULT_PRINCIPAL, "no-such-framework"),
    subjects.masterOperator(),
  ];
  const nc = agent.nc;
  let requests = 0;
  for (const subject of targets) {
    for (const [name, payload] of GARBAGE) {
      try {
        await expectError(nc, subject, payload, PROTOCOL_CODES);
        requests++;
      } catch (err) {
        t.fail(`${subject} / ${name}: ${(err as Error).message}`);
      }
    }
  }
  t.is(requests, targets.length * GARBAGE.length);
  const invalidBefore = m.master.metrics.get("messages_invalid");
  for (const subject of targets) {
    for (const [, payload] of GARBAGE) nc.publish(subject, payload);
  }
  await nc.flush();
  await stillServing(m, subjects);
  t.is(m.master.metrics.get("messages_invalid") - invalidBefore, targets.length * GARBAGE.length);
  t.deepEqual(m.master.checkInvariants(), []);
});

test("hostile - valid messages of the wrong kind or state get typed errors", async (t) => {
  const { subjects, m, agent, agentId, scheduler, frameworkId } = await setup(t);
  const nc = agent.nc;
  const cases: Array<[string, string, Message, string]> = [
    [
      "a scheduler call on the register subject",
      subjects.masterRegister(),
      { type: "scheduler.heartbeat" },
      "UNKNOWN_TYPE",
    ],
    [
      "a reply type on the operator subject",
      subjects.masterOperator(),
      { type: "ok" },
      "UNKNOWN_TYPE",
    ],
    [
      "an agent message on a framework subject",
      subjects.masterFramework(DEFAULT_PRINCIPAL, frameworkId),
      { type: "agent.heartbeat" },
      "UNKNOWN_TYPE",
    ],
    [
      "bad resources in a registration",
      subjects.masterRegister(),
      { type: "agent.register", hostname: "h", resources: { ports: [[5, 1]] }, attributes: {} },
      "INVALID_RESOURCES",
    ],
    [
      "a reregistration for another agent id",
      subjects.masterAgent(agentId),
      {
        type: "agent.reregister",
        agentId: "someone-else",
        hostname: "h",
        resources: {},
        attributes: {},
        tasks: [],
      },
      "FORBIDDEN",
    ],
    [
      "an update from an unknown agent",
      subjects.masterAgent("stranger"),
      {
        type: "agent.update",
        frameworkId,
        status: { taskId: "t", state: "TASK_RUNNING", timestamp: 1 },
      },
      "INVALID_STATE",
    ],
    [
      "an update about another agent's task",
      subjects.masterAgent(agentId),
      {
        type: "agent.update",
        frameworkId,
        status: { taskId: "t", state: "TASK_RUNNING", timestamp: 1, agentId: "elsewhere" },
      },
      "FORBIDDEN",
    ],
    [
      "an update for an unknown framework",
      subjects.masterAgent(agentId),
      {
        type: "agent.update",
        frameworkId: "ghost",
        status: { taskId: "t", state: "TASK_RUNNING", timestamp: 1 },
      },
      "NOT_FOUND",
    ],
    [
      "an invalid role",
      subjects.masterSubscribe(DEFAULT_PRINCIPAL),
      { type: "scheduler.subscribe", framework: { name: "x", roles: ["a/../b"] } },
      "INVALID_MESSAGE",
    ],
    [
      "a call for an unknown framework",
      subjects.masterFramework(DEFAULT_PRINCIPAL, "ghost"),
      { type: "scheduler.revive" },
      "NOT_SUBSCRIBED",
    ],
    [
      "a revive of a role the framework does not have",
      subjects.masterFramework(DEFAULT_PRINCIPAL, frameworkId),
      { type: "scheduler.revive", roles: ["admin"] },
      "INVALID_MESSAGE",
    ],
    [
      "an acknowledgement for an unknown agent",
      subjects.masterFramework(DEFAULT_PRINCIPAL, frameworkId),
      { type: "scheduler.acknowledge", agentId: "ghost", taskId: "t", uuid: "u" },
      "NOT_FOUND",
    ],
  ];
  for (const [name, subject, msg, code] of cases) {
    try {
      await expectError(nc, subject, encode(msg), new Set([code]));
    } catch (err) {
      t.fail(`${name}: ${(err as Error).message}`);
    }
  }
  // registration and subscription sent as publishes are refused (nobody could learn the id)
  const agentsBefore = m.master.state().agents.length;
  nc.publish(
    subjects.masterRegister(),
    encode({ type: "agent.register", hostname: "h", resources: { cpus: 1 }, attributes: {} }),
  );
  nc.publish(
    subjects.masterSubscribe(DEFAULT_PRINCIPAL),
    encode({ type: "scheduler.subscribe", framework: { name: "silent" } }),
  );
  // a failing call published without a reply subject comes back as event.error
  scheduler.call({ type: "scheduler.suppress", roles: ["admin"] });
  await scheduler.inbox.waitFor(
    (e) => e.type === "event.error" && e.code === "INVALID_MESSAGE",
    "event.error",
  );
  // so does a published call that does not even decode
  scheduler.nc.publish(
    subjects.masterFramework(DEFAULT_PRINCIPAL, scheduler.frameworkId),
    new Uint8Array([0xc1]),
  );
  await scheduler.inbox.waitFor(
    (e) => e.type === "event.error" && e.code === "BAD_MESSAGE",
    `event.error for garbage (got ${JSON.stringify(scheduler.inbox.ofType("event.error").map((e) => e.code))})`,
  );
  await stillServing(m, subjects);
  t.is(m.master.state().agents.length, agentsBefore);
  t.is(m.master.state().frameworks.length, 2);
  t.pass();
});

test("hostile - a framework cannot use another framework's offers through either subject", async (t) => {
  const { subjects, m, agent, agentId, scheduler, frameworkId, other, otherId } = await setup(t);
  const offer = (await scheduler.offers()).offers[0]!;
  t.is(offer.frameworkId, frameworkId);
  const owner = scheduler;
  const intruderId = otherId;
  t.truthy(other);
  // the owner's offer, accepted on the other framework's subject
  const reply = await requestRaw(
    agent.nc,
    subjects.masterFramework(DEFAULT_PRINCIPAL, intruderId),
    encode({
      type: "scheduler.accept",
      offerIds: [offer.offerId],
      operations: [{ type: "launch", tasks: [commandTask("steal", agentId, { cpus: 1 })] }],
    }),
  );
  t.like(reply, { type: "error", code: "FORBIDDEN" });
  // the owner can still use it
  owner.launch([offer.offerId], [commandTask("mine", agentId, { cpus: 1 })]);
  const run = await agent.inbox.waitFor(is("agent.runTask"), "runTask");
  t.true(run.type === "agent.runTask" && run.tasks[0]?.taskId === "mine");
  t.deepEqual(m.master.checkInvariants(), []);
});

test("hostile - after a storm of bad input the master still runs the whole flow", async (t) => {
  const { subjects, m, agent, agentId, scheduler, frameworkId } = await setup(t);
  for (const [, payload] of GARBAGE) {
    agent.nc.publish(subjects.masterAgent(agentId), payload);
    agent.nc.publish(subjects.masterFramework(DEFAULT_PRINCIPAL, frameworkId), payload);
    agent.nc.publish(subjects.masterRegister(), payload);
  }
  await agent.nc.flush();
  await stillServing(m, subjects);
  await scheduler.request({ type: "scheduler.revive" });
  const offer = await scheduler.inbox.waitFor(
    (e) => e.type === "event.offers" && e.offers.some((o) => o.agentId === agentId),
    "an offer",
  );
  t.is(offer.type, "event.offers");
  t.is(m.master.state().agents[0]?.status, "active");
  t.deepEqual(m.master.checkInvariants(), []);
});

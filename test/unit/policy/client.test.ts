/**
 * The master's remote policy client without a broker: a scripted connection
 * answers (or fails) each `policy.allocate` request when the test says so.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import test from "ava";
import { RemotePolicy } from "../../../actors/policy/client.ts";
import { PolicySwitch } from "../../../actors/policy/switch.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { drfPolicy } from "../../../policies/drf.ts";
import type { AllocationContext } from "../../../policies/types.ts";
import { decodeAs, encode, encodeError } from "../../../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import type { PolicyAllocationJson } from "../../../protocol/policy.ts";
import { Resources } from "../../../protocol/resources.ts";
import { Subjects } from "../../../protocol/subjects.ts";

interface Pending {
  subject: string;
  context: AllocationContext | unknown;
  answer(allocations: PolicyAllocationJson[]): Promise<void>;
  fail(err: unknown): Promise<void>;
  error(code: string): Promise<void>;
}

/** A connection whose requests wait for the test to answer them. */
class ScriptedNc {
  readonly pending: Pending[] = [];

  request(subject: string, data: Uint8Array): Promise<{ data: Uint8Array }> {
    const msg = decodeAs(data, ["policy.allocate"]);
    return new Promise((resolve, reject) => {
      const settle = async (fn: () => void) => {
        fn();
        // let the client's continuation run
        await new Promise((r) => setImmediate(r));
      };
      this.pending.push({
        subject,
        context: msg.context,
        answer: (allocations) =>
          settle(() => resolve({ data: encode({ type: "policy.decision", allocations }) })),
        fail: (err) => settle(() => reject(err)),
        error: (code) =>
          settle(() => resolve({ data: encodeError(new AgoraError(code, "policy broke")) })),
      });
    });
  }
}

function setup() {
  const nc = new ScriptedNc();
  const metrics = new Metrics();
  let requested = 0;
  const remote = new RemotePolicy({
    nc: nc as unknown as NatsConnection,
    subjects: new Subjects("t"),
    name: "binpack",
    timeoutMs: 500,
    fallback: drfPolicy,
    requestAllocation: () => {
      requested += 1;
    },
    logger: silentLogger(),
    metrics,
  });
  return { nc, metrics, remote, requested: () => requested };
}

const total = Resources.parse("cpus:4;mem:4096");
function context(frameworks = ["f1", "f2"], free = total): AllocationContext {
  return {
    now: 1000,
    total,
    agents: [{ agentId: "a1", hostname: "h1", total, free }],
    frameworks: frameworks.map((frameworkId) => ({
      frameworkId,
      roles: ["*"],
      active: true,
      allocation: {},
      suppressedRoles: [],
      filters: [],
    })),
    roles: {},
  };
}

const toF2: PolicyAllocationJson = {
  frameworkId: "f2",
  role: "*",
  agentId: "a1",
  resources: { cpus: 4, mem: 4096 },
};

test("remote policy - asks, returns nothing while waiting, then hands out the answer", async (t) => {
  const { nc, remote, metrics, requested } = setup();
  t.deepEqual(remote.allocate(context()).allocations, []);
  t.is(nc.pending.length, 1);
  t.is(nc.pending[0]!.subject, "t.v3.policy.binpack");
  // a cycle while the request is in flight sends nothing more
  t.deepEqual(remote.allocate(context()).allocations, []);
  t.is(nc.pending.length, 1);
  await nc.pending[0]!.answer([toF2]);
  t.is(requested(), 1, "a cycle is requested to apply the answer");
  const decision = remote.allocate(context());
  t.is(decision.allocations.length, 1);
  t.like(decision.allocations[0], { frameworkId: "f2", agentId: "a1", role: "*" });
  t.true(decision.allocations[0]!.resources.equals(total));
  t.is(requested(), 2, "the cycle blocked while waiting is run again");
  t.is(metrics.get("policy_decisions"), 1);
  // the next cycle asks again
  t.deepEqual(remote.allocate(context()).allocations, []);
  t.is(nc.pending.length, 2);
});

test("remote policy - an answer is applied only where it is still valid", async (t) => {
  const { nc, remote, metrics } = setup();
  remote.allocate(context());
  await nc.pending[0]!.answer([toF2]);
  // meanwhile f2 left and half the agent was offered elsewhere
  const decision = remote.allocate(context(["f1"], Resources.parse("cpus:2;mem:2048")));
  t.deepEqual(decision.allocations, []);
  t.is(metrics.get("policy_allocations_dropped"), 1);
});

const failures: Array<[string, (p: Pending) => Promise<void>, string | undefined]> = [
  ["no answer in time", (p) => p.fail(new AgoraError(ErrorCode.Timeout, "late")), undefined],
  ["an error reply", (p) => p.error(ErrorCode.Internal), undefined],
  [
    "a decision for an unknown framework",
    (p) => p.answer([{ ...toF2, frameworkId: "ghost" }]),
    "policy_decisions_rejected",
  ],
  [
    "a decision beyond the free resources",
    (p) => p.answer([{ ...toF2, resources: { cpus: 5 } }]),
    "policy_decisions_rejected",
  ],
];

for (const [what, fail, counter] of failures) {
  test(`remote policy - ${what}: the next cycle runs the fallback, counted`, async (t) => {
    const { nc, remote, metrics, requested } = setup();
    remote.allocate(context());
    await fail(nc.pending[0]!);
    t.is(metrics.get("policy_fallbacks"), 1);
    if (counter) t.is(metrics.get(counter), 1);
    t.is(requested(), 1);
    const decision = remote.allocate(context());
    t.deepEqual(decision, drfPolicy.allocate(context()));
    // and then it tries the actor again
    remote.allocate(context());
    t.is(nc.pending.length, 2);
  });
}

test("policy switch - built-ins run in place; a switch ignores the old actor's late answer", async (t) => {
  const nc = new ScriptedNc();
  const metrics = new Metrics();
  let requested = 0;
  const policies = new PolicySwitch(
    {
      nc: nc as unknown as NatsConnection,
      subjects: new Subjects("t"),
      timeoutMs: 500,
      requestAllocation: () => {
        requested += 1;
      },
      logger: silentLogger(),
      metrics,
    },
    "drf",
  );
  t.is(policies.name, "drf");
  t.is(policies.allocate(context()).allocations.length, 1);
  policies.use("binpack");
  t.is(policies.name, "binpack");
  t.is(requested, 1);
  t.deepEqual(policies.allocate(context()).allocations, []);
  policies.use("drf");
  await nc.pending[0]!.answer([toF2]);
  t.is(requested, 2, "the late answer asks for nothing");
  t.deepEqual(policies.allocate(context()), drfPolicy.allocate(context()));
  t.throws(() => policies.use("bad.name"), { instanceOf: AgoraError });
  t.is(policies.name, "drf");
});

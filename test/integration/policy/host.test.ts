/**
 * The generic policy host over a real nats-server: it answers decisions,
 * rejects bad requests with error replies, survives a throwing policy, and
 * instances with one name share the requests. And the module loader.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import test from "ava";
import { createPolicyHost, type PolicyHost } from "../../../actors/policy/host.ts";
import { loadPolicyModule } from "../../../actors/policy/load.ts";
import { contextToWire } from "../../../actors/policy/wire.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { request } from "../../../infra/request.ts";
import { drfPolicy } from "../../../policies/drf.ts";
import type { AllocationContext, AllocationPolicy } from "../../../policies/types.ts";
import { decodeReply, encode } from "../../../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import type { PolicyContext } from "../../../protocol/policy.ts";
import { Resources } from "../../../protocol/resources.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";

const FIXTURES = "test/integration/policy/fixtures";

let nc: NatsConnection;
let prefixSeq = 0;

test.serial.after.always(async () => {
  if (nc) await closeGracefully(nc);
});
const nats = useNatsServer(test, { jetstream: false });
test.serial.before(async () => {
  nc = await connect({ servers: nats().url, name: "policy-host-test" });
});

function sampleContext(frameworkIds: string[] = ["f1"]): AllocationContext {
  const total = Resources.parse("cpus:4;mem:4096");
  return {
    now: 1000,
    total,
    agents: [{ agentId: "a1", hostname: "h1", total, free: total }],
    frameworks: frameworkIds.map((frameworkId) => ({
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

async function host(
  policy: AllocationPolicy,
  name = "p",
): Promise<{ host: PolicyHost; subjects: Subjects }> {
  const subjects = new Subjects(`host${prefixSeq++}`);
  const h = createPolicyHost({ nc, logger: silentLogger(), subjects, name, policy });
  await h.start();
  return { host: h, subjects };
}

function ask(subjects: Subjects, context: PolicyContext, name = "p") {
  return request(
    nc,
    subjects.policy(name),
    { type: "policy.allocate", context },
    ["policy.decision"],
    5000,
  );
}

test("policy host - answers a decision of the policy it serves", async (t) => {
  const { host: h, subjects } = await host(drfPolicy);
  t.teardown(() => h.stop());
  const reply = await ask(subjects, contextToWire(sampleContext()));
  t.deepEqual(reply.allocations, [
    { frameworkId: "f1", role: "*", agentId: "a1", resources: { cpus: 4, mem: 4096 } },
  ]);
});

test("policy host - a malformed request gets an error reply, and it keeps serving", async (t) => {
  const { host: h, subjects } = await host(drfPolicy);
  t.teardown(() => h.stop());
  // not msgpack at all
  const raw = await nc.request(subjects.policy("p"), new TextEncoder().encode("hello"), {
    timeout: 5000,
  });
  const e1 = t.throws(() => decodeReply(raw.data, ["policy.decision"]), {
    instanceOf: AgoraError,
  });
  t.is(e1?.code, ErrorCode.BadMessage);
  // a context missing its agents
  const { agents: _agents, ...noAgents } = contextToWire(sampleContext());
  const raw2 = await nc.request(
    subjects.policy("p"),
    encode({ type: "policy.allocate", context: noAgents as unknown as PolicyContext }),
    { timeout: 5000 },
  );
  const e2 = t.throws(() => decodeReply(raw2.data, ["policy.decision"]), {
    instanceOf: AgoraError,
  });
  t.is(e2?.code, ErrorCode.InvalidMessage);
  // resources that pass the schema but are not a resource set (a reversed range)
  const bad = contextToWire(sampleContext());
  bad.agents[0]!.free = { ports: [[32000, 31000]] };
  const e3 = await t.throwsAsync(ask(subjects, bad), { instanceOf: AgoraError });
  t.is(e3?.code, ErrorCode.InvalidResources);
  t.regex(e3?.message ?? "", /\/agents\/0\/free/);
  // still serving
  const ok = await ask(subjects, contextToWire(sampleContext()));
  t.is(ok.allocations.length, 1);
  t.is(h.metrics.get("messages_invalid"), 2);
});

test("policy host - a throwing policy gets an INTERNAL error reply, and the host keeps serving", async (t) => {
  const policy = await loadPolicyModule(`${FIXTURES}/throwing-policy.ts`, { name: "p" });
  const { host: h, subjects } = await host(policy);
  t.teardown(() => h.stop());
  const err = await t.throwsAsync(ask(subjects, contextToWire(sampleContext(["explode"]))), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.Internal);
  t.regex(err?.message ?? "", /policy throwing failed: boom/);
  const reply = await ask(subjects, contextToWire(sampleContext(["calm"])));
  t.deepEqual(reply.allocations, []);
  t.is(h.metrics.get("decisions_failed"), 1);
  t.is(h.metrics.get("decisions"), 1);
});

test("policy host - a decision that is not made of Resources gets an INTERNAL error reply", async (t) => {
  const policy = await loadPolicyModule(`${FIXTURES}/bad-decision-policy.ts`, { name: "p" });
  const { host: h, subjects } = await host(policy);
  t.teardown(() => h.stop());
  const err = await t.throwsAsync(ask(subjects, contextToWire(sampleContext())), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.Internal);
  t.regex(err?.message ?? "", /malformed allocation 0/);
});

test("policy host - instances serving one name share the requests (queue group)", async (t) => {
  const subjects = new Subjects(`host${prefixSeq++}`);
  const hosts = [0, 1].map(() =>
    createPolicyHost({ nc, logger: silentLogger(), subjects, name: "shared", policy: drfPolicy }),
  );
  for (const h of hosts) await h.start();
  t.teardown(async () => {
    for (const h of hosts) await h.stop();
  });
  const context = contextToWire(sampleContext());
  for (let i = 0; i < 40; i++) await ask(subjects, context, "shared");
  const counts = hosts.map((h) => h.metrics.get("decisions"));
  t.is(counts[0]! + counts[1]!, 40, "each request answered exactly once");
  t.true(counts[0]! > 0 && counts[1]! > 0, `both instances served: ${counts.join(", ")}`);
});

test("policy loader - default export, named `policy`, factories, and clear errors", async (t) => {
  const made = await loadPolicyModule(`${FIXTURES}/factory-policy.ts`, { name: "x" });
  t.is(made.name, "made-for-x");
  const named = await loadPolicyModule(`${FIXTURES}/throwing-policy.ts`, { name: "x" });
  t.is(named.name, "throwing");
  const none = await t.throwsAsync(loadPolicyModule(`${FIXTURES}/no-policy.ts`, { name: "x" }), {
    instanceOf: AgoraError,
  });
  t.is(none?.code, ErrorCode.InvalidConfig);
  t.regex(none?.message ?? "", /exports no policy/);
  const missing = await t.throwsAsync(
    loadPolicyModule(`${FIXTURES}/does-not-exist.ts`, { name: "x" }),
    { instanceOf: AgoraError },
  );
  t.is(missing?.code, ErrorCode.InvalidConfig);
  t.regex(missing?.message ?? "", /cannot load/);
});

/**
 * The registry on the network-free core (memory registry): what is
 * acknowledged is stored first, a failed write applies nothing, stored
 * values are validated on read.
 */
import test from "ava";
import { handleOperatorCall, NO_CONTROLS } from "../../../actors/master/operator.ts";
import { MemoryRegistry, parseSnapshot } from "../../../actors/master/registry.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import {
  decodeRecord,
  encodeRecord,
  keyToken,
  registryBucket,
  StoreChecks,
  StoreKeys,
} from "../../../protocol/store.ts";
import { Harness } from "./harness.ts";

test("registry - bucket and keys: one bucket per prefix, ids that KV keys cannot hold are encoded", (t) => {
  t.is(registryBucket("agora"), "agora_registry");
  t.is(registryBucket("a.b"), "a_b_registry");
  t.is(StoreKeys.agent("m-S1"), "agents.m-S1");
  t.regex(StoreKeys.framework("fw:1@x"), /^frameworks\.=[-_A-Za-z0-9]+$/);
  t.not(keyToken("=x"), "=x", "a plain id cannot be mistaken for an encoded one");
});

test("registry - an agent is registered only once its entry is stored", (t) => {
  const registry = new MemoryRegistry();
  const h = new Harness({}, { registry });
  const aid = h.addAgent({ cpus: 2, mem: 1024 }, "host-a");
  const stored = decodeRecord(registry.values.get(StoreKeys.agent(aid))!, StoreChecks.agent);
  t.like(stored, { id: aid, hostname: "host-a", state: "admitted" });
  t.deepEqual(stored.resources, { cpus: 2, mem: 1024 });
});

test("registry - a failed write is a retryable UNAVAILABLE and admits nothing", (t) => {
  const registry = new MemoryRegistry();
  const h = new Harness({}, { registry });
  registry.failing = true;
  const err = t.throws(() => h.addAgent({ cpus: 1 }), { instanceOf: AgoraError });
  t.is(err?.code, ErrorCode.Unavailable);
  t.true(err?.retryable);
  t.deepEqual(h.state().agents, []);
  const sub = t.throws(() => h.addFramework(), { instanceOf: AgoraError });
  t.is(sub?.code, ErrorCode.Unavailable);
  t.deepEqual(h.state().frameworks, []);
  t.is(registry.values.size, 0);
});

test("registry - subscribe, weights, quota and policy are stored before the reply", (t) => {
  const registry = new MemoryRegistry();
  const h = new Harness({}, { registry });
  const fid = h.addFramework({ name: "web", failoverTimeoutSeconds: 30 });
  t.like(decodeRecord(registry.values.get(StoreKeys.framework(fid))!, StoreChecks.framework), {
    id: fid,
    failoverTimeoutMs: 30_000,
    removed: false,
  });
  handleOperatorCall(h.ctx, NO_CONTROLS, { type: "operator.setWeights", weights: { web: 2 } });
  t.deepEqual(decodeRecord(registry.values.get(StoreKeys.weights)!, StoreChecks.weights), {
    weights: { web: 2 },
  });
  handleOperatorCall(h.ctx, NO_CONTROLS, {
    type: "operator.setQuota",
    role: "web",
    guarantee: { cpus: 1 },
  });
  t.deepEqual(decodeRecord(registry.values.get(StoreKeys.quota)!, StoreChecks.quota), {
    quotas: { web: { guarantee: { cpus: 1 } } },
  });
  const controls = {
    used: "",
    usePolicy(name: string) {
      controls.used = name;
    },
  };
  handleOperatorCall(h.ctx, controls, { type: "operator.usePolicy", name: "priority" });
  t.is(controls.used, "priority");
  t.deepEqual(decodeRecord(registry.values.get(StoreKeys.policy)!, StoreChecks.policy), {
    name: "priority",
  });
});

test("registry - an operator change whose write fails, or that is invalid, changes nothing", (t) => {
  const registry = new MemoryRegistry();
  const h = new Harness({}, { registry });
  handleOperatorCall(h.ctx, NO_CONTROLS, { type: "operator.setWeights", weights: { a: 2 } });
  registry.failing = true;
  const failed = t.throws(() =>
    handleOperatorCall(h.ctx, NO_CONTROLS, { type: "operator.setWeights", weights: { a: 5 } }),
  );
  t.is((failed as AgoraError).code, ErrorCode.Unavailable);
  registry.failing = false;
  const invalid = t.throws(() =>
    handleOperatorCall(h.ctx, NO_CONTROLS, { type: "operator.setWeights", weights: { a: -1 } }),
  );
  t.is((invalid as AgoraError).code, ErrorCode.InvalidMessage);
  t.is(h.state().roles.a?.weight, 2);
  t.deepEqual(decodeRecord(registry.values.get(StoreKeys.weights)!, StoreChecks.weights), {
    weights: { a: 2 },
  });
});

test("registry - removals are stored: a removed framework and a gone agent", (t) => {
  const registry = new MemoryRegistry();
  const h = new Harness({ agentRemovalTimeout: 5000 }, { registry });
  const fid = h.addFramework();
  const aid = h.addAgent({ cpus: 1 });
  h.call(fid, { type: "scheduler.teardown" });
  t.like(decodeRecord(registry.values.get(StoreKeys.framework(fid))!, StoreChecks.framework), {
    removed: true,
  });
  h.alive.agents.delete(aid);
  h.advance(4000);
  t.like(decodeRecord(registry.values.get(StoreKeys.agent(aid))!, StoreChecks.agent), {
    state: "unreachable",
  });
  h.advance(6000);
  t.like(decodeRecord(registry.values.get(StoreKeys.agent(aid))!, StoreChecks.agent), {
    state: "gone",
  });
});

test("registry - a bad stored value is logged, counted and skipped", (t) => {
  const metrics = new Metrics();
  const good = encodeRecord({
    id: "a1",
    hostname: "h",
    resources: { cpus: 1 },
    attributes: {},
    state: "admitted",
  });
  const snapshot = parseSnapshot(
    [
      [StoreKeys.agent("a1"), good],
      [StoreKeys.agent("a2"), new Uint8Array([0xc1, 0xff])],
      [StoreKeys.agent("a3"), encodeRecord({ id: "a3", state: "sideways" })],
      [StoreKeys.weights, encodeRecord({ weights: { r: "heavy" } })],
    ],
    silentLogger(),
    metrics,
  );
  t.deepEqual(
    snapshot.agents.map((a) => a.id),
    ["a1"],
  );
  t.is(snapshot.weights, undefined);
  t.is(snapshot.invalid, 3);
  t.is(metrics.get("registry_entries_invalid"), 3);
});

test("registry - a teardown whose write fails is refused and the framework stays", (t) => {
  const registry = new MemoryRegistry();
  const h = new Harness({}, { registry });
  const fid = h.addFramework();
  registry.failing = true;
  const err = t.throws(() => h.call(fid, { type: "scheduler.teardown" }), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.Unavailable);
  t.is(h.ctx.frameworks.get(fid)?.status, "subscribed");
  t.throws(() => h.call(fid, { type: "scheduler.teardown" }, false));
  t.like(h.sentTo("framework", fid, "event.error").at(-1), { code: ErrorCode.Unavailable });
});

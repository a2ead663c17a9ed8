/**
 * The master's principal checks (actors/master/principal.ts), network-free:
 * the principal is the token of the subject a call came on.
 */
import test from "ava";
import { handleAgentMessage, handleRegister } from "../../../actors/master/agent-handlers.ts";
import { handleFrameworkCall, handleSubscribe } from "../../../actors/master/framework-handlers.ts";
import {
  callPrincipal,
  operatorPrincipal,
  principalOfFramework,
} from "../../../actors/master/principal.ts";
import { recoverFromRegistry } from "../../../actors/master/recovery.ts";
import { MemoryRegistry, parseSnapshot } from "../../../actors/master/registry.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { decodeRecord, StoreChecks, StoreKeys } from "../../../protocol/store.ts";
import { DEFAULT_PRINCIPAL, Subjects } from "../../../protocol/subjects.ts";
import { Harness } from "./harness.ts";

test("principal - the subject's principal token is the call's principal", (t) => {
  const s = new Subjects();
  t.is(callPrincipal(s, s.masterSubscribe("alice")), "alice");
  t.is(callPrincipal(s, s.masterFramework("bob", "fw-1")), "bob");
  const err = t.throws(() => callPrincipal(s, s.masterOperator()), { instanceOf: AgoraError });
  t.is(err?.code, ErrorCode.InvalidId);
});

test("principal - subscribe with another principal than the subject's is PRINCIPAL_MISMATCH, counted", (t) => {
  const h = new Harness();
  const err = t.throws(
    () =>
      handleSubscribe(
        h.ctx,
        { type: "scheduler.subscribe", framework: { name: "x", principal: "bob" } },
        true,
        "alice",
      ),
    { instanceOf: AgoraError },
  );
  t.is(err?.code, ErrorCode.PrincipalMismatch);
  t.false(err?.retryable);
  t.is(h.metrics.get("framework_calls_principal_mismatch"), 1);
  // no principal in FrameworkInfo is the default principal
  const ok = handleSubscribe(
    h.ctx,
    { type: "scheduler.subscribe", framework: { name: "y" } },
    true,
    DEFAULT_PRINCIPAL,
  ) as MessageOf<"event.subscribed">;
  t.is(principalOfFramework(h.ctx, ok.frameworkId), DEFAULT_PRINCIPAL);
});

test("principal - a call for another principal's framework is rejected and not reported to it", (t) => {
  const h = new Harness();
  const bob = h.addFramework({ principal: "bob" });
  const mark = h.mark();
  const err = t.throws(
    () => handleFrameworkCall(h.ctx, bob, { type: "scheduler.revive" }, false, "alice"),
    { instanceOf: AgoraError },
  );
  t.is(err?.code, ErrorCode.PrincipalMismatch);
  t.is(err?.message, `framework ${bob} belongs to another principal`);
  t.deepEqual(h.sentTo("framework", bob, "event.error", mark), []);
  t.is(h.metrics.get("framework_calls_principal_mismatch"), 1);
  // and resubscribing with bob's id under alice's subject takes nothing over
  const takeover = t.throws(
    () =>
      handleSubscribe(
        h.ctx,
        {
          type: "scheduler.subscribe",
          framework: { name: "thief", principal: "alice", frameworkId: bob },
        },
        true,
        "alice",
      ),
    { instanceOf: AgoraError },
  );
  t.is(takeover?.code, ErrorCode.PrincipalMismatch);
  t.is(principalOfFramework(h.ctx, bob), "bob");
});

test("principal - an operator call's principal is its subject's token, default unauthenticated", (t) => {
  const s = new Subjects();
  t.is(operatorPrincipal(s, s.masterOperator("ops")), "ops");
  t.is(operatorPrincipal(s, s.masterOperator()), undefined);
  const err = t.throws(() => operatorPrincipal(s, s.masterInstance("m1")), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.InvalidId);
});

test("principal - an agent's messages on another agent principal's subject are PRINCIPAL_MISMATCH, counted", (t) => {
  const h = new Harness();
  const reply = handleRegister(
    h.ctx,
    { type: "agent.register", hostname: "b", resources: { cpus: 2, mem: 1024 }, attributes: {} },
    true,
    "rack-b",
  ) as MessageOf<"agent.registered">;
  const agentId = reply.agentId;
  t.is(h.ctx.agents.get(agentId)?.principal, "rack-b");
  const tries: MessageOf<"agent.heartbeat" | "agent.update" | "agent.reregister">[] = [
    { type: "agent.heartbeat" },
    {
      type: "agent.update",
      frameworkId: "f",
      status: { taskId: "t", state: "TASK_FAILED", timestamp: 0, agentId },
    },
    {
      type: "agent.reregister",
      agentId,
      hostname: "b",
      resources: { cpus: 2, mem: 1024 },
      attributes: {},
      tasks: [],
    },
  ];
  for (const msg of tries) {
    const err = t.throws(() => handleAgentMessage(h.ctx, agentId, msg, true, "rack-a"), {
      instanceOf: AgoraError,
    });
    t.is(err?.code, ErrorCode.PrincipalMismatch, msg.type);
    t.false(err?.retryable);
  }
  t.is(h.metrics.get("agent_calls_principal_mismatch"), tries.length);
  // its own principal is still heard
  t.is(handleAgentMessage(h.ctx, agentId, { type: "agent.heartbeat" }, true, "rack-b"), undefined);
  t.is(h.ctx.agents.get(agentId)?.principal, "rack-b");
});

test("principal - the principal that registered an agent survives a failover", (t) => {
  const registry = new MemoryRegistry();
  const first = new Harness({ masterId: "m1" }, { registry });
  const reply = handleRegister(
    first.ctx,
    { type: "agent.register", hostname: "b", resources: { cpus: 1 }, attributes: {} },
    true,
    "rack-b",
  ) as MessageOf<"agent.registered">;
  const agentId = reply.agentId;
  t.like(decodeRecord(registry.values.get(StoreKeys.agent(agentId))!, StoreChecks.agent), {
    id: agentId,
    principal: "rack-b",
  });
  const next = new Harness({ masterId: "m2" }, { registry });
  recoverFromRegistry(next.ctx, parseSnapshot(registry.values, silentLogger(), next.metrics));
  t.is(next.ctx.agents.get(agentId)?.principal, "rack-b");
  const rereg: MessageOf<"agent.reregister"> = {
    type: "agent.reregister",
    agentId,
    hostname: "b",
    resources: { cpus: 1 },
    attributes: {},
    tasks: [],
  };
  const err = t.throws(() => handleAgentMessage(next.ctx, agentId, rereg, true, "rack-a"), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.PrincipalMismatch);
  t.like(handleAgentMessage(next.ctx, agentId, rereg, true, "rack-b"), {
    type: "agent.registered",
    agentId,
  });
});

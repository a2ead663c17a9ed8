/**
 * The master's principal checks (actors/master/principal.ts), network-free:
 * the principal is the token of the subject a call came on.
 */
import test from "ava";
import { handleFrameworkCall, handleSubscribe } from "../../../actors/master/framework-handlers.ts";
import { callPrincipal, principalOfFramework } from "../../../actors/master/principal.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
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

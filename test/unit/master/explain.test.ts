/** `operator.explain` on the network-free master: its reply and its errors. */
import test from "ava";
import { handleOperatorCall, NO_CONTROLS } from "../../../actors/master/operator.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { Harness } from "./harness.ts";

const explain = (h: Harness, frameworkId: string, role?: string) =>
  handleOperatorCall(h.ctx, NO_CONTROLS, {
    type: "operator.explain",
    frameworkId,
    ...(role === undefined ? {} : { role }),
  }) as MessageOf<"operator.explanation">;

test("master explain - the offers held, then a decline filter, in the reply", (t) => {
  const h = new Harness();
  const fw = h.addFramework({ name: "fw", roles: ["web"] });
  h.addAgent({ cpus: 4, mem: 4096 });
  h.flush();
  const [offer] = h.offersTo(fw);
  t.truthy(offer);
  const held = explain(h, fw);
  t.is(held.policy, "drf");
  t.is(held.timestamp, h.clock.now());
  t.deepEqual(
    held.roles.map((r) => [r.role, r.share, r.offersOutstanding, r.reasons.map((x) => x.kind)]),
    [["web", 1, 1, ["noAgents"]]],
  );
  h.call(fw, {
    type: "scheduler.decline",
    offerIds: [offer!.offerId],
    filters: { refuseSeconds: 60 },
  });
  h.flush();
  const [role] = explain(h, fw, "web").roles;
  t.is(role?.offersOutstanding, 0);
  t.deepEqual(
    role?.reasons.map((r) => [r.kind, r.agents, r.until]),
    [["filtered", 1, h.clock.now() + 60_000]],
  );
});

test("master explain - an unknown framework or a role it has not is NOT_FOUND", (t) => {
  const h = new Harness();
  const fw = h.addFramework({ name: "fw", roles: ["web"] });
  const unknown = t.throws(() => explain(h, "nope"), { instanceOf: AgoraError });
  t.is(unknown?.code, ErrorCode.NotFound);
  const role = t.throws(() => explain(h, fw, "batch"), { instanceOf: AgoraError });
  t.is(role?.code, ErrorCode.NotFound);
  t.regex(role?.message ?? "", /has not subscribed with role batch/);
});

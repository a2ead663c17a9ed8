/**
 * The master's ACLs (Mesos's local authorizer): entity matching, first
 * matching rule wins, `permissive`, unauthenticated callers, the file's
 * validation, and each action where the master checks it (network-free core).
 */
import test from "ava";
import { createAuthorizer, denialMessage, parseAcls } from "../../../actors/master/authorizer.ts";
import { handleOperatorCall, NO_CONTROLS } from "../../../actors/master/operator.ts";
import type { AclsFile } from "../../../protocol/acls.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { acceptCall, Harness, task } from "./harness.ts";

const values = (...v: string[]) => ({ values: v });
const ANY = { type: "ANY" } as const;
const NONE = { type: "NONE" } as const;

test("acls - values match by name; ANY allows; NONE denies; unmatched falls to permissive", (t) => {
  const a = createAuthorizer({
    permissive: false,
    register_frameworks: [
      { principals: values("web"), roles: values("web", "web/api") },
      { principals: values("ops"), roles: ANY },
      { principals: values("nobody"), roles: NONE },
    ],
  });
  t.true(a.authorize("register_frameworks", "web", "web"));
  t.true(a.authorize("register_frameworks", "web", "web/api"));
  t.false(a.authorize("register_frameworks", "web", "batch"), "no rule matches: not permissive");
  t.true(a.authorize("register_frameworks", "ops", "anything"));
  t.false(a.authorize("register_frameworks", "nobody", "web"));
  t.false(a.authorize("register_frameworks", "stranger", "web"));
  const permissive = createAuthorizer({
    register_frameworks: [{ principals: values("web"), roles: values("web") }],
  });
  t.true(permissive.authorize("register_frameworks", "web", "batch"), "permissive by default");
});

test("acls - the first matching rule wins, even a denying one", (t) => {
  const a = createAuthorizer({
    run_tasks: [
      { principals: values("web"), users: values("root") },
      { principals: NONE, users: values("root") },
      { principals: ANY, users: ANY },
    ],
  });
  t.true(a.authorize("run_tasks", "web", "root"));
  t.false(a.authorize("run_tasks", "batch", "root"), "NONE principals: nobody else runs as root");
  t.true(a.authorize("run_tasks", "batch", "nobody"));
});

test("acls - an unauthenticated caller is matched only by ANY or NONE principals", (t) => {
  const a = createAuthorizer({
    permissive: false,
    update_weights: [
      { principals: values("ops"), roles: ANY },
      { principals: ANY, roles: values("sandbox") },
    ],
  });
  t.true(a.authorize("update_weights", "ops", "web"));
  t.false(a.authorize("update_weights", undefined, "web"));
  t.true(a.authorize("update_weights", undefined, "sandbox"));
  const none = createAuthorizer({ switch_policy: [{ principals: NONE, policies: ANY }] });
  t.false(none.authorize("switch_policy", undefined, "drf"));
});

test("acls - each action reads its own rules and object field", (t) => {
  const acls: AclsFile = {
    permissive: false,
    register_frameworks: [{ principals: ANY, roles: values("r") }],
    run_tasks: [{ principals: ANY, users: values("u") }],
    teardown_frameworks: [{ principals: ANY, framework_principals: values("f") }],
    update_weights: [{ principals: ANY, roles: values("w") }],
    view_weights: [{ principals: ANY, roles: values("vw") }],
    update_quotas: [{ principals: ANY, roles: values("q") }],
    get_quotas: [{ principals: ANY, roles: values("gq") }],
    switch_policy: [{ principals: ANY, policies: values("p") }],
    drain_agents: [{ principals: ANY, agents: values("a") }],
  };
  const a = createAuthorizer(acls);
  const cases = [
    ["register_frameworks", "r"],
    ["run_tasks", "u"],
    ["teardown_frameworks", "f"],
    ["update_weights", "w"],
    ["view_weights", "vw"],
    ["update_quotas", "q"],
    ["get_quotas", "gq"],
    ["switch_policy", "p"],
    ["drain_agents", "a"],
  ] as const;
  for (const [action, object] of cases) {
    t.true(a.authorize(action, "x", object), action);
    t.false(a.authorize(action, "x", "other"), action);
  }
});

test("acls - a bad file is one INVALID_CONFIG line naming the problem", (t) => {
  const notJson = t.throws(() => parseAcls("{", "acls.json"), { instanceOf: AgoraError });
  t.is(notJson?.code, ErrorCode.InvalidConfig);
  t.regex(notJson?.message ?? "", /^--acls acls\.json: not JSON/);
  const unknown = t.throws(() => parseAcls('{"run_task": []}', "acls.json"));
  t.regex(unknown?.message ?? "", /^--acls acls\.json: invalid at/);
  const badEntity = t.throws(() =>
    parseAcls('{"run_tasks": [{"principals": {"type": "SOME"}, "users": {"type": "ANY"}}]}'),
  );
  t.regex(badEntity?.message ?? "", /invalid at \/run_tasks\/0\/principals/);
  for (const err of [notJson, unknown, badEntity]) t.false(err?.message.includes("\n"));
  t.deepEqual(parseAcls('{"permissive": false}'), { permissive: false });
});

test("acls - denial messages name the principal, the action and the object", (t) => {
  t.is(
    denialMessage("register_frameworks", "web", "batch"),
    'principal "web" may not register_frameworks with roles "batch" (ACLs)',
  );
  t.is(
    denialMessage("update_weights", undefined, "web"),
    'an unauthenticated caller may not update_weights with roles "web" (ACLs)',
  );
});

const STRICT: AclsFile = {
  permissive: false,
  register_frameworks: [{ principals: values("web"), roles: values("web") }],
  run_tasks: [{ principals: values("web"), users: values("nobody") }],
  teardown_frameworks: [{ principals: values("ops"), framework_principals: values("web") }],
  update_weights: [{ principals: values("ops"), roles: ANY }],
  view_weights: [{ principals: ANY, roles: values("web") }],
  update_quotas: [{ principals: values("ops"), roles: values("web") }],
  get_quotas: [{ principals: ANY, roles: values("web") }],
  switch_policy: [{ principals: values("ops"), policies: values("drf") }],
};

function strict() {
  return new Harness({}, { authorizer: createAuthorizer(STRICT) });
}

test("acls - subscribe in a role the principal may not use is PERMISSION_DENIED, counted", (t) => {
  const h = strict();
  const err = t.throws(() => h.addFramework({ principal: "web", roles: ["web", "batch"] }), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.PermissionDenied);
  t.false(err?.retryable);
  t.is(err?.message, 'principal "web" may not register_frameworks with roles "batch" (ACLs)');
  t.is(h.metrics.get("acl_denied_register_frameworks"), 1);
  t.deepEqual(h.state().frameworks, []);
  t.truthy(h.addFramework({ principal: "web", roles: ["web"] }));
});

test("acls - a task to run as a user the principal may not use is TASK_ERROR REASON_TASK_UNAUTHORIZED", (t) => {
  const h = strict();
  const fid = h.addFramework({ principal: "web", roles: ["web"], user: "nobody" });
  const aid = h.addAgent({ cpus: 4, mem: 4096 });
  h.flush();
  const offer = h.offersTo(fid)[0]!;
  const mark = h.mark();
  h.call(
    fid,
    acceptCall(
      [offer.offerId],
      [
        task("ok", aid, { cpus: 1 }),
        task("root", aid, { cpus: 1 }, { command: { value: "id", user: "root" } }),
      ],
    ),
  );
  const runs = h.sentTo("agent", aid, "agent.runTask", mark);
  t.deepEqual(
    runs.flatMap((r) => r.tasks.map((x) => x.taskId)),
    ["ok"],
  );
  const [update] = h.updatesTo(fid, mark);
  t.like(update, {
    taskId: "root",
    state: "TASK_ERROR",
    reason: "REASON_TASK_UNAUTHORIZED",
    message: 'principal "web" may not run_tasks with users "root" (ACLs)',
  });
  t.is(h.metrics.get("acl_denied_run_tasks"), 1);
  t.deepEqual(h.invariants(), []);
});

test("acls - operator calls: weights, quota, policy and teardown are checked per principal", async (t) => {
  const h = strict();
  const fid = h.addFramework({ principal: "web", roles: ["web"] });
  const deny = (call: Parameters<typeof handleOperatorCall>[2], principal?: string) => {
    const err = t.throws(() => handleOperatorCall(h.ctx, NO_CONTROLS, call, principal), {
      instanceOf: AgoraError,
    });
    t.is(err?.code, ErrorCode.PermissionDenied);
    return err?.message;
  };
  t.is(
    deny({ type: "operator.setWeights", weights: { web: 2 } }),
    'an unauthenticated caller may not update_weights with roles "web" (ACLs)',
  );
  t.is(
    handleOperatorCall(
      h.ctx,
      NO_CONTROLS,
      { type: "operator.setWeights", weights: { web: 2, batch: 3 } },
      "ops",
    ),
    undefined,
  );
  t.is(
    deny({ type: "operator.setQuota", role: "batch", guarantee: { cpus: 1 } }, "ops"),
    'principal "ops" may not update_quotas with roles "batch" (ACLs)',
  );
  deny({ type: "operator.removeQuota", role: "web" }, "web");
  t.is(
    deny({ type: "operator.usePolicy", name: "priority" }, "ops"),
    'principal "ops" may not switch_policy with policies "priority" (ACLs)',
  );
  t.is(
    deny({ type: "operator.teardown", frameworkId: fid }, "web"),
    'principal "web" may not teardown_frameworks with framework_principals "web" (ACLs)',
  );
  t.like(h.state().frameworks[0], { id: fid, active: true });
  await handleOperatorCall(
    h.ctx,
    NO_CONTROLS,
    { type: "operator.teardown", frameworkId: fid },
    "ops",
  );
  t.deepEqual(h.state().frameworks, []);
  t.true(h.ctx.removedFrameworks.has(fid));
  const weights = handleOperatorCall(h.ctx, NO_CONTROLS, { type: "operator.getWeights" });
  t.deepEqual(weights, { type: "operator.weights", weights: { web: 2 } }, "batch is not viewable");
  t.is(h.metrics.get("acl_denied_update_weights"), 1);
  t.is(h.metrics.get("acl_denied_update_quotas"), 2);
  t.is(h.metrics.get("acl_denied_switch_policy"), 1);
  t.is(h.metrics.get("acl_denied_teardown_frameworks"), 1);
});

test("acls - without ACLs every call is allowed", (t) => {
  const h = new Harness();
  t.truthy(h.addFramework({ principal: "anyone", roles: ["any"] }));
  t.is(
    handleOperatorCall(h.ctx, NO_CONTROLS, { type: "operator.setWeights", weights: { any: 2 } }),
    undefined,
  );
});

test("acls - update_priorities and view_priorities are role rules like the weights'", (t) => {
  const a = createAuthorizer({
    permissive: false,
    update_priorities: [{ principals: values("ops"), roles: values("web") }],
    view_priorities: [{ principals: ANY, roles: values("web") }],
  });
  t.true(a.authorize("update_priorities", "ops", "web"));
  t.false(a.authorize("update_priorities", "ops", "batch"));
  t.false(a.authorize("update_priorities", "dev", "web"));
  t.true(a.authorize("view_priorities", "dev", "web"));
  t.false(a.authorize("view_priorities", "dev", "batch"));
});

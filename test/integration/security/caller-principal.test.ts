/**
 * Operator and agent calls carry their principal, on a nats-server enforcing
 * the permissions `agora auth` generates: an operator calls only on
 * `master.operator.<its name>` and the master's ACLs check that name (through
 * the `agora` CLI with each operator's credential); an agent principal
 * publishes only under `master.register.<its name>` and
 * `master.agent.<its name>.<agentId>`, and the master rejects a message for an
 * agent id another agent principal registered. Each with the exact error the
 * user sees.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import test from "ava";
import { createAuthorizer } from "../../../actors/master/authorizer.ts";
import { request } from "../../../infra/request.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { PrincipalKind } from "../../../protocol/permissions.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { publishDenied, pubViolation, useSecureServer } from "../../helpers/secure-server.ts";
import { runAgora } from "../cli/helpers.ts";
import { startMaster, type TestMaster } from "../master/helpers.ts";

const subjects = new Subjects("secp");
const secure = useSecureServer(test, {
  subjects,
  principals: [
    { name: "master-1", kind: PrincipalKind.Master },
    { name: "ops", kind: PrincipalKind.Operator },
    { name: "intern", kind: PrincipalKind.Operator },
    { name: "rack-a", kind: PrincipalKind.Agent },
    { name: "rack-b", kind: PrincipalKind.Agent },
  ],
});
let started: TestMaster | undefined;

test.serial.before(async () => {
  const { server, credentials, onStop } = secure();
  started = await startMaster(
    server.url,
    subjects,
    {},
    {
      credentials: credentials("master-1"),
      authorizer: createAuthorizer({
        permissive: false,
        update_weights: [{ principals: { values: ["ops"] }, roles: { type: "ANY" } }],
        view_weights: [{ principals: { type: "ANY" }, roles: { type: "ANY" } }],
      }),
    },
  );
  onStop(() => started!.stop());
});

const as = (principal: string) => secure().connectAs(principal);
const master = () => started?.master;

/** `agora ARGS` as operator `principal` (its nkey and `--principal`). */
const operator = (principal: string, ...args: string[]) =>
  runAgora([
    ...args,
    "--nats",
    secure().server.url,
    "--prefix",
    subjects.prefix,
    "--nkey",
    secure().credentials(principal).nkey,
    "--principal",
    principal,
  ]);

/** Registers an agent as agent principal `principal`; returns its id. */
async function registerAs(nc: NatsConnection, principal: string, hostname: string) {
  const reply = await request(
    nc,
    subjects.masterRegister(principal),
    { type: "agent.register", hostname, resources: { cpus: 1, mem: 128 }, attributes: {} },
    ["agent.registered"],
    10_000,
  );
  return reply.agentId;
}

test.serial(
  "operator principal - the ACLs check the principal of the operator's subject",
  async (t) => {
    const allowed = await operator("ops", "weights", "web=2");
    t.is(allowed.code, 0, allowed.stderr);
    const denied = await operator("intern", "weights", "web=3");
    t.is(denied.code, 1);
    t.is(
      denied.stderr,
      'agora: weights: principal "intern" may not update_weights with roles "web" (ACLs)\n',
    );
    t.is(master()?.metrics.get("acl_denied_update_weights"), 1);
    const shown = await operator("intern", "weights");
    t.is(shown.code, 0, shown.stderr);
    t.deepEqual(JSON.parse(shown.stdout), { web: 2 });
  },
);

test.serial("operator principal - a credential without its principal gets a hint", async (t) => {
  const r = await runAgora([
    "weights",
    "--nats",
    secure().server.url,
    "--prefix",
    subjects.prefix,
    "--nkey",
    secure().credentials("ops").nkey,
    "--timeout",
    "2s",
  ]);
  t.is(r.code, 1);
  // the server's refusals are logged, then the one-line error with the hint
  t.regex(
    r.stderr,
    /Permissions Violation for Publish to \\"secp\.v3\.master\.operator\.default\\"/,
  );
  t.true(
    r.stderr.endsWith(
      `agora: weights: no master answered at ${secure().server.url} (prefix ${subjects.prefix}); start one with \`agora dev\` or \`agora master\`; with a credential, pass its principal too (--principal NAME or AGORA_PRINCIPAL, as in its .env file)\n`,
    ),
    r.stderr,
  );
});

test.serial(
  "operator principal - an operator may publish only on its own operator subject",
  async (t) => {
    const intern = await as("intern");
    for (const subject of [
      subjects.masterOperator("ops"),
      subjects.masterOperator(), // the unauthenticated default
      subjects.masterOperatorAll(),
    ]) {
      t.is(await publishDenied(intern, subject), pubViolation(subject));
    }
    const agent = await as("rack-a");
    t.is(
      await publishDenied(agent, subjects.masterOperator("rack-a")),
      pubViolation(subjects.masterOperator("rack-a")),
    );
  },
);

test.serial(
  "agent principal - an agent cannot publish under another agent principal",
  async (t) => {
    const b = await as("rack-b");
    const agentId = await registerAs(b, "rack-b", "host-b");
    const a = await as("rack-a");
    for (const subject of [
      subjects.masterAgent(agentId, "rack-b"), // B's heartbeat, updates, reregister
      subjects.masterRegister("rack-b"),
      subjects.masterRegister(), // the unauthenticated default
      subjects.masterAgent(agentId),
    ]) {
      t.is(await publishDenied(a, subject), pubViolation(subject));
    }
  },
);

test.serial(
  "agent principal - the master rejects a message for an agent another principal registered",
  async (t) => {
    const b = await as("rack-b");
    const agentId = await registerAs(b, "rack-b", "host-b2");
    const a = await as("rack-a");
    const before = master()?.metrics.get("agent_calls_principal_mismatch") ?? 0;
    const status: MessageOf<"agent.update"> = {
      type: "agent.update",
      frameworkId: "fw-x",
      status: { taskId: "t1", state: "TASK_FAILED", timestamp: 0, agentId },
    };
    const calls: MessageOf<"agent.heartbeat" | "agent.update" | "agent.reregister">[] = [
      { type: "agent.heartbeat" },
      status,
      {
        type: "agent.reregister",
        agentId,
        hostname: "host-a",
        resources: { cpus: 64, mem: 1 << 20 },
        attributes: {},
        tasks: [],
      },
    ];
    const expected = `agent ${agentId} was registered by another agent principal than "rack-a"`;
    for (const call of calls) {
      // on its own principal's subject, the only one its credential may use
      const err = await t.throwsAsync(
        request(
          a,
          subjects.masterAgent(agentId, "rack-a"),
          call,
          ["ok", "agent.registered"],
          10_000,
        ),
        { instanceOf: AgoraError },
      );
      t.is(err?.code, ErrorCode.PrincipalMismatch, call.type);
      t.is(err?.message, expected);
    }
    t.is(master()?.metrics.get("agent_calls_principal_mismatch"), before + calls.length);
    // the agent is still B's, as B registered it
    const state = master()?.state();
    t.like(
      state?.agents.find((x) => x.id === agentId),
      { hostname: "host-b2", resources: { cpus: 1, mem: 128 } },
    );
    const ok = await request(
      b,
      subjects.masterAgent(agentId, "rack-b"),
      { type: "agent.heartbeat" },
      ["ok", "agent.reregisterRequest"],
      10_000,
    );
    t.is(ok.type, "ok");
  },
);

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
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type NatsConnection, PermissionViolationError } from "@nats-io/nats-core";
import test from "ava";
import { createAuthorizer } from "../../../actors/master/authorizer.ts";
import { resolveMasterConfig } from "../../../actors/master/config.ts";
import { createMaster, type Master } from "../../../actors/master/index.ts";
import { AUTH_CONF, seedFile, writeAuthDirectory } from "../../../cli/auth-files.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { type NatsServer, startNatsServer } from "../../../infra/nats-server.ts";
import { request } from "../../../infra/request.ts";
import { encode } from "../../../protocol/codec.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { PrincipalKind } from "../../../protocol/permissions.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { runAgora } from "../cli/helpers.ts";
import { TEST_MASTER, testLogger } from "../master/helpers.ts";

const subjects = new Subjects("secp");
let dir = "";
let server: NatsServer | undefined;
let master: Master | undefined;
const cleanup: Array<() => Promise<void>> = [];

test.before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "agora-auth-"));
  await writeAuthDirectory(dir, subjects, [
    { name: "master-1", kind: PrincipalKind.Master },
    { name: "ops", kind: PrincipalKind.Operator },
    { name: "intern", kind: PrincipalKind.Operator },
    { name: "rack-a", kind: PrincipalKind.Agent },
    { name: "rack-b", kind: PrincipalKind.Agent },
  ]);
  server = await startNatsServer({ args: ["-c", path.join(dir, AUTH_CONF)] });
  const config = resolveMasterConfig({
    env: {},
    overrides: { ...TEST_MASTER, nats: server.url, prefix: subjects.prefix },
  });
  master = createMaster({
    nc: await as("master-1"),
    logger: testLogger(),
    subjects,
    config,
    authorizer: createAuthorizer({
      permissive: false,
      update_weights: [{ principals: { values: ["ops"] }, roles: { type: "ANY" } }],
      view_weights: [{ principals: { type: "ANY" }, roles: { type: "ANY" } }],
    }),
  });
  await master.start();
  const started = master;
  cleanup.push(() => started.stop());
});

test.after.always(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  await server?.stop();
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

async function as(principal: string): Promise<NatsConnection> {
  if (server === undefined) throw new Error("no server");
  const nc = await connect({
    servers: server.url,
    name: `test-${principal}`,
    credentials: { nkey: seedFile(dir, principal), principal },
    devDefaults: false,
  });
  cleanup.push(() => closeGracefully(nc));
  return nc;
}

/** The server's asynchronous `-ERR` for a publish, as nats.js reports it on the status stream. */
async function publishDenied(nc: NatsConnection, subject: string): Promise<string> {
  const seen = (async () => {
    for await (const s of nc.status()) {
      if (
        s.type === "error" &&
        s.error instanceof PermissionViolationError &&
        s.error.operation === "publish" &&
        s.error.subject === subject
      ) {
        return s.error.message;
      }
    }
    return "closed";
  })();
  nc.publish(subject, encode({ type: "agent.heartbeat" }));
  await nc.flush();
  return seen;
}

const pubViolation = (s: string) => `Permissions Violation for Publish to "${s}"`;

/** `agora ARGS` as operator `principal` (its nkey and `--principal`). */
const operator = (principal: string, ...args: string[]) =>
  runAgora([
    ...args,
    "--nats",
    server?.url ?? "",
    "--prefix",
    subjects.prefix,
    "--nkey",
    seedFile(dir, principal),
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
    t.is(master?.metrics.get("acl_denied_update_weights"), 1);
    const shown = await operator("intern", "weights");
    t.is(shown.code, 0, shown.stderr);
    t.deepEqual(JSON.parse(shown.stdout), { web: 2 });
  },
);

test.serial("operator principal - a credential without its principal gets a hint", async (t) => {
  const r = await runAgora([
    "weights",
    "--nats",
    server?.url ?? "",
    "--prefix",
    subjects.prefix,
    "--nkey",
    seedFile(dir, "ops"),
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
      `agora: weights: no master answered at ${server?.url} (prefix ${subjects.prefix}); start one with \`agora dev\` or \`agora master\`; with a credential, pass its principal too (--principal NAME or AGORA_PRINCIPAL, as in its .env file)\n`,
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
    const before = master?.metrics.get("agent_calls_principal_mismatch") ?? 0;
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
    t.is(master?.metrics.get("agent_calls_principal_mismatch"), before + calls.length);
    // the agent is still B's, as B registered it
    const state = master?.state();
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

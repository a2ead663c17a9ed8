/**
 * The CLI against servers that authenticate: user/password in the URL or in
 * flags and variables (the reported "Authorization Violation" with the right
 * password), secrets never printed, and a TLS-only server that refuses plain
 * connections and accepts the CLI with the CA.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import type { LocalCluster } from "../../../cli/local-cluster.ts";
import { connect } from "../../../infra/connect.ts";
import { startNatsServer } from "../../../infra/nats-server.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { runAgora } from "../cli/helpers.ts";
import { startCluster } from "../e2e/helpers.ts";

const PASSWORD = "s3cr3t-Pa55";
const subjects = new Subjects("seccli");
let cluster: LocalCluster | undefined;

test.serial.after.always(async () => {
  await cluster?.stop();
});
const server = useNatsServer(test, { args: ["--user", "agora", "--pass", PASSWORD] });
test.serial.before(async () => {
  cluster = await startCluster({
    url: withUser(server().url, `agora:${PASSWORD}`),
    subjects,
    agents: [{ hostname: "cred-agent", resources: "cpus:1;mem:512" }],
  });
});

function withUser(url: string, info: string): string {
  return url.replace("nats://", `nats://${info}@`);
}

function port(): string {
  return String(server().port);
}

test("credentials - agora state with nats://user:password@host answers", async (t) => {
  const url = `nats://agora:${PASSWORD}@127.0.0.1:${port()}`;
  const r = await runAgora(["state", "--nats", url, "--prefix", subjects.prefix]);
  t.is(r.code, 0, r.stderr);
  t.is((JSON.parse(r.stdout) as { agents: unknown[] }).agents.length, 1);
});

test("credentials - --nats-user with AGORA_NATS_PASSWORD answers", async (t) => {
  const r = await runAgora(
    ["state", "--nats", `nats://127.0.0.1:${port()}`, "--nats-user", "agora", "--prefix", "seccli"],
    { env: { AGORA_NATS_PASSWORD: PASSWORD } },
  );
  t.is(r.code, 0, r.stderr);
});

test("credentials - a wrong password is refused and no password is ever printed", async (t) => {
  const wrong = "not-the-Pa55word";
  const r = await runAgora([
    "state",
    "--nats",
    `nats://agora:${wrong}@127.0.0.1:${port()}`,
    "--prefix",
    subjects.prefix,
  ]);
  t.is(r.code, 1);
  t.is(
    r.stderr.trim(),
    `agora: state: NATS at nats://agora:***@127.0.0.1:${port()} refused the credentials: Authorization Violation (user info of the URL)`,
  );
  t.false(r.stderr.includes(wrong));
  t.false(r.stdout.includes(wrong));
  const none = await runAgora(["state", "--nats", `nats://127.0.0.1:${port()}`]);
  t.is(none.code, 1);
  t.regex(none.stderr, /refused the credentials: Authorization Violation \(no credentials given/);
});

test("credentials - a TLS-only server refuses plain connections and accepts the CLI with the CA", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "agora-tls-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = (name: string) => path.join(dir, name);
  // asynchronously: the master of this file runs in this process and must keep answering
  const openssl = (args: string[]) =>
    new Promise<boolean>((resolve) => execFile("openssl", args, (err) => resolve(err === null)));
  await writeFile(file("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  const made =
    (await openssl(
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("ca.key")].concat([
        "-out",
        file("ca.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=agora-test-ca",
      ]),
    )) &&
    (await openssl(
      ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", file("server.key")].concat([
        "-out",
        file("server.csr"),
        "-subj",
        "/CN=127.0.0.1",
      ]),
    )) &&
    (await openssl(
      ["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem")]
        .concat(["-CAkey", file("ca.key"), "-CAcreateserial", "-out", file("server.pem")])
        .concat(["-days", "1", "-extfile", file("ext.cnf")]),
    ));
  if (!made) {
    t.log("openssl is not usable here: TLS is not exercised");
    t.pass();
    return;
  }
  const tls = await startNatsServer({
    jetstream: false,
    args: ["--tls", "--tlscert", file("server.pem"), "--tlskey", file("server.key")],
  });
  t.teardown(() => tls.stop());
  const plainUrl = `nats://127.0.0.1:${tls.port}`;
  // the client must upgrade to TLS, and without the CA it cannot trust the server
  const err = await t.throwsAsync(
    connect({ servers: plainUrl, name: "plain", devDefaults: false }),
    {
      instanceOf: AgoraError,
    },
  );
  t.is(err?.code, ErrorCode.Unavailable);
  t.is(
    err?.message,
    `NATS unreachable at ${plainUrl}: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`,
  );
  // the CLI with the CA gets through TLS (no master here: it says so after connecting)
  const r = await runAgora([
    "state",
    "--nats",
    plainUrl,
    "--tls-ca",
    file("ca.pem"),
    "--timeout",
    "300ms",
  ]);
  t.is(r.code, 1);
  t.is(
    r.stderr.trim(),
    `agora: state: no master answered at ${plainUrl} (prefix agora); start one with \`agora dev\` or \`agora master\``,
  );
  const noCa = await runAgora(["state", "--nats", `tls://127.0.0.1:${tls.port}`]);
  t.is(noCa.code, 1);
  t.regex(noCa.stderr, /NATS unreachable at tls:\/\/127\.0\.0\.1:\d+: .*certificate/i);
});

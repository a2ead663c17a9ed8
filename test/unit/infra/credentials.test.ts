import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { CREDENTIAL_OPTIONS, resolveOptions } from "../../../infra/config.ts";
import {
  credentialsOf,
  devCredentialsFor,
  natsAuthOptions,
  redactServers,
  redactText,
  redactUrl,
  secretsOf,
  splitUserInfo,
} from "../../../infra/credentials.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

test("credentials - URLs are redacted: user kept, password and token hidden", (t) => {
  t.is(redactUrl("nats://u:p4ss@host:4222"), "nats://u:***@host:4222");
  t.is(redactUrl("tls://t0ken@host:4222"), "tls://***@host:4222");
  t.is(redactUrl("nats://host:4222"), "nats://host:4222");
  t.is(redactServers("nats://a:b@h1:1, nats://h2:2"), "nats://a:***@h1:1,nats://h2:2");
  t.is(
    redactText("failed at nats://u:pw@h:1 with pw again", ["pw"]),
    "failed at nats://u:***@h:1 with *** again",
  );
});

test("credentials - user info moves from the URL into an authenticator", (t) => {
  t.deepEqual(splitUserInfo("nats://u:p%40ss@h:1"), {
    url: "nats://h:1",
    info: { user: "u", password: "p@ss" },
  });
  t.deepEqual(splitUserInfo("nats://tok@h:1"), { url: "nats://h:1", info: { token: "tok" } });
  const opts = natsAuthOptions(["nats://u:p@h:1", "nats://h:2"]);
  t.deepEqual(opts.servers, ["nats://h:1", "nats://h:2"]);
  t.true(Array.isArray(opts.authenticator) && opts.authenticator.length === 1);
  t.is(opts.tls, undefined);
  t.deepEqual(secretsOf(["nats://u:p@h:1"]), ["p", "p"]);
});

test("credentials - tls:// URLs and a CA turn TLS on; cert without key is a usage error", (t) => {
  t.deepEqual(natsAuthOptions(["tls://h:1"]).tls, {});
  const err = t.throws(() => natsAuthOptions(["nats://h:1"], { tlsCert: "/c.pem" }), {
    instanceOf: AgoraError,
  });
  t.is(err?.code, ErrorCode.InvalidConfig);
  t.is(err?.message, "--tls-cert and --tls-key go together (mutual TLS needs both)");
  const missing = t.throws(() => natsAuthOptions(["nats://h:1"], { nkey: "/no/such.nk" }), {
    instanceOf: AgoraError,
  });
  t.is(missing?.message, "--nkey /no/such.nk: cannot be read (ENOENT)");
});

test("credentials - the principal sets the inbox prefix", (t) => {
  t.is(natsAuthOptions(["nats://h:1"], { principal: "alice" }).inboxPrefix, "_INBOX_alice");
  const env = { AGORA_NKEY: "/k.nk", AGORA_PRINCIPAL: "p", AGORA_NATS_TOKEN: "", OTHER: "x" };
  t.deepEqual(credentialsOf(resolveOptions(CREDENTIAL_OPTIONS, { env }).values), {
    nkey: "/k.nk",
    principal: "p",
  });
});

test("credentials - agora dev's credentials apply only to the URL it recorded", async (t) => {
  const home = await mkdtemp(path.join(os.tmpdir(), "agora-home-"));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const env = { AGORA_HOME: home };
  t.is(devCredentialsFor(["nats://127.0.0.1:4222"], env), undefined);
  const dir = path.join(home, "dev");
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, "connection.json"),
    JSON.stringify({ url: "nats://127.0.0.1:4222", nkey: "cli.nk", principal: "cli" }),
  );
  t.deepEqual(devCredentialsFor(["nats://localhost:4222"], env), {
    nkey: path.join(dir, "cli.nk"),
    principal: "cli",
  });
  t.is(devCredentialsFor(["nats://127.0.0.1:4333"], env), undefined);
});

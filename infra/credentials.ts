/**
 * The credential and TLS side of a NATS connection: what the user gave
 * (flags, `AGORA_*` variables, `nats://user:pass@host` URLs, the files
 * `agora dev` writes), turned into nats.js connection options, and the
 * redaction that keeps every secret out of messages and logs.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  type Authenticator,
  credsAuthenticator,
  type TlsOptions,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/nats-core";
import { AgoraError, ErrorCode } from "../protocol/errors.ts";
import { inboxPrefixOf } from "../protocol/subjects.ts";
import { type Environment, machineSettings } from "./config.ts";
import { nkeyAuthenticator } from "./nkey-sign.ts";

/** How one process authenticates to NATS and secures the connection; every field optional. */
export interface NatsCredentials {
  /** A NATS creds file (user JWT + nkey seed; decentralized auth). */
  creds?: string;
  /** A file holding an nkey user seed (`SU...`), as `agora auth` writes them. */
  nkey?: string;
  /** User name (also taken from `nats://user:pass@host`). */
  user?: string;
  /** Password of `user`. Never printed. */
  password?: string;
  /** Token (also taken from `nats://token@host`). Never printed. */
  token?: string;
  /** CA certificate (PEM) that signed the server's certificate; implies TLS. */
  tlsCa?: string;
  /** Client certificate (PEM) for mutual TLS; needs `tlsKey`. */
  tlsCert?: string;
  /** Client private key (PEM) for mutual TLS. */
  tlsKey?: string;
  /**
   * The principal this process acts as. Its request inboxes are
   * `_INBOX_<principal>.…` (see {@link inboxPrefixOf}) so that no other
   * principal may subscribe to its replies.
   */
  principal?: string;
}

/** The connection options {@link natsAuthOptions} derives. */
export interface NatsAuthOptions {
  servers: string[];
  authenticator?: Authenticator | Authenticator[];
  tls?: TlsOptions;
  inboxPrefix?: string;
}

const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i;

/** A URL with its user info replaced: `nats://u:***@host`, `nats://***@host`. */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, (_all, scheme: string, info: string) => {
    const colon = info.indexOf(":");
    return colon < 0 ? `${scheme}***@` : `${scheme}${info.slice(0, colon)}:***@`;
  });
}

/** Every URL in a comma-separated list redacted. */
export function redactServers(servers: string | readonly string[]): string {
  const list = typeof servers === "string" ? servers.split(",") : servers;
  return list.map((s) => redactUrl(s.trim())).join(",");
}

/** `text` with every non-empty secret replaced by `***` (and user info of URLs redacted). */
export function redactText(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/[a-z][a-z0-9+.-]*:\/\/[^@/\s,]*@/gi, (m) => redactUrl(m));
  for (const secret of secrets) {
    if (secret !== undefined && secret.length > 0) out = out.split(secret).join("***");
  }
  return out;
}

/** The secrets of `creds` and of the URLs' user info, for {@link redactText}. */
export function secretsOf(servers: readonly string[], creds: NatsCredentials = {}): string[] {
  const out: string[] = [];
  if (creds.password) out.push(creds.password);
  if (creds.token) out.push(creds.token);
  for (const s of servers) {
    const m = USERINFO.exec(s);
    if (m === null) continue;
    const info = decodeURIComponent(m[2] ?? "");
    const colon = info.indexOf(":");
    const secret = colon < 0 ? info : info.slice(colon + 1);
    if (secret) out.push(secret, encodeURIComponent(secret));
  }
  return out;
}

interface UserInfo {
  user?: string;
  password?: string;
  token?: string;
}

/** Splits `nats://u:p@host` into the bare URL and its user info. */
export function splitUserInfo(url: string): { url: string; info: UserInfo } {
  const m = USERINFO.exec(url);
  if (m === null) return { url, info: {} };
  const raw = m[2] ?? "";
  const bare = url.replace(USERINFO, "$1");
  const colon = raw.indexOf(":");
  if (colon < 0) return { url: bare, info: { token: decodeURIComponent(raw) } };
  return {
    url: bare,
    info: {
      user: decodeURIComponent(raw.slice(0, colon)),
      password: decodeURIComponent(raw.slice(colon + 1)),
    },
  };
}

function readSecretFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = err instanceof Error && "code" in err ? ` (${String(err.code)})` : "";
    throw new AgoraError(ErrorCode.InvalidConfig, `${what} ${path}: cannot be read${code}`);
  }
}

/** The first nkey seed (`S...`) in a seed file's text. */
function seedOf(bytes: Uint8Array, path: string): Uint8Array {
  const text = new TextDecoder().decode(bytes);
  const seed = text.split(/\s+/).find((t) => /^S[A-Z2-7]{40,}$/.test(t));
  if (seed === undefined) {
    throw new AgoraError(ErrorCode.InvalidConfig, `--nkey ${path}: no nkey seed in the file`);
  }
  return new TextEncoder().encode(seed);
}

/**
 * The nats.js options for `servers` and `creds`: user info moves out of the
 * URLs into an authenticator (nats.js does not read it from a URL), files are
 * read, `tls://` URLs and any `tls*` file turn TLS on.
 * @throws AgoraError INVALID_CONFIG for unreadable files or contradicting options
 */
export function natsAuthOptions(
  servers: readonly string[],
  creds: NatsCredentials = {},
): NatsAuthOptions {
  const bare: string[] = [];
  let info: UserInfo = {};
  for (const s of servers) {
    const split = splitUserInfo(s);
    bare.push(split.url);
    if (split.info.user !== undefined || split.info.token !== undefined) info = split.info;
  }
  const user = creds.user ?? info.user;
  const password = creds.password ?? info.password;
  const token = creds.token ?? info.token;
  const authenticators: Authenticator[] = [];
  if (creds.creds !== undefined) {
    const bytes = readSecretFile(creds.creds, "--creds");
    authenticators.push(credsAuthenticator(bytes));
  }
  if (creds.nkey !== undefined) {
    const seed = seedOf(readSecretFile(creds.nkey, "--nkey"), creds.nkey);
    authenticators.push(nkeyAuthenticator(seed));
  }
  if (user !== undefined) authenticators.push(usernamePasswordAuthenticator(user, password ?? ""));
  else if (token !== undefined) authenticators.push(tokenAuthenticator(token));

  const out: NatsAuthOptions = { servers: bare };
  if (authenticators.length > 0) out.authenticator = authenticators;
  if ((creds.tlsCert === undefined) !== (creds.tlsKey === undefined)) {
    throw new AgoraError(
      ErrorCode.InvalidConfig,
      "--tls-cert and --tls-key go together (mutual TLS needs both)",
    );
  }
  const wantsTls =
    creds.tlsCa !== undefined ||
    creds.tlsCert !== undefined ||
    bare.some((s) => s.toLowerCase().startsWith("tls://"));
  if (wantsTls) {
    const tls: TlsOptions = {};
    if (creds.tlsCa !== undefined) tls.ca = readText(creds.tlsCa, "--tls-ca");
    if (creds.tlsCert !== undefined) tls.cert = readText(creds.tlsCert, "--tls-cert");
    if (creds.tlsKey !== undefined) tls.key = readText(creds.tlsKey, "--tls-key");
    out.tls = tls;
  }
  if (creds.principal !== undefined && creds.principal !== "") {
    out.inboxPrefix = inboxPrefixOf(creds.principal);
  }
  return out;
}

function readText(path: string, what: string): string {
  return new TextDecoder().decode(readSecretFile(path, what));
}

/**
 * The `AGORA_*` variables a process's own credentials come from (see
 * infra/config.ts `CREDENTIAL_OPTIONS`); an agent removes them from an
 * executor's environment and gives it the executor credential instead.
 */
export const CREDENTIAL_ENV = {
  creds: "AGORA_CREDS",
  nkey: "AGORA_NKEY",
  user: "AGORA_NATS_USER",
  password: "AGORA_NATS_PASSWORD",
  token: "AGORA_NATS_TOKEN",
  tlsCa: "AGORA_TLS_CA",
  tlsCert: "AGORA_TLS_CERT",
  tlsKey: "AGORA_TLS_KEY",
  principal: "AGORA_PRINCIPAL",
} as const satisfies Record<keyof NatsCredentials, string>;

/**
 * The credentials of resolved credential options (infra/config.ts
 * `CREDENTIAL_OPTIONS`, from flags or their {@link CREDENTIAL_ENV} variables);
 * empty strings count as not given.
 */
export function credentialsOf(
  values: Readonly<Partial<Record<keyof NatsCredentials, string | undefined>>>,
): NatsCredentials {
  const out: NatsCredentials = {};
  for (const key of Object.keys(CREDENTIAL_ENV) as Array<keyof NatsCredentials>) {
    const value = values[key];
    if (value !== undefined && value !== "") out[key] = value;
  }
  return out;
}

/** True when `creds` names any way to authenticate. */
export function hasAuth(creds: NatsCredentials): boolean {
  return (
    creds.creds !== undefined ||
    creds.nkey !== undefined ||
    creds.user !== undefined ||
    creds.token !== undefined
  );
}

/**
 * The directory where `agora dev` writes its cluster's credentials:
 * `$AGORA_HOME/dev`, else `~/.agora/dev` — per user, not per working
 * directory, so any terminal of the same user finds it.
 */
export function devCredentialsDir(env?: Environment): string {
  return join(machineSettings(env).agoraHome ?? join(homedir(), ".agora"), "dev");
}

/** What `agora dev` records in `<dev dir>/connection.json` for the other commands. */
export interface DevConnection {
  /** The client URL(s) of the dev cluster's nats-server. */
  url: string;
  /** Seed file name (in the same directory) of the `cli` principal. */
  nkey: string;
  /** The principal the CLI acts as in the dev cluster. */
  principal: string;
}

/**
 * The dev cluster's CLI credentials when `servers` is the URL `agora dev`
 * recorded, else undefined (a stale or missing file is ignored).
 */
export function devCredentialsFor(
  servers: readonly string[],
  env?: Environment,
): NatsCredentials | undefined {
  const dir = devCredentialsDir(env);
  let conn: DevConnection;
  try {
    conn = JSON.parse(readFileSync(join(dir, "connection.json"), "utf8")) as DevConnection;
  } catch {
    return undefined;
  }
  if (typeof conn.url !== "string" || typeof conn.nkey !== "string") return undefined;
  const norm = (s: string) => s.trim().replace(/\/+$/, "").toLowerCase();
  const known = new Set(conn.url.split(",").map(norm));
  const alias = (s: string) => norm(s).replace("://localhost:", "://127.0.0.1:");
  if (!servers.some((s) => known.has(norm(s)) || known.has(alias(s)))) return undefined;
  return { nkey: join(dir, conn.nkey), principal: conn.principal };
}
